#!/usr/bin/env bats
# Break-out attempts through `airlock run` (DESIGN.md invariants 1, 2 and
# 4): every one must FAIL, as root and as an unprivileged caller (nobody,
# setpriv --reuid 65534). The same attacks are made against sandbox_run
# directly in tests/unit/test-sandbox.c; here they go through the CLI, the
# store and the run record. Plus: everyday tools work, -t gives a real
# terminal and always restores the outer one, --mount is read-only unless
# :rw.
#
# /probe is tests/e2e/probe.c, built static per file and bind-mounted
# read-only: it exits 0 when its attempt failed, 1 when it succeeded.

load helpers

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	SB_DIR=$(mktemp -d "$AIRLOCK_TEST_TMP/sandbox.XXXXXX")
	chmod 755 "$SB_DIR"
	cc -static -O2 -o "$SB_DIR/probe" "$AIRLOCK_TOP/tests/e2e/probe.c"
	chmod 755 "$SB_DIR/probe"
	# root's store: the shared busybox one, plus python (images.bats
	# builds it there too, so this is usually a cache hit).
	shared_busybox_store
	ROOT_STORE=$AIRLOCK_STORE
	"$AIRLOCK" build "$AIRLOCK_TOP/recipes/python.recipe" >/dev/null
	# nobody's store and home, built once for the file.
	NB_HOME=$SB_DIR/nobody-home
	NB_STORE=$SB_DIR/nobody-store
	mkdir -p "$NB_HOME" "$NB_STORE"
	chown 65534:65534 "$NB_HOME" "$NB_STORE"
	for r in busybox python; do
		as_nobody env HOME="$NB_HOME" "$AIRLOCK" --store "$NB_STORE" \
			build "$AIRLOCK_TOP/recipes/$r.recipe" >/dev/null
	done
	export SB_DIR ROOT_STORE NB_HOME NB_STORE
}

teardown_file() {
	[ -n "${SB_DIR:-}" ] && rm -rf "$SB_DIR"
	return 0
}

setup() {
	require_root
	WS=$(mktemp -d "$AIRLOCK_TEST_TMP/sbws.XXXXXX")
	chmod 755 "$WS"
	printf 'original\n' >"$WS/file.txt"
	mkdir "$WS/sub"
	printf 'nested\n' >"$WS/sub/n.txt"
	T=$(mktemp -d "$AIRLOCK_TEST_TMP/sbt.XXXXXX")
	chmod 755 "$T"
	PROBE=(--mount "$SB_DIR/probe:/probe:ro")
	BG_PIDS=()
}

teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	[ -n "${TMUX_SOCK:-}" ] && tmux -S "$TMUX_SOCK" kill-server 2>/dev/null
	rm -rf "${WS:-/nonexistent}" "${T:-/nonexistent}"
	return 0
}

# use root|nobody: who starts airlock. Sets SB (the argv prefix that runs
# airlock as that user, usable with & so that $! is airlock itself),
# STORE, and HOST_UID, the host uid the agent (inside uid 1000) runs as.
# nobody's workspace is nobody's own, so only the sandbox stops a write.
use() {
	WHO=$1
	case $WHO in
	root)
		SB=("$AIRLOCK" --store "$ROOT_STORE")
		STORE=$ROOT_STORE
		HOST_UID=101000
		;;
	nobody)
		SB=(setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$NB_HOME" "$AIRLOCK" --store "$NB_STORE")
		STORE=$NB_STORE
		HOST_UID=65534
		chown -R 65534:65534 "$WS" "$T"
		;;
	esac
}

sb() {
	"${SB[@]}" "$@"
}

# Host processes of HOST_UID whose command line is exactly $1.
host_procs() {
	ps -u "$HOST_UID" -o args= 2>/dev/null | grep -cxF -- "$1" || true
}

# wait_gone CMDLINE [TENTHS]: until no process of HOST_UID runs CMDLINE.
wait_gone() {
	local i
	for ((i = 0; i < ${2:-50}; i++)); do
		[ "$(host_procs "$1")" = 0 ] && return 0
		sleep 0.1
	done
	echo "still running as $HOST_UID: $1" >&2
	ps -u "$HOST_UID" -o pid,args >&2
	return 1
}

