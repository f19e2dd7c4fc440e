#!/bin/sh
# Builds and runs every libFuzzer target, each for a bounded time.
#
#   sh tests/fuzz/run.sh [NAME...]     NAME: "recipe" for tests/fuzz/fuzz-recipe.c
#
# A target tests/fuzz/fuzz-NAME.c names what it links in comment lines at
# its top, so new targets need no change here:
#   // fuzz-sources: builder/recipe.c lib/err.c ...   (paths from the top)
#   // fuzz-pkgs: jansson libcrypto                    (pkg-config names)
# Seeds live in tests/fuzz/corpus/NAME/ and are only read; new inputs go to
# $FUZZ_OUT/corpus-NAME, crashes to $FUZZ_OUT/NAME-crash-*.
#
# Environment: FUZZ_SECONDS (30) per target, FUZZ_MAX_LEN (16384),
# FUZZ_OUT (build-fuzz/run), CLANG (clang).
# Exit status: non-zero if a target failed to build or found a crash.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
SECONDS_EACH=${FUZZ_SECONDS:-30}
MAX_LEN=${FUZZ_MAX_LEN:-16384}
OUT=${FUZZ_OUT:-build-fuzz/run}
CLANG=${CLANG:-clang}
mkdir -p "$OUT"

if [ $# -eq 0 ]; then
	set -- tests/fuzz/fuzz-*.c
else
	names=$*
	set --
	for n in $names; do set -- "$@" "tests/fuzz/fuzz-$n.c"; done
fi

status=0
for src in "$@"; do
	[ -f "$src" ] || { echo "fuzz: no such target: $src" >&2; status=1; continue; }
	base=$(basename "$src" .c)
	name=${base#fuzz-}
	sources=$(sed -n 's|^// fuzz-sources:||p' "$src" | head -n 1)
	pkgs=$(sed -n 's|^// fuzz-pkgs:||p' "$src" | head -n 1)
	pkg_cflags=""
	pkg_libs=""
	if [ -n "$pkgs" ]; then
		# shellcheck disable=SC2086
		pkg_cflags=$(pkg-config --cflags $pkgs) || { status=1; continue; }
		# shellcheck disable=SC2086
		pkg_libs=$(pkg-config --libs $pkgs) || { status=1; continue; }
	fi
	echo "# fuzz: building $base"
	# shellcheck disable=SC2086
	if ! "$CLANG" -std=gnu17 -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -I. $pkg_cflags -o "$OUT/$base" "$src" $sources $pkg_libs; then
		echo "not ok - fuzz $name (build failed)"
		status=1
		continue
	fi
	work="$OUT/corpus-$name"
	mkdir -p "$work"
	seeds="tests/fuzz/corpus/$name"
	[ -d "$seeds" ] || seeds=""
	echo "# fuzz: running $base for ${SECONDS_EACH}s"
	# shellcheck disable=SC2086
	if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
		"$OUT/$base" -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/$name-" \
		"$work" $seeds >"$OUT/$name.log" 2>&1; then
		echo "ok - fuzz $name ($(grep -c . "$OUT/$name.log") log lines, $(ls "$work" | wc -l) corpus files)"
	else
		tail -n 40 "$OUT/$name.log"
		echo "not ok - fuzz $name (see $OUT/$name.log)"
		status=1
	fi
done
exit $status
