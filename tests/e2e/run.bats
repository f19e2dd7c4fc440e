#!/usr/bin/env bats
# airlock run through the CLI: the exit-status contract, the run id on
# stderr, a clean environment, records, and the host never written.

load helpers

teardown() {
	# A failed assertion leaves a background run: not into the next test.
	if [ -n "${bg:-}" ]; then
		kill "$bg" 2>/dev/null || true
		wait "$bg" 2>/dev/null || true
	fi
	if [ -n "${fill:-}" ] && mountpoint -q "$fill"; then
		rm -rf "$fill/f"
		umount "$fill"
	fi
	return 0
}

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

# The v1 hierarchy of a controller beneath our own cgroup, or nothing.
cgroup_v1_base() {
	local own
	own=$(sed -n "s/^[0-9]*:\(.*,\)\{0,1\}$1\(,.*\)\{0,1\}:\(.*\)/\3/p" /proc/self/cgroup)
	[ -n "$own" ] && [ -d "/sys/fs/cgroup/$1$own" ] && echo "/sys/fs/cgroup/$1${own%/}"
}

# The run cgroup in use under $1 (not an idle one), waiting up to 5 s.
active_cgroup() {
	local i d
	for ((i = 0; i < 50; i++)); do
		for d in "$1"/airlock-*; do
			case "$d" in */airlock-idle-* | */airlock-\*) continue ;; esac
			# (cgroup files report size 0: read them)
			[ -n "$(cat "$d/tasks" 2>/dev/null)" ] && echo "$d" && return 0
		done
		sleep 0.1
	done
	return 1
}

@test "what a run leaves behind is dead when airlock returns; its cgroups go back to the pool" {
	require_root
	mem=$(cgroup_v1_base memory) || skip "no cgroup v1 memory hierarchy here"
	# A number no other process sleeps for, to find them by.
	secs=$((300000 + RANDOM))
	run al run --image busybox -w "$WS" -- sh -c "sleep $secs & sleep $secs & sleep 0.2; echo running \$(ps -o args | grep -c '^sleep $secs')"
	[ "$status" -eq 0 ]
	[[ "$output" == *"running 2"* ]]
	# Right away, no wait: pid 1 killed and reaped them before reporting.
	(! pgrep -f "sleep $secs")
	# No run cgroup is left in use; the idle pool is bounded.
	for d in "$mem"/airlock-*; do
		case "$d" in */airlock-idle-* | */airlock-\*) ;; *) [ -z "$(cat "$d/tasks")" ] ;; esac
	done
	n=$(ls -d "$mem"/airlock-idle-* | wc -l)
	[ "$n" -ge 1 ] && [ "$n" -le 8 ]
}

@test "a pooled cgroup is reused and takes the new run's limits, lower or higher" {
	require_root
	mem=$(cgroup_v1_base memory) || skip "no cgroup v1 memory hierarchy here"
	pids=$(cgroup_v1_base pids) || skip "no cgroup v1 pids hierarchy here"
	# One idle cgroup per hierarchy, so which one is reused is known.
	rmdir "$mem"/airlock-idle-* "$pids"/airlock-idle-* 2>/dev/null || true
	al run --image busybox -w "$WS" -- true
	idle_inodes=$(stat -c %i "$mem"/airlock-idle-* | sort)
	[ "$(printf '%s\n' "$idle_inodes" | wc -l)" = 1 ]
	al run --image busybox -w "$WS" --memory 64m --pids 40 -- sleep 2 &
	bg=$!
	active=$(active_cgroup "$mem")
	# The same kernel cgroup as an idle one: renamed, not made anew.
	grep -qx "$(stat -c %i "$active")" <<<"$idle_inodes"
	[ "$(cat "$active/memory.limit_in_bytes")" = 67108864 ]
	if [ -e "$active/memory.memsw.limit_in_bytes" ]; then
		[ "$(cat "$active/memory.memsw.limit_in_bytes")" = 67108864 ]
	fi
	[ "$(cat "$(active_cgroup "$pids")/pids.max")" = 40 ]
	ino=$(stat -c %i "$active")
	wait "$bg"
	# And back to the pool when the run is over.
	stat -c %i "$mem"/airlock-idle-* | grep -qx "$ino"
	# Then the defaults on the cgroup that had the low limits.
	al run --image busybox -w "$WS" -- sleep 2 &
	bg=$!
	active=$(active_cgroup "$mem")
	[ "$(stat -c %i "$active")" = "$ino" ]
	[ "$(cat "$active/memory.limit_in_bytes")" = 4294967296 ]
	if [ -e "$active/memory.memsw.limit_in_bytes" ]; then
		[ "$(cat "$active/memory.memsw.limit_in_bytes")" = 4294967296 ]
	fi
	[ "$(cat "$(active_cgroup "$pids")/pids.max")" = 4096 ]
	wait "$bg"
}