# A tree's names, modes, sizes, mtimes, link targets and contents.
tree_state() {
	(cd "$1" && find . -printf '%p %y %m %U %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort) | sha256sum
}

# ---- reading the host -------------------------------------------------

check_host_files_unreadable() {
	local secret_dir=$T/secret
	mkdir -p "$secret_dir/mnt"
	chmod 755 "$secret_dir" "$secret_dir/mnt"
	printf 'TOPSECRET-%s\n' "$RANDOM" >"$secret_dir/secret.txt"
	chmod 644 "$secret_dir/secret.txt"
	ln -s "$secret_dir/secret.txt" "$WS/link"
	run sb run --image busybox -w "$WS" --mount "$secret_dir/mnt:/data" -- sh -c "
		cat '$secret_dir/secret.txt' /workspace/link /data/../secret.txt \
			'/proc/1/root$secret_dir/secret.txt' '/proc/self/root$secret_dir/secret.txt' \
			/etc/shadow /root/.bashrc '$AIRLOCK' '$STORE/lock' 2>&1
		ls /data/.. /sys 2>&1
		echo done"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
	[[ "$output" != *TOPSECRET* ]]
	# /data/.. is the sandbox's root, not the host directory.
	(! printf '%s\n' "$output" | grep -qx secret.txt)
	printf '%s\n' "$output" | grep -qx workspace
}

@test "root: a host file outside the mounts cannot be read (path, symlink, .., /proc/1/root)" {
	use root
	check_host_files_unreadable
}

@test "nobody: a host file outside the mounts cannot be read (path, symlink, .., /proc/1/root)" {
	use nobody
	check_host_files_unreadable
}

check_no_host_processes() {
	sleep 1006 &
	BG_PIDS+=($!)
	run sb run --image busybox -w "$WS" -- sh -c 'ps -o pid,args; echo; ls /proc | grep -c "^[0-9]"'
	[ "$status" -eq 0 ]
	[[ "$output" != *"sleep 1006"* ]]
	[[ "$output" != *bats* ]]
	# init, sh and ps (or ls and grep): nothing of the host.
	[ "$(last_line)" -le 4 ]
}

@test "root: host processes are invisible" {
	use root
	check_no_host_processes
}

@test "nobody: host processes are invisible" {
	use nobody
	check_no_host_processes
}

check_no_env_leak() {
	run env AIRLOCK_TEST_SECRET=hunter2 SSH_AUTH_SOCK=/tmp/agent.sock "${SB[@]}" \
		run --image busybox -w "$WS" -- env
	[ "$status" -eq 0 ]
	[[ "$output" != *hunter2* ]]
	[[ "$output" != *SSH_AUTH_SOCK* ]]
	names=$(printf '%s\n' "$output" | grep = | cut -d= -f1 | LC_ALL=C sort | tr '\n' ' ')
	[ "$names" = "HOME LANG PATH TERM TZ USER " ]
}

@test "root: no host environment variable is inherited" {
	use root
	check_no_env_leak
}

@test "nobody: no host environment variable is inherited" {
	use nobody
	check_no_env_leak
}

check_no_fd_leak() {
	exec 7</etc/hostname 8>"$T/fd8" 9<>"$T/fd8"
	run sb run --image busybox -w "$WS" "${PROBE[@]}" -- /probe fds
	exec 7<&- 8>&- 9<&-
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "0 1 2" ]
	run sb run --image busybox -w "$WS" -- ls /proc/self/fd
	[ "$status" -eq 0 ]
	# 0 1 2 and the directory ls itself opened.
	[ "$(printf '%s\n' "$output" | grep -cx '[0-9]*')" -le 4 ]
	[[ "$(printf '%s\n' "$output" | grep -x '[0-9]*' | tr '\n' ' ')" == "0 1 2 "* ]]
}

@test "root: no fd leaks in (only 0 1 2)" {
	use root
	check_no_fd_leak
}

@test "nobody: no fd leaks in (only 0 1 2)" {
	use nobody
	check_no_fd_leak
}

# ---- writing the host -------------------------------------------------

