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

hf single \
	"$AIRLOCK run --image busybox -- /bin/true" \
	"$bwrap" \
	"$(echo "$crun_cmd" | sed 's/@/single/')"

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

echo "== bench/run.sh ($RUNS runs each)"
ratio "airlock run vs bwrap --unshare-all" "$(mean single 0)" "$(mean single 1)" 1.0
ratio "airlock run vs crun run" "$(mean single 0)" "$(mean single 2)" 0.5
echo "runs/s with 2 concurrent: airlock $a2, bwrap $b2"
echo "runs/s with 8 concurrent: airlock $a8, bwrap $b8"
