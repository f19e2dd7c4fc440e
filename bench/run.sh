#!/bin/sh
# Sandbox start-to-finish, each against peers in the same run (issue #3):
#   airlock run --image busybox -- /bin/true   (all protections on, run
#       record written, workspace snapshot, capture)
#   bwrap --unshare-all over the same busybox root (bubblewrap 0.8 in Debian
#       12 has no overlay flags: a tmpfs root with the image's directories
#       bound read-only, so bwrap does less than we do: no overlay, no
#       seccomp, no cgroup, no capture, no record)
#   crun run of the same root (OCI bundle, its default cgroup manager;
#       crun 1.8 refuses this machine's hybrid cgroups unless the v2 mount is
#       gone, so it runs under nsenter into a mount namespace without it;
#       nsenter itself is ~1.5 ms of crun's figure)
# and runs per second with 2 and 8 concurrent runs. Goal: <= 1.0x bwrap,
# <= 0.5x crun.
#
# The machines are shared and their speed drifts by tens of percent within
# a minute, so the three are measured in BENCH_ROUNDS interleaved rounds
# (hyperfine runs each command of a round in turn) and the ratios are of
# the means over all rounds; the medians are printed too.
. "$(dirname "$0")/lib.sh"
bench_scratch
export AIRLOCK_STORE="$SCRATCH/store"
"$AIRLOCK" build "$TOP/recipes/busybox.recipe" >/dev/null
root=$("$AIRLOCK" checkout busybox)
mkdir -p "$SCRATCH/ws" && printf 'hello\n' >"$SCRATCH/ws/README" && printf 'x\n' >"$SCRATCH/ws/a.c"
cd "$SCRATCH/ws"
# Warm the workspace stat cache: a real agent loop re-runs the same workspace.
"$AIRLOCK" run --image busybox -- /bin/true 2>/dev/null

mkdir -p "$SCRATCH/crun/rootfs"
(cd "$SCRATCH/crun" && crun spec >/dev/null)
python3 - "$SCRATCH/crun/config.json" "$root" <<'PY'
import json, sys
path, root = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"] = {"path": root, "readonly": True}
json.dump(c, open(path, "w"))
PY
bwrap="bwrap --unshare-all --die-with-parent --tmpfs / --ro-bind $root/bin /bin --ro-bind $root/usr /usr --proc /proc --dev /dev --tmpfs /tmp /bin/true"
touch "$SCRATCH/mntns"
if [ -d /sys/fs/cgroup/unified ]; then
	unshare --mount="$SCRATCH/mntns" --propagation private umount /sys/fs/cgroup/unified
else
	unshare --mount="$SCRATCH/mntns" --propagation private true
fi
trap 'cd /; umount "$SCRATCH/mntns" 2>/dev/null; umount -l "$SCRATCH" 2>/dev/null; rmdir "$SCRATCH" 2>/dev/null' EXIT
crun_cmd="nsenter --mount=$SCRATCH/mntns crun run --bundle $SCRATCH/crun bench-@"

ROUNDS=${BENCH_ROUNDS:-5}
per_round=$(((RUNS + ROUNDS - 1) / ROUNDS))
[ "$per_round" -ge 2 ] || per_round=2
round=0
while [ "$round" -lt "$ROUNDS" ]; do
	hyperfine --style basic --warmup 1 --runs "$per_round" --export-json "$SCRATCH/single-$round.json" \
		"$AIRLOCK run --image busybox -- /bin/true" \
		"$bwrap" \
		"$(echo "$crun_cmd" | sed 's/@/single/')" >&2
	round=$((round + 1))
done
# pooled STAT INDEX: mean or median seconds of command INDEX over all rounds
pooled() {
	python3 - "$SCRATCH" "$ROUNDS" "$1" "$2" <<'PY'
import json, statistics, sys
d, rounds, stat, i = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
t = []
for r in range(rounds):
    t += json.load(open("%s/single-%d.json" % (d, r)))["results"][i]["times"]
print(statistics.mean(t) if stat == "mean" else statistics.median(t))
PY
}

conc() {
	# conc N CMD: wall time of 32 runs, N at a time
	python3 - "$1" "$2" <<'PY'
import subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
n, cmd = int(sys.argv[1]), sys.argv[2]
def one(i):
    return subprocess.run(cmd.replace("@", str(i)), shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
t = time.monotonic()
with ThreadPoolExecutor(n) as ex:
    rcs = list(ex.map(one, range(32)))
dt = time.monotonic() - t
bad = sum(1 for r in rcs if r)
print("%.1f" % (32 / dt) + (" (%d failed)" % bad if bad else ""))
PY
}
a2=$(conc 2 "$AIRLOCK run --image busybox -- /bin/true")
a8=$(conc 8 "$AIRLOCK run --image busybox -- /bin/true")
b2=$(conc 2 "$bwrap")
b8=$(conc 8 "$bwrap")

echo "== bench/run.sh ($ROUNDS interleaved rounds of $per_round runs each)"
ratio "airlock run vs bwrap --unshare-all" "$(pooled mean 0)" "$(pooled mean 1)" 1.0
ratio "airlock run vs crun run" "$(pooled mean 0)" "$(pooled mean 2)" 0.5
ratio "  (medians) vs bwrap" "$(pooled median 0)" "$(pooled median 1)"
ratio "  (medians) vs crun" "$(pooled median 0)" "$(pooled median 2)"
echo "runs/s with 2 concurrent: airlock $a2, bwrap $b2"
echo "runs/s with 8 concurrent: airlock $a8, bwrap $b8"