check_workspace_not_written() {
	printf 'host\n' >"$T/target.txt"
	chmod 666 "$T/target.txt"
	ln -s "$T/target.txt" "$WS/out"
	[ "$WHO" = nobody ] && chown -h 65534:65534 "$WS/out"
	before=$(tree_state "$WS")
	run sb run --image busybox -w "$WS" -- sh -c '
		echo changed > file.txt && echo wrote-file
		echo pwned > out; echo pwned > /workspace/out
		rm -rf sub && echo removed-sub
		mkdir new && echo data > new/f && chmod 700 file.txt && echo made-new
		touch -d "2001-01-01" file.txt'
	[ "$status" -eq 0 ]
	[[ "$output" == *wrote-file*removed-sub*made-new* ]]
	[ "$(tree_state "$WS")" = "$before" ]
	[ ! -e "$WS/new" ]
	[ "$(cat "$T/target.txt")" = host ]
	# The change is there to review, not on the host.
	run sb diff --name-status
	[[ "$output" == *file.txt* ]]
}

@test "root: the host workspace is never written (nor a host file through a symlink in it)" {
	use root
	check_workspace_not_written
}

@test "nobody: the host workspace is never written (nor a host file through a symlink in it)" {
	use nobody
	check_workspace_not_written
}

# Like tree_state over several trees, but reading only the small files
# (the image's /etc, /home and scripts); a large one changed in place would
# show in its size or mtime, and fsck checks every object's content.
checkouts_state() {
	(find "$@" -printf '%p %y %m %U %s %T@ %l\n' | LC_ALL=C sort &&
		find "$@" -type f -size -64k -exec sha256sum {} + | LC_ALL=C sort) | sha256sum
}

