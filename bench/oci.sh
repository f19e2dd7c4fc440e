#!/bin/sh
# OCI benchmarks, each against a peer in the same run (issue: OCI interop):
#  1. airlock export IMAGE -o F        vs  umoci repack (same tree, gzip layer)
#  2. airlock import oci-archive:F     vs  umoci unpack (the layout of the same image)
#  3. both                             vs  skopeo copy oci:A oci:B (copies blobs only)
# The image: the shipped python image (recipes/python.recipe), exported by
# airlock and unpacked by umoci into an equivalent bundle for umoci's side.
# Goal: at most 1.0x umoci on 1 and 2.
. "$(dirname "$0")/lib.sh"
bench_scratch
cd "$SCRATCH"
export SOURCE_DATE_EPOCH=0
"$AIRLOCK" --store "$SCRATCH/st" build -t py "$TOP/recipes/python.recipe" >/dev/null
"$AIRLOCK" --store "$SCRATCH/st" export py -o py.tar
mkdir -p lay
tar -C lay -xf py.tar
umoci unpack --rootless --image lay:py bundle >/dev/null
size=$(du -sm bundle/rootfs | cut -f1)
files=$(find bundle/rootfs | wc -l)
echo "# image: $size MB, $files entries" >&2

# umoci repack writes only what changed since its unpack, so each timed
# repack starts from an empty base image unpacked afresh with the whole
# tree copied in (untimed --prepare): it then packs the full layer, as
# our export does.
umoci init --layout empty >/dev/null
umoci new --image empty:base
co=$("$AIRLOCK" --store "$SCRATCH/st" checkout py)
hf export \
	--prepare "rm -rf $SCRATCH/lay2 $SCRATCH/b2 $SCRATCH/lay4 && cp -a $SCRATCH/empty $SCRATCH/lay2 && umoci unpack --rootless --image $SCRATCH/lay2:base $SCRATCH/b2 >/dev/null && cp -a $co/. $SCRATCH/b2/rootfs/" \
	"$AIRLOCK --store $SCRATCH/st export py -o $SCRATCH/out.tar" \
	"umoci repack --image $SCRATCH/lay2:base $SCRATCH/b2" \
	"skopeo copy -q oci:$SCRATCH/lay:py oci:$SCRATCH/lay4:py"
hf import \
	--prepare "rm -rf $SCRATCH/st2 $SCRATCH/ub $SCRATCH/lay3" \
	"$AIRLOCK --store $SCRATCH/st2 import oci-archive:$SCRATCH/py.tar" \
	"umoci unpack --rootless --image $SCRATCH/lay:py $SCRATCH/ub" \
	"skopeo copy -q oci:$SCRATCH/lay:py oci:$SCRATCH/lay3:py"

echo "== bench/oci.sh ($size MB, $files entries, $RUNS runs each)"
ratio "1. export vs umoci repack" "$(mean export 0)" "$(mean export 1)" 1.0
ratio "1b. export vs skopeo copy oci->oci" "$(mean export 0)" "$(mean export 2)"
ratio "2. import vs umoci unpack" "$(mean import 0)" "$(mean import 1)" 1.0
ratio "2b. import vs skopeo copy oci->oci" "$(mean import 0)" "$(mean import 2)"
