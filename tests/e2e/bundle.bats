#!/usr/bin/env bats
# airlock bundle / unbundle through the CLI: a run made in one store is
# reviewed and replayed in another; a corrupted bundle is refused and
# leaves no run or image behind.

load helpers

setup() {
	shared_busybox_store
	WS=$(mktemp -d "$AIRLOCK_TEST_TMP/ws.XXXXXX")
	printf 'original\n' >"$WS/file.txt"
	OUT=$(mktemp -d "$AIRLOCK_TEST_TMP/bundle.XXXXXX")
	DST=$(mktemp -d "$AIRLOCK_TEST_TMP/store.XXXXXX")
	chmod 755 "$DST"
}

# The airlock CLI against the second (destination) store.
al_dst() {
	AIRLOCK_STORE="$DST" "$AIRLOCK" "$@"
}

make_run() {
	run al run --image busybox -w "$WS" -- sh -c 'echo hello; echo changed >file.txt; echo new >new.txt'
	[ "$status" -eq 0 ]
	ID=$(printf '%s\n' "$output" | sed -n 's/^airlock: run //p')
	[ -n "$ID" ]
}

json_field() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

@test "a bundled run loads into a fresh store where show, diff and replay work" {
	make_run
	run al bundle "$ID" -o "$OUT/run.bundle"
	[ "$status" -eq 0 ]
	[ "$output" = "$OUT/run.bundle" ]
	want_show=$(al show "$ID" --json)
	want_diff=$(al diff "$ID")
	want_tree=$(printf '%s\n' "$want_show" | json_field output_tree)

	run al_dst unbundle "$OUT/run.bundle"
	[ "$status" -eq 0 ]
	[ "$output" = "run $ID" ]

	run al_dst runs
	[[ "$output" == *"$ID"* ]]
	run al_dst images
	[[ "$output" == *"$BUSYBOX_DIGEST"* ]]
	[ "$(al_dst show "$ID" --json)" = "$want_show" ]
	run al_dst diff "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "$want_diff" ]
	[[ "$output" == *"+changed"* ]]
	[[ "$output" == *"new.txt"* ]]

	run al_dst replay "$ID" --json
	[ "$status" -eq 0 ]
	got=$(printf '%s\n' "$output" | sed -n '/^{/,$p' | json_field got)
	[ "$got" = "$want_tree" ]

	run al_dst fsck
	[ "$status" -eq 0 ]
	run al fsck
	[ "$status" -eq 0 ]
}

@test "the same run gives the same bundle bytes; loading it twice is fine" {
	make_run
	al bundle -o "$OUT/a.bundle" >/dev/null
	al bundle "$ID" -o "$OUT/b.bundle" >/dev/null
	cmp "$OUT/a.bundle" "$OUT/b.bundle"
	run al_dst unbundle "$OUT/a.bundle"
	[ "$status" -eq 0 ]
	run al_dst unbundle "$OUT/b.bundle"
	[ "$status" -eq 0 ]
	[ "$output" = "run $ID" ]
	[ "$(al_dst runs --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" = 1 ]
}

@test "a corrupted bundle is refused and leaves no run or image" {
	make_run
	al bundle "$ID" -o "$OUT/run.bundle" >/dev/null
	cp "$OUT/run.bundle" "$OUT/bad.bundle"
	python3 - "$OUT/bad.bundle" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x01
open(p, 'wb').write(b)
PY
	run al_dst unbundle "$OUT/bad.bundle"
	[ "$status" -eq 1 ]
	[[ "$output" == "airlock: unbundle: bundle '$OUT/bad.bundle': "* ]]
	[ -z "$(find "$DST/refs" -type f)" ]
	# What it wrote before the check failed is garbage: fsck is clean and
	# gc removes it.
	run al_dst fsck
	[ "$status" -eq 0 ]
	run al_dst gc
	[ "$status" -eq 0 ]
	run al_dst fsck
	[ "$status" -eq 0 ]
	# A truncated one too; the good one still loads afterwards.
	head -c 100000 "$OUT/run.bundle" >"$OUT/cut.bundle"
	run al_dst unbundle "$OUT/cut.bundle"
	[ "$status" -eq 1 ]
	[ -z "$(find "$DST/refs" -type f)" ]
	run al_dst unbundle "$OUT/run.bundle"
	[ "$status" -eq 0 ]
}

@test "errors and help" {
	run al bundle no-such-run -o "$OUT/x.bundle"
	[ "$status" -eq 1 ]
	[[ "$output" == "airlock: bundle: "*"no-such-run"* ]]
	[ ! -e "$OUT/x.bundle" ]
	run al bundle
	[ "$status" -eq 2 ]
	run al_dst unbundle "$OUT/missing.bundle"
	[ "$status" -eq 1 ]
	[[ "$output" == "airlock: unbundle: "*"missing.bundle"* ]]
	printf 'not a bundle\n' >"$OUT/text"
	run al_dst unbundle "$OUT/text"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a readable zstd-compressed tar"* ]]
	run al bundle --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: airlock bundle"* ]]
	run al unbundle --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: airlock unbundle"* ]]
}