check_image_not_written() {
	local before dirs
	dirs=("$STORE"/checkouts/*)
	before=$(checkouts_state "${dirs[@]}")
	# As root the image's system files belong to inside root and are
	# refused; as nobody they belong to the agent and the writes succeed,
	# into the run's upper only. /home/agent is the agent's either way.
	run sb run --image python -w "$WS" -- sh -c '
		echo evil > /home/agent/evil && echo wrote-home
		echo "alias ls=evil" >> /home/agent/.profile && echo wrote-profile
		echo evil > /bin/evil && chmod 4755 /bin/evil
		echo "evil::0:0::/:/bin/sh" >> /etc/passwd
		rm -f /bin/cat; ln -sf /bin/evil /usr/bin/python3
		echo done'
	[ "$status" -eq 0 ]
	[[ "$output" == *wrote-home*wrote-profile*done* ]]
	run sb run --image python -w "$WS" -- sh -c '
		ls /home/agent/evil /bin/evil 2>&1; grep -c evil /home/agent/.profile /etc/passwd
		ls -l /usr/bin/python3; cat /workspace/file.txt; python3 -c "print(6*7)"'
	[[ "$output" == *"/home/agent/evil: No such file"* ]]
	[[ "$output" == *"/bin/evil: No such file"* ]]
	[[ "$output" == *"/home/agent/.profile:0"* ]]
	[[ "$output" == *"/etc/passwd:0"* ]]
	[[ "$output" == *original*42* ]]
	[ "$(checkouts_state "${dirs[@]}")" = "$before" ]
	run sb fsck
	[ "$status" -eq 0 ]
}

@test "root: writes to the image are not seen by the next run; the store's checkout is unchanged" {
	use root
	check_image_not_written
}

@test "nobody: writes to the image are not seen by the next run; the store's checkout is unchanged" {
	use nobody
	check_image_not_written
}

# ---- system calls -----------------------------------------------------

PROBES="keyctl add_key bpf io_uring unshare-user unshare-ns clone-user mount ptrace1
write-proc1-exe write-proc1-mem setuid0 chroot tiocsti userfaultfd perf kexec open-by-handle"

check_syscalls_refused() {
	local a
	# shellcheck disable=SC2086
	run sb run --image busybox -w "$WS" "${PROBE[@]}" -- sh -c '
		for a in "$@"; do /probe "$a" || echo "BROKE OUT: $a rc=$?"; done' sh $PROBES
	[ "$status" -eq 0 ]
	[[ "$output" != *"BROKE OUT"* ]]
	[[ "$output" != *": OK"* ]]
	for a in $PROBES; do
		[[ "$output" == *"$a: E"* ]] || { echo "no result for $a"; return 1; }
	done
	# The probe does report success when something is allowed.
	run sb run --image busybox -w "$WS" "${PROBE[@]}" -- /probe alloc 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"alloc: OK"* ]]
}

@test "root: mount, unshare -U, keyctl, bpf, io_uring_setup, ptrace of PID 1, writing /proc/1/exe... are refused" {
	use root
	check_syscalls_refused
}

@test "nobody: mount, unshare -U, keyctl, bpf, io_uring_setup, ptrace of PID 1, writing /proc/1/exe... are refused" {
	use nobody
	check_syscalls_refused
}

# ---- pid 1's cgroup fds -------------------------------------------------

# On cgroup v1, pid 1 holds fds of the parent cgroups' "tasks" files until
# the agent is gone (it leaves the run's cgroups by them). The agent must
# not reach them, nor make pid 1 leave early: either would take it out of
# its limits. Inside, the run's cgroup is the cgroup namespace's root, "/".
# The live check is that /proc/1/fd cannot even be listed: that is what
# pid 1 being not dumpable gives (as nobody, where the agent's uid is pid
# 1's, a dumpable pid 1 fails it). Writing through /proc/1/fd/N would
# reopen the file with the agent's credentials, which host root's 0644
# tasks files refuse anyway: a second, weaker line.
check_cgroup_fds_unreachable() {
	run sb run --image busybox -w "$WS" -- sh -c '
		for fd in 3 4 5 6 7 8; do
			ls -l /proc/1/fd/$fd 2>/dev/null && echo LISTED-$fd
			(echo 0 >/proc/1/fd/$fd) 2>/dev/null && echo WROTE-$fd
			(echo $$ >/proc/1/fd/$fd) 2>/dev/null && echo WROTE-$fd
		done
		kill -CHLD 1; kill -WINCH 1; kill -CONT 1; sleep 0.3
		grep -E ":(memory|pids):" /proc/self/cgroup
		echo done'
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
	[[ "$output" != *LISTED* ]]
	[[ "$output" != *WROTE* ]]
	# Still at the root of the cgroup namespace: in the run's cgroups.
	while read -r line; do
		case "$line" in *:memory:* | *:pids:*) [ "${line##*:}" = / ] ;; esac
	done <<<"$output"
}

@test "root: the agent cannot reach pid 1's cgroup fds or make it leave the run's cgroups" {
	use root
	check_cgroup_fds_unreachable
}

@test "nobody: the agent cannot reach pid 1's cgroup fds or make it leave the run's cgroups" {
	use nobody
	check_cgroup_fds_unreachable
}

@test "a RUN step, root in the build sandbox, cannot reach pid 1's cgroup fds either" {
	require_root
	ctx=$(mktemp -d "$AIRLOCK_TEST_TMP/runfd.XXXXXX")
	cat >"$ctx/r.recipe" <<'R'
FROM busybox
RUN sleep 0.3; for fd in 3 4 5 6 7 8; do (echo 0 >/proc/1/fd/$fd) 2>/dev/null && exit 9; ls /proc/1/fd/$fd 2>/dev/null && exit 8; done; grep -E ':(memory|pids):' /proc/self/cgroup | grep -v ':/$' && exit 7; true
R
	run "$AIRLOCK" --store "$ROOT_STORE" build --no-cache "$ctx/r.recipe"
	[ "$status" -eq 0 ]
}

# ---- network ----------------------------------------------------------

# Listens on the host's 127.0.0.1, on all addresses and on an abstract
# unix socket; every connection is appended to $T/hits.
start_listener() {
	python3 - "$T" <<'PY' &
import os, select, socket, sys
t = sys.argv[1]
lo = socket.socket(); lo.bind(("127.0.0.1", 0)); lo.listen(8)
any_ = socket.socket(); any_.bind(("0.0.0.0", 0)); any_.listen(8)
un = socket.socket(socket.AF_UNIX); un.bind("\0airlock-test-%d" % os.getpid()); un.listen(8)
with open(t + "/ports.tmp", "w") as f:
    f.write("%d %d airlock-test-%d\n" % (lo.getsockname()[1], any_.getsockname()[1], os.getpid()))
os.rename(t + "/ports.tmp", t + "/ports")
while True:
    for s in select.select([lo, any_, un], [], [])[0]:
        c, _ = s.accept()
        with open(t + "/hits", "a") as f:
            f.write("hit\n")
        c.close()
PY
	BG_PIDS+=($!)
	local i
	for ((i = 0; i < 50; i++)); do
		[ -e "$T/ports" ] && break
		sleep 0.1
	done
	read -r LO_PORT ANY_PORT ABSTRACT <"$T/ports"
	HOST_IP=$(ip -o -4 addr show scope global | awk '{sub("/.*", "", $4); print $4; exit}')
}

check_no_host_network() {
	start_listener
	# The listener works from the host.
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$LO_PORT"
	for ((i = 0; i < 20; i++)); do [ -s "$T/hits" ] && break; sleep 0.1; done
	[ "$(wc -l <"$T/hits")" = 1 ]
	run sb run --image busybox -w "$WS" "${PROBE[@]}" -- sh -c "
		/probe connect 127.0.0.1 $LO_PORT; /probe connect 127.0.0.1 $ANY_PORT
		/probe connect ::1 $ANY_PORT
		${HOST_IP:+/probe connect $HOST_IP $ANY_PORT}
		/probe connect-unix @$ABSTRACT
		wget -q -T 2 -O- http://127.0.0.1:$LO_PORT/ 2>&1 || echo wget-failed
		ip -o link 2>/dev/null | cut -d: -f2
		nc -l -p 4321 >/tmp/got & sleep 0.3; echo loopback-works | nc 127.0.0.1 4321; wait
		cat /tmp/got
		echo done"
	[ "$status" -eq 0 ]
	[[ "$output" == *done* ]]
	# The sandbox's own loopback is up (as root airlock brings it up from
	# outside, as nobody the sandbox does).
	[[ "$output" == *loopback-works* ]]
	[[ "$output" != *": OK"* ]]
	[[ "$output" == *"connect: ECONNREFUSED"* ]]
	[[ "$output" == *wget-failed* ]]
	[[ "$output" != *eth* ]]
	sleep 0.2
	[ "$(wc -l <"$T/hits")" = 1 ]
}

@test "root: a listener on the host's 127.0.0.1 (or any host address, or an abstract socket) is unreachable" {
	use root
	check_no_host_network
}

@test "nobody: a listener on the host's 127.0.0.1 (or any host address, or an abstract socket) is unreachable" {
	use nobody
	check_no_host_network
}

# ---- limits -----------------------------------------------------------

check_pids_limit() {
	run sb run --image busybox -w "$WS" --pids 50 "${PROBE[@]}" -- /probe fork 200
	[ "$status" -eq 0 ]
	[[ "$output" == *"fork: EAGAIN"* ]]
	got=$(printf '%s\n' "$output" | sed -n 's/^fork: \([0-9]*\) of 200$/\1/p')
	[ "$got" -lt 50 ]
	# A real fork bomb: airlock returns (the bomb's leader exits at once
	# and init kills the rest), and nothing of it is left on the host.
	# Its processes are forks of sh: they all carry the marker in argv.
	local marker="bomb-$$-$RANDOM"
	start=$(date +%s)
	run timeout 60 "${SB[@]}" run --image busybox -w "$WS" --pids 50 --timeout 10 -- \
		sh -c ": $marker; bomb() { bomb | bomb & }; bomb; sleep 1; echo leader-done"
	[[ "$output" == *"airlock: run"* ]]
	[ $(($(date +%s) - start)) -lt 20 ]
	for ((i = 0; i < 50; i++)); do
		[ "$(ps -u "$HOST_UID" -o args= | grep -cF -- "$marker")" = 0 ] && return 0
		sleep 0.1
	done
	ps -u "$HOST_UID" -o pid,ppid,stat,args
	return 1
}

@test "root: a fork bomb stops at --pids and airlock returns" {
	use root
	check_pids_limit
}

@test "nobody: a fork bomb stops at --pids and airlock returns" {
	use nobody
	check_pids_limit
}

check_memory_limit() {
	run sb run --image busybox -w "$WS" --memory 64M "${PROBE[@]}" -- /probe alloc 256
	[[ "$output" != *"alloc: OK"* ]]
	# Killed by the OOM killer (cgroup), or ENOMEM (rlimit).
	[ "$status" -eq 137 ] || { [ "$status" -eq 0 ] && [[ "$output" == *"alloc: ENOMEM"* ]]; }
	[[ "$output" == *"airlock: run"* ]]
	run sb show --json
	[ "$status" -eq 0 ]
	[[ "$output" == *'"memory_bytes": 67108864'* ]]
	run sb run --image busybox -w "$WS" --memory 64M "${PROBE[@]}" -- /probe alloc 16
	[ "$status" -eq 1 ]
}

@test "root: allocating past --memory is killed or ENOMEM, never success" {
	use root
	check_memory_limit
}

@test "nobody: allocating past --memory is killed or ENOMEM, never success" {
	use nobody
	check_memory_limit
}

check_disk_limit() {
	before=$(du -sk "$STORE" | cut -f1)
	run sb run --image busybox -w "$WS" --disk 8M -- sh -c '
		dd if=/dev/urandom of=/workspace/big bs=1M count=20 2>&1; echo ws-rc=$?
		rm -f /workspace/big
		dd if=/dev/urandom of=/tmp/big bs=1M count=20 2>&1; echo tmp-rc=$?'
	[ "$status" -eq 0 ]
	[[ "$output" == *"No space left"* ]]
	[[ "$output" == *ws-rc=1* ]]
	[[ "$output" == *tmp-rc=1* ]]
	after=$(du -sk "$STORE" | cut -f1)
	echo "store grew by $((after - before)) KiB"
	[ $((after - before)) -lt 10240 ]
	[ ! -e "$WS/big" ]
}

@test "root: writing past --disk is ENOSPC inside and the host store does not grow by it" {
	use root
	check_disk_limit
}

@test "nobody: writing past --disk is ENOSPC inside and the host store does not grow by it" {
	use nobody
	check_disk_limit
}

check_timeout() {
	start=$(date +%s)
	run sb run --image busybox -w "$WS" --timeout 1 -- sh -c 'trap "" TERM INT HUP; setsid sleep 1007 & sleep 1007'
	[ "$status" -eq 124 ]
	[ $(($(date +%s) - start)) -lt 10 ]
	wait_gone "sleep 1007" 30
}

@test "root: nothing outlives --timeout (even one that ignores SIGTERM or calls setsid)" {
	use root
	check_timeout
}

@test "nobody: nothing outlives --timeout (even one that ignores SIGTERM or calls setsid)" {
	use nobody
	check_timeout
}

check_kill9() {
	"${SB[@]}" run --image busybox -w "$WS" -- sh -c 'trap "" TERM HUP; setsid sleep 1008 & sleep 1008' \
		</dev/null >"$T/out" 2>&1 3>&- &
	local pid=$!
	BG_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[ "$(host_procs "sleep 1008")" = 2 ] && break
		sleep 0.05
	done
	[ "$(host_procs "sleep 1008")" = 2 ]
	# $! is airlock itself (setpriv and env exec it).
	[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$AIRLOCK")" ]
	kill -9 "$pid"
	wait "$pid" || true
	wait_gone "sleep 1008" 50
	run sb fsck
	[ "$status" -eq 0 ]
}

@test "root: kill -9 of airlock leaves no sandbox process behind; fsck passes" {
	use root
	check_kill9
}

@test "nobody: kill -9 of airlock leaves no sandbox process behind; fsck passes" {
	use nobody
	check_kill9
}

# ---- everyday tools ---------------------------------------------------

check_everyday_tools() {
	run sb run --image python -w "$WS" -- sh -c '
		cd /tmp && python3 -c "import json, sqlite3; print(\"py\", json.dumps([6*7]))" &&
		echo "x=1" | sh -s && echo sh-ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *'py [42]'*sh-ok* ]]
	# git and gcc from the host's /usr, read-only, over the python image
	# (no shipped image has gcc).
	run sb run --image python -w "$WS" --mount /usr:/usr:ro -- sh -c '
		cd /tmp && git init -q r && cd r && echo a > a && git add a &&
		git -c user.email=a@b -c user.name=n commit -qm m && git log --format=%s && echo git-ok &&
		printf "#include <stdio.h>\nint main(void){puts(\"cc-ok\");return 0;}\n" > t.c &&
		gcc -O2 -o t t.c && ./t'
	[ "$status" -eq 0 ]
	[[ "$output" == *git-ok*cc-ok* ]]
}

@test "root: sh, python3, git and gcc work inside" {
	use root
	check_everyday_tools
}

@test "nobody: sh, python3, git and gcc work inside" {
	use nobody
	check_everyday_tools
}

# ---- --mount ----------------------------------------------------------

check_mounts() {
	mkdir -p "$T/m"
	printf 'host-data\n' >"$T/m/f"
	chmod 777 "$T/m"
	chmod 666 "$T/m/f"
	for spec in "$T/m:/data" "$T/m:/data:ro"; do
		run sb run --image busybox -w "$WS" --mount "$spec" -- sh -c '
			cat /data/f; echo x >> /data/f && echo WROTE; touch /data/new && echo CREATED; echo done'
		[ "$status" -eq 0 ]
		[[ "$output" == *host-data*done* ]]
		[[ "$output" != *WROTE* ]]
		[[ "$output" != *CREATED* ]]
		[[ "$output" == *"Read-only file system"* ]]
		[[ "$output" != *bypass* ]]
	done
	[ "$(cat "$T/m/f")" = host-data ]
	[ ! -e "$T/m/new" ]
	run sb run --image busybox -w "$WS" --mount "$T/m:/data:rw" -- sh -c 'echo rw >> /data/f && echo WROTE'
	[ "$status" -eq 0 ]
	[[ "$output" == *WROTE* ]]
	[[ "$output" == *"warning"*":rw is writable"*"bypass review"* ]]
	[ "$(tail -n1 "$T/m/f")" = rw ]
	run sb show --json
	echo "$output" | python3 -c '
import json, sys
m = json.load(sys.stdin)["mounts"]
assert len(m) == 1 and m[0]["target"] == "/data" and m[0]["rw"] is True, m'
}

@test "root: --mount is read-only unless :rw; :rw warns and is recorded" {
	use root
	check_mounts
}

@test "nobody: --mount is read-only unless :rw; :rw warns and is recorded" {
	use nobody
	check_mounts
}

check_stdin() {
	run bash -c 'echo typed | "$@" run --image busybox -w "$0" -i -- cat' "$WS" "${SB[@]}"
	[ "$status" -eq 0 ]
	[[ "$output" == *typed* ]]
	run bash -c 'echo typed | "$@" run --image busybox -w "$0" -- cat' "$WS" "${SB[@]}"
	[ "$status" -eq 0 ]
	[[ "$output" != *typed* ]]
}

@test "root: stdin is connected with -i only" {
	use root
	check_stdin
}

@test "nobody: stdin is connected with -i only" {
	use nobody
	check_stdin
}

# ---- -t: a terminal ---------------------------------------------------

# tty_start ARGS...: runs `airlock run -t ARGS` in a detached tmux pane
# (80x24), recording the outer terminal's settings before and after and
# airlock's exit status in $T/rc.
tty_start() {
	command -v tmux >/dev/null || skip "needs tmux"
	TMUX_SOCK=$T/tmux.sock
	local q
	printf -v q '%q ' "${SB[@]}" run -t --image busybox -w "$WS" "$@"
	cat >"$T/tty.sh" <<EOF
#!/bin/bash
stty -g >'$T/before'
$q
echo "rc=\$?" >'$T/rc'
stty -g >'$T/after'
exec sleep 1000
EOF
	chmod 755 "$T/tty.sh"
	rm -f "$T/rc"
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s t -x 80 -y 24 "$T/tty.sh"
	chmod 777 "$TMUX_SOCK" 2>/dev/null || true
	PANE_TTY=$(tmux -S "$TMUX_SOCK" display -p -t t '#{pane_tty}')
}

tty_keys() {
	tmux -S "$TMUX_SOCK" send-keys -t t "$@"
}

# tty_wait TEXT: until the pane shows TEXT (5 s).
tty_wait() {
	local i
	for ((i = 0; i < 50; i++)); do
		tmux -S "$TMUX_SOCK" capture-pane -p -t t | grep -qF -- "$1" && return 0
		sleep 0.1
	done
	echo "pane never showed '$1':" >&2
	tmux -S "$TMUX_SOCK" capture-pane -p -t t >&2
	return 1
}

# tty_done RC: airlock exited with RC and the outer terminal is as before.
tty_done() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s "$T/rc" ] && [ -s "$T/after" ] && break
		sleep 0.1
	done
	tmux -S "$TMUX_SOCK" capture-pane -p -t t
	[ "$(cat "$T/rc")" = "rc=$1" ]
	[ "$(cat "$T/before")" = "$(cat "$T/after")" ]
}

check_tty_session() {
	tty_start "${PROBE[@]}" -- sh
	tty_wait '/workspace $'
	# The outer terminal is in raw mode while the agent runs.
	stty -a -F "$PANE_TTY" | grep -q -- '-icanon'
	stty -a -F "$PANE_TTY" | grep -q -- '-echo '
	# The agent's own pty, from the sandbox's devpts: ttyname() finds
	# it, and the agent may reopen it by name.
	tty_keys 'tty; stty size; echo re""opened > $(tty)' Enter
	tty_wait '/dev/pts/0'
	tty_wait '24 80'
	tty_wait 'reopened'
	# No keystrokes pushed into the terminal's input (TIOCSTI).
	tty_keys '/probe tiocsti' Enter
	tty_wait 'tiocsti: EPERM'
	tty_keys '/probe tiocsti-hi' Enter
	tty_wait 'tiocsti-hi: EPERM'
	tty_keys 'echo "[$(stty -a | grep -o -- "-*icanon")]"' Enter
	tty_wait '[icanon]'
	tmux -S "$TMUX_SOCK" resize-window -t t -x 100 -y 30
	tty_keys 'stty size' Enter
	tty_wait '30 100'
	# Ctrl-C reaches the agent's foreground job; the shell and airlock live.
	tty_keys 'sleep 100' Enter
	sleep 0.5
	tty_keys C-c
	tty_keys 'echo alive-$((6*7))' Enter
	tty_wait 'alive-42'
	tty_keys 'exit 3' Enter
	tty_done 3
}

@test "root: -t: a pty, raw mode outside, window size changes forwarded, Ctrl-C to the agent, terminal restored" {
	use root
	check_tty_session
}

@test "nobody: -t: a pty, raw mode outside, window size changes forwarded, Ctrl-C to the agent, terminal restored" {
	use nobody
	check_tty_session
}

check_tty_exit_paths() {
	# Ctrl-C kills the agent: airlock reports 128+SIGINT.
	tty_start -- sleep 100
	sleep 0.5
	tty_keys C-c
	tty_done 130
	tmux -S "$TMUX_SOCK" kill-server
	# The agent kills itself.
	tty_start -- sh -c 'kill -9 $$'
	tty_done 137
	tmux -S "$TMUX_SOCK" kill-server
	# --timeout.
	tty_start --timeout 1 -- sleep 100
	tty_done 124
	tmux -S "$TMUX_SOCK" kill-server
	# airlock gets SIGTERM (forwarded; the agent dies of it).
	tty_start -- sleep 1009
	for ((i = 0; i < 50; i++)); do
		[ "$(host_procs "sleep 1009")" = 1 ] && break
		sleep 0.1
	done
	# The pane's shell runs airlock as its only child (setpriv execs it).
	pid=$(pgrep -P "$(tmux -S "$TMUX_SOCK" display -p -t t '#{pane_pid}')")
	[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$AIRLOCK")" ]
	kill -TERM "$pid"
	tty_done 143
	tmux -S "$TMUX_SOCK" kill-server
	# An airlock error before the command starts.
	tty_start --image no-such-image -- true
	tty_done 125
}

@test "root: -t: the outer terminal is restored on every exit path" {
	use root
	check_tty_exit_paths
}

@test "nobody: -t: the outer terminal is restored on every exit path" {
	use nobody
	check_tty_exit_paths
}
