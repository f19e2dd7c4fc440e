# Shared helpers for the benchmarks: a tmpfs scratch dir, hyperfine runs
# exported as JSON, and ratio lines. Sourced by bench/*.sh.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK=${AIRLOCK:-$TOP/build/airlock}
RUNS=${BENCH_RUNS:-5}

bench_scratch() {
	SCRATCH=$(mktemp -d /tmp/airlock-bench.XXXXXX)
	if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=12g airlock-bench "$SCRATCH" 2>/dev/null; then
		trap 'cd /; umount -l "$SCRATCH"; rmdir "$SCRATCH"' EXIT
	else
		trap 'cd /; rm -rf "$SCRATCH"' EXIT
	fi
}

# hf NAME [hyperfine args...]: runs hyperfine, keeps its JSON as NAME.json
hf() {
	name=$1
	shift
	hyperfine --style basic --runs "$RUNS" --export-json "$SCRATCH/$name.json" "$@" >&2
}

# mean NAME INDEX: mean seconds of command INDEX in NAME.json
mean() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' \
		"$SCRATCH/$1.json" "$2"
}

# ratio LABEL A_SECONDS B_SECONDS [GOAL]: prints "LABEL: a ms vs b ms = r x (goal <= GOAL)"
ratio() {
	python3 -c '
import sys
label, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
goal = sys.argv[4] if len(sys.argv) > 4 else ""
r = a / b if b else float("inf")
g = ""
if goal:
    g = "  goal <= %sx: %s" % (goal, "met" if r <= float(goal) else "NOT met")
print("%-44s %9.1f ms vs %9.1f ms  ratio %.2fx%s" % (label, a * 1e3, b * 1e3, r, g))
' "$@"
}
