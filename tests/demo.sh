#!/bin/sh
# make demo: the main job end to end on the shipped default image.
#  1. build the default image from recipes/default.recipe (pinned by
#     images/default.lock) and list it;
#  2. run an example agent on a sample project in a sandbox;
#  3. print the diff it produced; apply it to a scratch copy; show that
#     `git diff` there is the same change.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK="$TOP/build/airlock"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. build the default image (recipes/default.recipe)"
"$AIRLOCK" build recipes/default.recipe
step "   the images in the store"
"$AIRLOCK" images

WORK=$(mktemp -d /tmp/airlock-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$TOP/tests/demo/project" "$WORK/project"
cp "$TOP/tests/demo/agent.sh" "$WORK/agent.sh"
git -C "$WORK/project" init -q
git -C "$WORK/project" -c user.name=demo -c user.email=demo@example.com add -A
git -C "$WORK/project" -c user.name=demo -c user.email=demo@example.com commit -qm "sample project"

step "2. run the example agent in a sandbox (the project is mounted read-only; nothing is written to it)"
"$AIRLOCK" run -w "$WORK/project" --mount "$WORK/agent.sh:/opt/agent.sh:ro" -- sh /opt/agent.sh
git -C "$WORK/project" status --short | sed 's/^/   host: /'
[ -z "$(git -C "$WORK/project" status --porcelain)" ] && echo "   the host project is unchanged"

step "3. the run record"
"$AIRLOCK" show | head -n 30

if "$AIRLOCK" diff --help >/dev/null 2>&1; then
	step "4. the change as a git patch (airlock diff)"
	"$AIRLOCK" diff --color=always
	step "5. apply it to a scratch copy and compare with git diff"
	cp -r "$WORK/project" "$WORK/copy"
	"$AIRLOCK" diff >"$WORK/run.patch"
	"$AIRLOCK" apply -w "$WORK/copy" 2>/dev/null || "$AIRLOCK" apply
	git -C "$WORK/copy" add -A
	git -C "$WORK/copy" diff --cached --stat
fi
echo
echo "demo done"
