#!/usr/bin/env bats
# airlock run through the CLI: the exit-status contract, the run id on
# stderr, a clean environment, records, and the host never written.

load helpers

setup() {
	shared_busybox_store
	WS=$(mktemp -d "$AIRLOCK_TEST_TMP/ws.XXXXXX")
	printf 'original\n' >"$WS/file.txt"
}

@test "run exits with the command's status and prints its id on stderr" {
	run al run --image busybox -w "$WS" -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" =~ airlock:\ run\ [0-9]{8}-[0-9]{6}\.[0-9]{6}-[0-9a-f]{4} ]]
}

@test "127 for a command that does not exist, 126 for one that is not executable" {
	run -127 al run --image busybox -w "$WS" -- /no/such/thing
	[ "$status" -eq 127 ]
	run al run --image busybox -w "$WS" -- /workspace/file.txt
	[ "$status" -eq 126 ]
}

@test "128+N when the command is killed by signal N" {
	run al run --image busybox -w "$WS" -- sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
}

@test "124 when the command outlives --timeout" {
	start=$(date +%s)
	run al run --image busybox -w "$WS" --timeout 1 -- sleep 30
	[ "$status" -eq 124 ]
	[ $(($(date +%s) - start)) -lt 10 ]
}

@test "125 and a clear message for an airlock error" {
	run al run --image no-such-image -w "$WS" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"airlock: run:"*"no-such-image"* ]]
}

@test "the workspace is seen at /workspace and the host copy is never written" {
	before=$(cd "$WS" && find . -exec stat -c '%n %s %Y %a' {} + | sort | sha256sum)
	run al run --image busybox -w "$WS" -- sh -c 'cat file.txt; echo changed > file.txt; echo new > new.txt; rm -f file.txt; mkdir d'
	[ "$status" -eq 0 ]
	[[ "$output" == *original* ]]
	after=$(cd "$WS" && find . -exec stat -c '%n %s %Y %a' {} + | sort | sha256sum)
	[ "$before" = "$after" ]
	[ ! -e "$WS/new.txt" ]
}

@test "nothing from the host environment leaks in; -e K=V and -e K pass what is named" {
	export AIRLOCK_TEST_SECRET=hunter2
	run al run --image busybox -w "$WS" -- env
	[ "$status" -eq 0 ]
	[[ "$output" != *hunter2* ]]
	[[ "$output" == *"LANG=C.UTF-8"* ]]
	[[ "$output" == *"TZ=UTC"* ]]
	run al run --image busybox -w "$WS" -e FOO=bar -e AIRLOCK_TEST_SECRET -- env
	[[ "$output" == *"FOO=bar"* ]]
	[[ "$output" == *"AIRLOCK_TEST_SECRET=hunter2"* ]]
	# The copied value is not in the record; the given one is.
	run al show --json
	[[ "$output" == *'"FOO": "bar"'* ]]
	[[ "$output" != *hunter2* ]]
}

@test "runs lists runs; show gives the record with digests; rm removes it" {
	run al run --image busybox -w "$WS" -- true
	id=$(printf '%s\n' "$output" | sed -n 's/^airlock: run //p')
	run al runs
	[[ "$output" == *"$id"* ]]
	run al show "$id" --json
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
r = json.load(sys.stdin)
for k in ("image", "input_tree", "output_tree", "stdout", "stderr"):
    assert r[k].startswith("sha256:") and len(r[k]) == 71, k
assert r["exit"]["code"] == 0 and r["network"] == "none"
assert "seccomp" in r["protections"] and "userns" in r["protections"]'
	run al rm "$id"
	[ "$status" -eq 0 ]
	run al show "$id"
	[ "$status" -ne 0 ]
	run al fsck
	[ "$status" -eq 0 ]
}

@test "stdout and stderr stream separately and are kept in the record" {
	run --separate-stderr al run --image busybox -w "$WS" -- sh -c 'echo to-out; echo to-err >&2'
	[ "$output" = "to-out" ]
	[[ "$stderr" == *to-err* ]]
}

@test "--help for run, runs, show, rm, doctor" {
	for c in run runs show rm doctor; do
		run al "$c" --help
		[ "$status" -eq 0 ]
		[[ "$output" == usage:* ]]
	done
}

@test "doctor reports every protection as available here" {
	run al doctor
	[ "$status" -eq 0 ]
	[[ "$output" == *"user namespace: ok"* ]]
	[[ "$output" == *"seccomp filter: ok"* ]]
}

@test "bad options are usage errors (exit 2) with a message" {
	run al run --memory lots -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"--memory"* ]]
	run al run --network host -- true
	[ "$status" -eq 2 ]
	run al run --mount /etc -- true
	[ "$status" -eq 2 ]
}

@test "the image's ENV wins over airlock's defaults (HOME too); -e wins over both" {
	ctx=$(mktemp -d "$AIRLOCK_TEST_TMP/ctx.XXXXXX")
	printf 'FROM busybox\nENV HOME=/custom LANG=fr_FR.UTF-8\n' >"$ctx/envimg.recipe"
	run al build -t envimg "$ctx/envimg.recipe"
	[ "$status" -eq 0 ]
	run al run --image envimg -w "$WS" -- env
	[[ "$output" == *"HOME=/custom"* ]]
	[[ "$output" == *"LANG=fr_FR.UTF-8"* ]]
	[[ "$output" == *"TZ=UTC"* ]]
	run al run --image envimg -w "$WS" -e HOME=/other -- env
	[[ "$output" == *"HOME=/other"* ]]
}

@test "run cgroups left by a killed airlock are swept; a fresh one is left alone" {
	require_root
	own=$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
	base=/sys/fs/cgroup/memory$own
	[ -d "$base" ] || base=/sys/fs/cgroup/unified$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ -w "$base" ] || skip "no writable cgroup here"
	mkdir "$base/airlock-stale0000000000" "$base/airlock-fresh0000000000"
	touch -d '2 hours ago' "$base/airlock-stale0000000000"
	run al run --image busybox -w "$WS" -- true
	[ "$status" -eq 0 ]
	[ ! -e "$base/airlock-stale0000000000" ]
	[ -d "$base/airlock-fresh0000000000" ]
	rmdir "$base/airlock-fresh0000000000"
}
