#!/bin/sh
# Workspace snapshot and changeset benchmarks, each against git in the same run:
#  1. snapshot of an unchanged 100k-file workspace   vs  git status --porcelain   (goal <= 1.0x)
#  2. changeset + --stat after 1,000 modified, 100 added, 100 deleted files
#                                                     vs  git status --porcelain + git diff --stat (goal <= 0.1x)
#  3. the same changeset on a 10k-file workspace: must not grow with workspace size
#  (plus, for information, the snapshot that picks up those edits)
# There is no `airlock diff` between two trees yet (the CLI is wired later,
# and capture is measured through `airlock run` when the runner lands), so
# a tiny driver compiled here against build/libairlock.a calls
# snapshot_workspace, changeset_compute and patch_render (PATCH_FORMAT_STAT).
. "$(dirname "$0")/lib.sh"
bench_scratch
cd "$SCRATCH"

cat >driver.c <<'EOF'
#include <stdio.h>
#include <string.h>
#include "lib/store.h"
#include "snapshot/changeset.h"
#include "snapshot/patch.h"
#include "snapshot/workspace.h"
int main(int argc, char **argv)
{
	struct err err = {0};
	struct store *s;
	if (argc < 4 || store_open(argv[1], STORE_CREATE, &s, &err) < 0)
		return fprintf(stderr, "usage: driver STORE snap DIR | STORE stat BASE OUT: %s\n", err.msg), 2;
	if (!strcmp(argv[2], "snap")) {
		struct digest d;
		struct workspace_stats st;
		if (snapshot_workspace_ex(s, argv[3], NULL, &st, &d, &err) < 0)
			return fprintf(stderr, "%s\n", err.msg), 1;
		char hex[DIGEST_STR_SIZE];
		digest_to_str(&d, hex);
		printf("%s\n", hex);
		fprintf(stderr, "entries %lu read %lu racy %lu dirs_reused %lu\n",
			(unsigned long)st.entries, (unsigned long)st.files_read,
			(unsigned long)st.racy, (unsigned long)st.dirs_reused);
		return 0;
	}
	struct digest a, b;
	struct changeset *cs = NULL;
	struct patch_opts o = {.format = PATCH_FORMAT_STAT};
	if (argc < 5 || digest_parse(argv[3], &a) < 0 || digest_parse(argv[4], &b) < 0)
		return 2;
	if (changeset_compute(s, &a, &b, NULL, &cs, &err) < 0 || patch_render(s, cs, &o, 1, &err) < 0)
		return fprintf(stderr, "%s\n", err.msg), 1;
	changeset_free(cs);
	store_free(s);
	return 0;
}
EOF
cc -std=gnu17 -D_GNU_SOURCE -O2 -I"$TOP" -o driver driver.c "$TOP/build/libairlock.a" \
	$(pkg-config --libs libarchive libgit2 libzstd libseccomp libcrypto jansson)
D="$SCRATCH/driver"

# mkrepo DIR NFILES: NFILES/100 directories of 100 small files, committed.
mkrepo() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in range(n // 100):
    p = os.path.join(root, "src", "d%04d" % d)
    os.makedirs(p)
    for f in range(100):
        with open(os.path.join(p, "f%03d.c" % f), "w") as fh:
            fh.write("".join("int v%d_%d_%d = %d;\n" % (d, f, i, i) for i in range(20)))
EOF
	git -C "$1" init -q
	git -C "$1" add -A
	git -C "$1" -c user.name=b -c user.email=b@b commit -qm base
}

# churn DIR: 1,000 modified, 100 added, 100 deleted files.
churn() {
	python3 - "$1" <<'EOF'
import os, sys
root = sys.argv[1]
dirs = sorted(os.listdir(os.path.join(root, "src")))
for i in range(1000):
    d = dirs[(i * 7) % len(dirs)]
    p = os.path.join(root, "src", d, "f%03d.c" % (i % 100))
    with open(p, "a") as fh:
        fh.write("int changed_%d;\n" % i)
for i in range(100):
    with open(os.path.join(root, "src", dirs[i % len(dirs)], "new%03d.c" % i), "w") as fh:
        fh.write("int added_%d;\n" % i)
for i in range(100):
    d = dirs[(i * 13 + 5) % len(dirs)]
    p = os.path.join(root, "src", d, "f%03d.c" % (99 - i % 10))
    if os.path.exists(p):
        os.unlink(p)
EOF
}

for n in 100000 10000; do
	ws="$SCRATCH/ws$n"
	mkdir -p "$ws"
	mkrepo "$ws" "$n"
	st="$SCRATCH/store$n"
	sleep 0.1
	base=$("$D" "$st" snap "$ws" 2>/dev/null)
	git -C "$ws" status --porcelain >/dev/null
	if [ "$n" = 100000 ]; then
		hf snap$n \
			"$D $st snap $ws" \
			"git -C $ws status --porcelain"
	fi
	churn "$ws"
	sleep 0.1
	hf resnap$n --prepare "sleep 0.05" "$D $st snap $ws"
	out=$("$D" "$st" snap "$ws" 2>/dev/null)
	"$D" "$st" stat "$base" "$out" | tail -n1 >&2
	git -C "$ws" diff --stat | tail -n1 >&2
	hf diff$n \
		"$D $st stat $base $out" \
		"sh -c 'git -C $ws status --porcelain >/dev/null && git -C $ws diff --stat >/dev/null'"
done

echo "== bench/capture.sh ($RUNS runs each)"
ratio "1. snapshot unchanged 100k vs git status" "$(mean snap100000 0)" "$(mean snap100000 1)" 1.0
ratio "2. changeset+stat 100k vs status+diff --stat" "$(mean diff100000 0)" "$(mean diff100000 1)" 0.1
ratio "3. changeset+stat 10k vs 100k (no growth)" "$(mean diff10000 0)" "$(mean diff100000 0)"
ratio "   git status+diff --stat 10k vs 100k" "$(mean diff10000 1)" "$(mean diff100000 1)"
python3 -c 'import sys; print("   snapshot after churn: 100k %.1f ms, 10k %.1f ms" % (float(sys.argv[1])*1e3, float(sys.argv[2])*1e3))' \
	"$(mean resnap100000 0)" "$(mean resnap10000 0)"
