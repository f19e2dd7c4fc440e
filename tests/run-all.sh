#!/bin/sh
# Runs every unit test binary and every bats file against the real binary,
# then prints one line "N passed, N failed[, N skipped]" summed over all
# suites. AIRLOCK_TEST_STRICT=1 counts skips as failures (CI forbids skips).
# Exit status: non-zero if anything failed.
set -u
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
export AIRLOCK="$TOP/$BUILD/airlock"
export AIRLOCK_TOP="$TOP"

# Scratch space on a tmpfs: the root file system here is slow at creating
# many files after deleting many.
if [ -z "${AIRLOCK_TEST_TMP:-}" ]; then
	AIRLOCK_TEST_TMP=$(mktemp -d /tmp/airlock-test.XXXXXX)
	if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=8g,mode=1777 airlock-test "$AIRLOCK_TEST_TMP" 2>/dev/null; then
		trap 'umount -l "$AIRLOCK_TEST_TMP" 2>/dev/null; rmdir "$AIRLOCK_TEST_TMP"' EXIT
	else
		trap 'rm -rf "$AIRLOCK_TEST_TMP"' EXIT
	fi
	chmod 1777 "$AIRLOCK_TEST_TMP"
fi
export AIRLOCK_TEST_TMP
log="$AIRLOCK_TEST_TMP/tap.log"
: >"$log"

status=0
for t in "$BUILD"/tests/test-*; do
	[ -x "$t" ] || continue
	echo "# unit: $t"
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$AIRLOCK_TEST_TMP/unit.out" 2>&1 || status=1
	cat "$AIRLOCK_TEST_TMP/unit.out"
	cat "$AIRLOCK_TEST_TMP/unit.out" >>"$log"
done
if [ -z "${AIRLOCK_UNIT_ONLY:-}" ]; then
	set -- tests/e2e/*.bats
	if [ -e "$1" ]; then
		bats --tap "$@" >"$AIRLOCK_TEST_TMP/bats.out" 2>&1 || status=1
		cat "$AIRLOCK_TEST_TMP/bats.out"
		cat "$AIRLOCK_TEST_TMP/bats.out" >>"$log"
	fi
fi

# A skip is neither a pass nor a failure: bats reports it as
# "ok N # skip", cmocka as "not ok N # SKIP".
ok_skip=$(grep -cE '^ok [0-9]+.*# (skip|SKIP)' "$log")
not_ok_skip=$(grep -cE '^not ok [0-9]+.*# (skip|SKIP)' "$log")
pass=$(($(grep -cE '^ok [0-9]+' "$log") - ok_skip))
fail=$(($(grep -cE '^not ok [0-9]+' "$log") - not_ok_skip))
skip=$((ok_skip + not_ok_skip))
if [ "${AIRLOCK_TEST_STRICT:-0}" = 1 ] && [ "$skip" -gt 0 ]; then
	echo "# AIRLOCK_TEST_STRICT=1: $skip skipped test(s) count as failed:"
	grep -E '^(not )?ok [0-9]+.*# (skip|SKIP)' "$log"
	fail=$((fail + skip))
	skip=0
fi
[ "$fail" -gt 0 ] && status=1
[ "$pass" -eq 0 ] && [ "$fail" -eq 0 ] && status=1
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
exit $status
