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

step "4. the change as a git patch (airlock diff)"
"$AIRLOCK" diff --color=always --no-pager
"$AIRLOCK" diff --stat

step "5. accept it and apply it to a scratch copy of the project"
cp -r "$WORK/project" "$WORK/copy"
"$AIRLOCK" review --accept-all
"$AIRLOCK" apply -w "$WORK/copy"

step "6. git diff in the copy shows the same change"
git -C "$WORK/copy" add -A
git -C "$WORK/copy" diff --cached --stat
"$AIRLOCK" diff --no-pager | grep -v '^# airlock: ' >"$WORK/run.patch"
git -C "$WORK/copy" diff --cached --full-index >"$WORK/git.patch"
if cmp -s "$WORK/run.patch" "$WORK/git.patch"; then
	echo "   airlock diff and git diff --full-index are the same patch, byte for byte"
else
	echo "   the patches differ:" >&2
	diff -u "$WORK/git.patch" "$WORK/run.patch" >&2 || true
	exit 1
fi
[ -z "$(git -C "$WORK/project" status --porcelain)" ] && echo "   and the original project is still untouched"
echo
echo "demo done"
