#!/bin/sh
# Store benchmarks, each against a peer in the same run (see issue #2):
#  1. import a ~300 MB tree            vs  ostree commit to a bare repo (goal <= 1.0x),
#                                          and to an archive repo (compressed, like ours)
#  2. import it again (all dedup)      vs  ostree commit again (bare)
#  3. checkout                          vs  ostree checkout -H (hard links, bare repo):
#                                          cold (our file cache empty: every file is
#                                          decompressed once) and warm (cache filled)
#  4. store size                        vs  tar | zstd -3 (and the bare repo's size)
#  5. fully cached rebuild              vs  /bin/true (goal: under 50 ms)
# The tree is /usr/lib/gcc + /usr/lib/python3.11 copied onto a tmpfs.
. "$(dirname "$0")/lib.sh"
bench_scratch
cd "$SCRATCH"
mkdir -p ctx/data
cp -a /usr/lib/gcc ctx/data/
cp -a /usr/lib/python3.11 ctx/data/
size=$(du -sm ctx/data | cut -f1)
files=$(find ctx/data | wc -l)
echo "# tree: $size MB, $files entries" >&2
printf 'FROM scratch\nCOPY data /data\n' >ctx/data.recipe

bare=bare
[ "$(id -u)" = 0 ] || bare=bare-user
hf import \
	--prepare "rm -rf $SCRATCH/st $SCRATCH/repo $SCRATCH/arepo; ostree --repo=$SCRATCH/repo init --mode=$bare; ostree --repo=$SCRATCH/arepo init --mode=archive" \
	"$AIRLOCK --store $SCRATCH/st build --no-cache ctx/data.recipe" \
	"ostree --repo=$SCRATCH/repo commit --branch=b --no-xattrs --tree=dir=ctx/data" \
	"ostree --repo=$SCRATCH/arepo commit --branch=b --no-xattrs --tree=dir=ctx/data"
hf reimport \
	"$AIRLOCK --store $SCRATCH/st build --no-cache ctx/data.recipe" \
	"ostree --repo=$SCRATCH/repo commit --branch=b --no-xattrs --tree=dir=ctx/data"
img=$("$AIRLOCK" --store "$SCRATCH/st" build ctx/data.recipe | tail -n1)
hf checkout \
	--prepare "rm -rf $SCRATCH/st/checkouts/* $SCRATCH/st/files/* $SCRATCH/co" \
	"$AIRLOCK --store $SCRATCH/st checkout $img" \
	"ostree --repo=$SCRATCH/repo checkout -H b $SCRATCH/co"
# --warmup: the cold case's last --prepare (before ostree's runs) emptied
# the file cache; one unmeasured checkout fills it again.
hf checkout_warm --warmup 1 \
	--prepare "rm -rf $SCRATCH/st/checkouts/* $SCRATCH/co" \
	"$AIRLOCK --store $SCRATCH/st checkout $img" \
	"ostree --repo=$SCRATCH/repo checkout -H b $SCRATCH/co"
hf cached \
	"$AIRLOCK --store $SCRATCH/st build ctx/data.recipe" \
	"/bin/true"

tar -C ctx -cf - data | zstd -3 -q -T1 >tree.tar.zst
ours=$(du -sb st/objects | cut -f1)
tarz=$(stat -c %s tree.tar.zst)

echo "== bench/store.sh ($size MB, $files entries, $RUNS runs each)"
ratio "1. import vs ostree commit (bare)" "$(mean import 0)" "$(mean import 1)" 1.0
ratio "1b. import vs ostree commit (archive)" "$(mean import 0)" "$(mean import 2)"
ratio "2. re-import (dedup) vs ostree re-commit" "$(mean reimport 0)" "$(mean reimport 1)" 1.0
ratio "3. checkout, cold file cache, vs checkout -H" "$(mean checkout 0)" "$(mean checkout 1)"
ratio "3b. checkout, warm file cache, vs checkout -H" "$(mean checkout_warm 0)" "$(mean checkout_warm 1)" 1.0
python3 -c 'import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); print("%-44s %9.1f MB vs %9.1f MB  ratio %.2fx" % ("4. store size vs tar | zstd -3", a/1e6, b/1e6, a/b))' "$ours" "$tarz"
python3 -c 'import sys; a,b=int(sys.argv[1]),int(sys.argv[2]); print("%-44s %9.1f MB vs %9.1f MB  ratio %.2fx" % ("4b. store size vs ostree bare repo", a/1e6, b/1e6, a/b))' "$ours" "$(du -sb repo/objects | cut -f1)"
c=$(mean cached 0)
ratio "5. cached rebuild vs /bin/true" "$c" "$(mean cached 1)"
python3 -c 'import sys; c=float(sys.argv[1]); print("   cached rebuild %.1f ms: goal < 50 ms %s" % (c*1e3, "met" if c < 0.05 else "NOT met"))' "$c"
