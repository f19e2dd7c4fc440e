#!/bin/sh
# Snapshot, capture and diff against git, in the same run (issue #4):
#  1. input snapshot of an unchanged 100k-file workspace (a git repo)
#       vs git status --porcelain                               goal <= 1.0x
#  2. capture after an agent modifies 1,000 files, adds 100, deletes 100
#       vs git status --porcelain + git diff --stat on the same change
#                                                               goal <= 0.1x
#  3. airlock diff --stat of that run, same comparison
#  4. capture on a 10k-file workspace with the same change: it must not
#     grow with the workspace
# Snapshot and capture times are airlock's own, from the run record
# (timings_us): a run also pays for the sandbox, measured by bench/run.sh.
. "$(dirname "$0")/lib.sh"
bench_scratch
export AIRLOCK_STORE="$SCRATCH/store"
"$AIRLOCK" build "$TOP/recipes/busybox.recipe" >/dev/null

# make_ws DIR NFILES: a git repository of NFILES small files in 100 dirs
make_ws() {
	python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.txt" % i), "w") as f:
        f.write("line %d\nsecond line of file %d\n" % (i, i))
PY
	git -C "$1" init -q
	git -C "$1" add -A
	git -C "$1" -c user.name=b -c user.email=b@b commit -qm init
}

# The agent: 1,000 modified, 100 added, 100 deleted.
AGENT='i=0; for f in d0*/f*.txt; do i=$((i+1)); [ $i -le 1000 ] && echo changed >>"$f"; [ $i -gt 1000 ] && [ $i -le 1100 ] && rm "$f"; [ $i -gt 1100 ] && break; done; mkdir -p new; for j in $(seq 100); do echo new >new/n$j.txt; done'

# timing KEY: mean of timings_us.KEY over the runs in $SCRATCH/ids, in seconds
timing() {
	for id in $(cat "$SCRATCH/ids"); do
		"$AIRLOCK" show "$id" --json |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["timings_us"][sys.argv[1]])' "$1"
	done | python3 -c 'import sys; v=[float(x) for x in sys.stdin]; print(sum(v) / len(v) / 1e6)'
}

run_ids() { # run_ids N CMD...: N runs, their ids in $SCRATCH/ids
	n=$1
	shift
	: >"$SCRATCH/ids"
	for _ in $(seq "$n"); do
		"$AIRLOCK" run --image busybox -- "$@" 2>"$SCRATCH/run.err" >/dev/null
		sed -n 's/^airlock: run //p' "$SCRATCH/run.err" >>"$SCRATCH/ids"
	done
}

for size in 100000 10000; do
	ws="$SCRATCH/ws$size"
	mkdir -p "$ws"
	make_ws "$ws" "$size"
	cd "$ws"
	"$AIRLOCK" run --image busybox -- true 2>/dev/null # fill the stat cache
	run_ids "$RUNS" true
	eval "snap_$size=\$(timing snapshot)"
	run_ids "$RUNS" sh -c "$AGENT"
	eval "cap_$size=\$(timing capture)"
	id=$(tail -n1 "$SCRATCH/ids")
	cp -a "$ws" "$SCRATCH/copy$size"
	"$AIRLOCK" review "$id" --accept-all >/dev/null
	"$AIRLOCK" apply "$id" -w "$SCRATCH/copy$size" >/dev/null
	hf "git$size" -N --warmup 1 \
		"git -C $ws status --porcelain" \
		"git -C $SCRATCH/copy$size status --porcelain" \
		"git -C $SCRATCH/copy$size diff --stat" \
		"$AIRLOCK diff $id --stat"
done

echo "== bench/capture.sh ($RUNS runs each; 100k and 10k files, 1,200 changes)"
ratio "1. snapshot (unchanged, 100k) vs git status" "$snap_100000" "$(mean git100000 0)" 1.0
g=$(python3 -c "print($(mean git100000 1) + $(mean git100000 2))")
ratio "2. capture (100k) vs git status + diff --stat" "$cap_100000" "$g" 0.1
ratio "3. airlock diff --stat vs git status + diff --stat" "$(mean git100000 3)" "$g"
g10=$(python3 -c "print($(mean git10000 1) + $(mean git10000 2))")
ratio "4. capture (10k) vs git status + diff --stat" "$cap_10000" "$g10" 0.1
python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("   capture 10k %.1f ms, 100k %.1f ms: %.2fx for 10x the files" % (a*1e3, b*1e3, b/a))' "$cap_10000" "$cap_100000"
