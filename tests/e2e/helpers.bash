bats_require_minimum_version 1.5.0

# Shared set-up for the end-to-end tests. $AIRLOCK is the binary under
# test, $AIRLOCK_TOP the source tree, $AIRLOCK_TEST_TMP a scratch tmpfs.

: "${AIRLOCK:=$BATS_TEST_DIRNAME/../../build/airlock}"
: "${AIRLOCK_TOP:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${AIRLOCK_TEST_TMP:=${BATS_TMPDIR:-/tmp}}"

# A fresh store per test unless the file shares one (setup_file).
new_store() {
	AIRLOCK_STORE=$(mktemp -d "$AIRLOCK_TEST_TMP/store.XXXXXX")
	chmod 755 "$AIRLOCK_STORE"
	export AIRLOCK_STORE
}

al() {
	"$AIRLOCK" "$@"
}

# A shared store holding the busybox image, built once per test run and
# reused across files (building it is the slow part).
shared_busybox_store() {
	local dir="$AIRLOCK_TEST_TMP/shared-busybox"
	if [ ! -e "$dir/.ready" ]; then
		mkdir -p "$dir"
		chmod 755 "$dir"
		AIRLOCK_STORE="$dir" "$AIRLOCK" build "$AIRLOCK_TOP/recipes/busybox.recipe" >"$dir/.digest" || return 1
		touch "$dir/.ready"
	fi
	export AIRLOCK_STORE="$dir"
	BUSYBOX_DIGEST=$(tail -n1 "$dir/.digest")
	export BUSYBOX_DIGEST
}

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# Runs a command as an unprivileged user (nobody), per STYLE.md.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

last_line() {
	printf '%s\n' "$output" | tail -n1
}