@test "the record's max RSS and CPU time are the sandbox's processes'" {
	run al run --image busybox -w "$WS" -- sh -c 'dd if=/dev/zero of=/dev/null bs=48M count=1 2>/dev/null'
	[ "$status" -eq 0 ]
	run al show last --json
	rss=$(printf '%s' "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_rss_kb"])')
	[ "$rss" -ge 49152 ]
	# Zero-filling 48 MiB takes well over a millisecond of CPU.
	printf '%s' "$output" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["user_cpu_ms"] + r["sys_cpu_ms"] >= 1, r'
}

@test "concurrent runs share the cgroup pool safely, stale-looking idle cgroups included" {
	require_root
	mem=$(cgroup_v1_base memory) || skip "no cgroup v1 memory hierarchy here"
	for i in 1 2 3; do al run --image busybox -w "$WS" -- true; done
	# Idle cgroups older than the stale-sweep age must still be claimable,
	# and no run may take another's.
	touch -d '2 hours ago' "$mem"/airlock-idle-* 2>/dev/null || true
	pids=()
	for i in $(seq 8); do
		al run --image busybox -w "$WS" --pids 64 -- sleep 1.5 &
		pids+=($!)
	done
	# While all eight sleep: eight run cgroups in use, one sandbox each
	# (one pid 1 in each; a shared cgroup would hold two).
	for ((i = 0; i < 50; i++)); do
		n=0
		for d in "$mem"/airlock-*; do
			case "$d" in */airlock-idle-*) continue ;; esac
			[ -n "$(cat "$d/tasks" 2>/dev/null)" ] && n=$((n + 1))
		done
		[ "$n" -eq 8 ] && break
		sleep 0.1
	done
	[ "$n" -eq 8 ]
	for d in "$mem"/airlock-*; do
		case "$d" in */airlock-idle-*) continue ;; esac
		inits=0
		for t in $(cat "$d/tasks"); do
			[ "$(cat "/proc/$t/comm" 2>/dev/null)" = airlock-init ] && inits=$((inits + 1))
		done
		[ "$inits" -le 1 ]
	done
	for p in "${pids[@]}"; do wait "$p"; done
	n=$(ls -d "$mem"/airlock-idle-* | wc -l)
	[ "$n" -ge 1 ] && [ "$n" -le 8 ]
	for d in "$mem"/airlock-*; do
		case "$d" in */airlock-idle-*) ;; *) [ -z "$(cat "$d/tasks")" ] ;; esac
	done
}

# charged_idle_cgroup MEM HOW: an idle cgroup slot 0 charged by a process
# that ran in it: HOW=pages (64 MiB of tmpfs pages) or HOW=inodes (20000
# empty tmpfs files: kernel memory only, no rss or shmem), kept on $fill.
charged_idle_cgroup() {
	rmdir "$1"/airlock-idle-* 2>/dev/null || true
	mkdir "$1/airlock-idle-0"
	fill=$(mktemp -d "$AIRLOCK_TEST_TMP/fill.XXXXXX")
	mount -t tmpfs -o size=100m fill "$fill"
	if [ "$2" = pages ]; then
		sh -c 'echo $$ >"$1/airlock-idle-0/tasks" && dd if=/dev/zero of="$2/f" bs=1M count=64 2>/dev/null' \
			_ "$1" "$fill"
	else
		sh -c 'echo $$ >"$1/airlock-idle-0/tasks" && mkdir "$2/f" && cd "$2/f" && seq 20000 | xargs touch' \
			_ "$1" "$fill"
	fi
	busy=$(stat -c %i "$1/airlock-idle-0")
}

check_busy_cgroup_passed_over() {
	require_root
	mem=$(cgroup_v1_base memory) || skip "no cgroup v1 memory hierarchy here"
	# A run's scratch file system is freed only once its pid 1 is gone,
	# some milliseconds after airlock returned: its cgroup is charged a
	# while. Such a cgroup must not hold the next run.
	charged_idle_cgroup "$mem" "$1"
	al run --image busybox -w "$WS" -- sleep 1 &
	bg=$!
	active=$(active_cgroup "$mem")
	[ "$(stat -c %i "$active")" != "$busy" ]
	wait "$bg"
	# Once freed it is taken like any other. (Passed over, it went back
	# to the pool, maybe in another slot: find it by inode.)
	rm -rf "$fill/f"
	umount "$fill"
	for d in "$mem"/airlock-idle-*; do [ "$(stat -c %i "$d")" = "$busy" ] || rmdir "$d"; done
	# (Freed inodes are uncharged after an RCU grace period.)
	for ((i = 0; i < 50; i++)); do
		[ "$(cat "$mem"/airlock-idle-*/memory.usage_in_bytes)" -lt 1048576 ] && break
		sleep 0.1
	done
	al run --image busybox -w "$WS" -- sleep 1 &
	bg=$!
	active=$(active_cgroup "$mem")
	[ "$(stat -c %i "$active")" = "$busy" ]
	wait "$bg"
}

@test "a run never starts charged with another's files: busy pooled cgroups are passed over" {
	check_busy_cgroup_passed_over pages
}

@test "... nor with another's kernel memory (a tmpfs full of inodes)" {
	check_busy_cgroup_passed_over inodes
}
