#!/usr/bin/env bats
# The five invariants of DESIGN.md, at least one test each, through the
# CLI against the real binary:
#  1. nothing leaves without review;  2. fresh per invocation;
#  3. content-addressed and reproducible;  4. the agent is untrusted;
#  5. nothing is lost.

load helpers

setup() {
	shared_busybox_store
	WS=$(mktemp -d "$AIRLOCK_TEST_TMP/ws.XXXXXX")
	printf 'hello\n' >"$WS/a.txt"
	mkdir -p "$WS/src/deep"
	printf 'int main(void) { return 0; }\n' >"$WS/src/main.c"
	printf '#!/bin/sh\necho tool\n' >"$WS/src/deep/tool.sh"
	chmod 755 "$WS/src/deep/tool.sh"
	ln -s src/main.c "$WS/link"
	CTX=$(mktemp -d "$AIRLOCK_TEST_TMP/ctx.XXXXXX")
}

teardown() {
	for d in "$WS" "$CTX" ${PRIVATE_STORE:-}; do
		[ -e "$d" ] && chmod -R u+w "$d" 2>/dev/null
		rm -rf "$d"
	done
	true
}

# agent SCRIPT [IMAGE]: sh -c SCRIPT on $WS; $RUN is the run id.
agent() {
	run --separate-stderr al run --image "${2:-busybox}" -w "$WS" -- sh -c "$1"
	RUN=$(printf '%s\n' "$stderr" | sed -n 's/^airlock: run \([^ ]*\).*/\1/p' | head -n1)
	[ -n "$RUN" ] || { printf 'no run id; stderr:\n%s\n' "$stderr" >&2; false; }
}

tree_state() {
	(cd "$1" && find . -printf '%p %y %m %u %g %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort) | sha256sum
}

# A private copy of the shared store, for tests that corrupt or kill.
private_store() {
	PRIVATE_STORE=$(mktemp -d "$AIRLOCK_TEST_TMP/store.XXXXXX")
	cp -a "$AIRLOCK_STORE/." "$PRIVATE_STORE/"
	export AIRLOCK_STORE="$PRIVATE_STORE"
}

# The store file of object sha256:<hex>.
object_file() {
	local hex=${1#sha256:}
	printf '%s/objects/%s/%s\n' "$AIRLOCK_STORE" "${hex:0:2}" "${hex:2}"
}

# ---- 1. Nothing leaves without review ----

@test "invariant 1: a run that rewrites everything leaves the host workspace byte-identical" {
	git -C "$WS" init -q
	git -C "$WS" add -A
	git -C "$WS" -c user.name=t -c user.email=t@example.com commit -qm init
	before=$(tree_state "$WS")
	agent 'find . -type f | while read -r f; do echo pwned > "$f"; done
		chmod -R 777 . ; touch -d "2001-01-01" $(find .)
		rm -rf src .git/objects; ln -sf /etc/passwd link; mkdir -p new && echo n > new/f
		echo "[core] hooksPath = /tmp" >> .git/config; ls -A'
	[ "$status" -eq 0 ]
	[ "$(tree_state "$WS")" = "$before" ]
	git -C "$WS" fsck --no-progress
	[ -z "$(git -C "$WS" status --porcelain)" ]
}

@test "invariant 1: no network: a listener on the host's 127.0.0.1 is not reachable" {
	python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); s.settimeout(8)
try:
    c, _ = s.accept(); print("CONNECTED", flush=True)
except OSError:
    print("nobody", flush=True)
' >"$CTX/listener" &
	lpid=$!
	for _ in $(seq 50); do [ -s "$CTX/listener" ] && break; sleep 0.1; done
	port=$(head -n1 "$CTX/listener")
	[ -n "$port" ]
	agent "nc -w 2 127.0.0.1 $port </dev/null && echo REACHED; ip -o link | cut -d: -f2"
	[[ "$output" != *REACHED* ]]
	[[ "$output" == *lo* ]] && [ "$(printf '%s\n' "$output" | grep -vc '^ *lo$')" -eq 0 ]
	kill "$lpid" 2>/dev/null || true
	wait "$lpid" 2>/dev/null || true
	(! grep -q CONNECTED "$CTX/listener")
	run al show "$RUN" --json
	[[ "$output" == *'"network": "none"'* ]]
}

@test "invariant 1: only review and apply change the workspace" {
	before=$(tree_state "$WS")
	agent 'echo changed > a.txt; echo new > new.txt'
	[ "$(tree_state "$WS")" = "$before" ]
	run al diff "$RUN" --stat
	[ "$(tree_state "$WS")" = "$before" ]
	run al review "$RUN" --reject a.txt
	run al apply "$RUN" --check
	[ "$(tree_state "$WS")" = "$before" ]
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ "$(cat "$WS/a.txt")" = hello ] && [ "$(cat "$WS/new.txt")" = new ]
	run al review "$RUN" --accept a.txt
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ "$(cat "$WS/a.txt")" = changed ]
}

# ---- 2. Fresh per invocation ----

@test "invariant 2: nothing one run writes in /tmp, \$HOME, /workspace or image paths is seen by the next" {
	mkdir -p "$CTX/home" "$CTX/app"
	printf 'image file\n' >"$CTX/app/orig"
	printf 'root:x:0:0::/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n' >"$CTX/passwd"
	cat >"$CTX/fresh.recipe" <<-'R'
	FROM busybox
	COPY --mode=0644 passwd /etc/passwd
	COPY --owner=1000:1000 home /home/agent
	COPY --owner=1000:1000 app /opt/app
	R
	run al build -t fresh "$CTX/fresh.recipe"
	[ "$status" -eq 0 ]
	agent 'for d in /tmp "$HOME" /workspace /opt/app; do echo leak > "$d/leak" || exit 3; done
		echo changed > /opt/app/orig; mkdir /tmp/dir; echo HOME=$HOME; echo done' fresh
	[ "$status" -eq 0 ]
	[[ "$output" == *"HOME=/home/agent"* ]]
	[[ "$output" == *done* ]]
	agent 'for d in /tmp "$HOME" /workspace /opt/app; do [ -e "$d/leak" ] && echo "SEEN $d"; done
		[ -e /tmp/dir ] && echo "SEEN /tmp/dir"; cat /opt/app/orig; true' fresh
	[ "$status" -eq 0 ]
	[[ "$output" != *SEEN* ]]
	[[ "$output" == *"image file"* ]]
	[ ! -e "$WS/leak" ]
	run al rmi fresh
}

# ---- 3. Content-addressed and reproducible ----

@test "invariant 3: a rebuild in another store, under another umask, gives the same digest" {
	mkdir -p "$CTX/app"
	printf 'x\n' >"$CTX/app/f"
	cat >"$CTX/r.recipe" <<-'R'
	FROM busybox
	COPY app /opt/app
	RUN echo built > /opt/built && chmod 640 /opt/built
	R
	run al build "$CTX/r.recipe"
	[ "$status" -eq 0 ]
	first=$(last_line)
	private_store
	rm -rf "$AIRLOCK_STORE/refs/cache"
	run sh -c "umask 077; cd /; '$AIRLOCK' build --no-cache '$CTX/r.recipe'"
	[ "$status" -eq 0 ]
	[ "$(last_line)" = "$first" ]
	# The shipped busybox image too, against the recorded digest.
	[ "$BUSYBOX_DIGEST" = "$(cat "$AIRLOCK_TOP/images/busybox.digest")" ]
}

@test "invariant 3: replay of a deterministic run gives the same output digest" {
	agent 'sed s/hello/bye/ a.txt > b.txt; mkdir -p out; ls src > out/list; echo $HOME $PATH > env.txt'
	orig=$RUN
	out=$(al show "$orig" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["output_tree"])')
	run --separate-stderr al replay "$orig" --json
	[ "$status" -eq 0 ]
	printf '%s' "$output" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["same"] and r["expected"] == r["got"] == sys.argv[1], r' "$out"
}

@test "invariant 3: the run record names image and input digests that fsck verifies" {
	private_store
	agent 'echo out > o.txt'
	run al show "$RUN" --json
	[ "$status" -eq 0 ]
	read -r image input < <(printf '%s' "$output" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["image"], r["input_tree"])')
	[ "$image" = "$BUSYBOX_DIGEST" ]
	[ -f "$(object_file "$image")" ] && [ -f "$(object_file "$input")" ]
	run al fsck
	[ "$status" -eq 0 ]
	# The input tree object gone: fsck names what the record misses.
	rm -f "$(object_file "$input")"
	run al fsck
	[ "$status" -eq 1 ]
	[[ "$output" == *"${input#sha256:}"* ]]
}

# ---- 4. The agent is untrusted ----

@test "invariant 4: the agent runs as uid 1000 with no capabilities, no_new_privs and seccomp" {
	agent 'id -u; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'
	[ "$status" -eq 0 ]
	[[ "$output" == 1000* ]]
	[[ "$output" == *$'CapEff:\t0000000000000000'* ]]
	[[ "$output" == *$'CapPrm:\t0000000000000000'* ]]
	[[ "$output" == *$'NoNewPrivs:\t1'* ]]
	[[ "$output" == *$'Seccomp:\t2'* ]]
	agent 'mount -t tmpfs none /tmp && echo MOUNTED; mount -o remount,rw /workspace && echo REMOUNTED
		unshare -U true && echo UNSHARED; chroot / true && echo CHROOTED; echo x > /bin/x && echo WROTE; true'
	[[ "$output" != *MOUNTED* ]] && [[ "$output" != *UNSHARED* ]]
	[[ "$output" != *CHROOTED* ]] && [[ "$output" != *WROTE* ]]
}

@test "invariant 4: hostile output is held back: an escaping symlink needs review --accept" {
	agent 'rm link; ln -s ../../../../etc/shadow link; ln -s /root root-link; echo ok > a.txt'
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[[ "$output" == *held*link* ]]
	[ "$(readlink "$WS/link")" = src/main.c ] && [ ! -e "$WS/root-link" ]
	[ "$(cat "$WS/a.txt")" = ok ]
	run al review "$RUN" --accept root-link
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ "$(readlink "$WS/root-link")" = /root ]
	[ "$(readlink "$WS/link")" = src/main.c ]
}

# ---- 5. Nothing is lost ----

@test "invariant 5: kill -9 of a build mid-way, then fsck passes and a rebuild works" {
	private_store
	# A unique sleep to find the build's RUN step among the processes.
	nap="2.$$$RANDOM"
	cat >"$CTX/slow.recipe" <<-R
	FROM busybox
	RUN i=0; while [ \$i -lt 300 ]; do echo \$i > /opt-\$i; i=\$((i+1)); done; sleep $nap
	R
	"$AIRLOCK" build -t slow "$CTX/slow.recipe" >/dev/null 2>&1 &
	bpid=$!
	seen=0
	for _ in $(seq 200); do pgrep -f "sleep $nap" >/dev/null && seen=1 && break; sleep 0.05; done
	kill -9 "$bpid"
	wait "$bpid" || true
	# The RUN step had started (a build that hangs before it fails here).
	[ "$seen" = 1 ]
	# The sandbox died with it.
	sleep 0.2
	(! pgrep -f "sleep $nap")
	run al fsck
	[ "$status" -eq 0 ]
	run al images
	[[ "$output" != *slow* ]]
	run timeout 60 "$AIRLOCK" build -t slow "$CTX/slow.recipe"
	[ "$status" -eq 0 ]
	[[ "$(last_line)" =~ ^sha256:[0-9a-f]{64}$ ]]
	run al fsck
	[ "$status" -eq 0 ]
}

@test "invariant 5: kill -9 of an apply, then a second apply completes; each file wholly old or new" {
	agent 'mkdir -p gen && cd gen && i=0; while [ $i -lt 2000 ]; do echo "new $i" > f$i; i=$((i+1)); done; echo changed > ../a.txt'
	[ "$status" -eq 0 ]
	strace -qq -o /dev/null -e trace=renameat2 -e inject=renameat2:delay_exit=500 \
		"$AIRLOCK" apply "$RUN" >/dev/null 2>&1 &
	tracer=$!
	for _ in $(seq 400); do
		[ "$(ls "$WS/gen" 2>/dev/null | wc -l)" -ge 100 ] && break
		sleep 0.05
	done
	kill -9 "$(pgrep -P "$tracer")"
	wait "$tracer" || true
	n=$(ls "$WS/gen" | wc -l)
	[ "$n" -lt 2000 ]
	for f in "$WS"/gen/f*; do
		i=${f##*/f}
		[ "$(cat "$f")" = "new $i" ]
	done
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[[ "$output" == *"interrupted apply was completed"* ]]
	[ "$(ls -A "$WS/gen" | wc -l)" -eq 2000 ]
	[ "$(cat "$WS/a.txt")" = changed ]
	[ -z "$(find "$WS" -name '.airlock-tmp-*')" ]
}

@test "invariant 5: a corrupted object is found by fsck and refused by checkout and run" {
	private_store
	# The object of the image's busybox binary (its name is the sha256 of
	# its bytes); then no checkout left to fall back on.
	co=$(al checkout busybox | tail -n1)
	hex=$(sha256sum "$co/bin/busybox" | cut -d' ' -f1)
	victim=$(object_file "$hex")
	[ -f "$victim" ]
	chmod -R u+w "$AIRLOCK_STORE/checkouts" "$AIRLOCK_STORE/files"
	rm -rf "$AIRLOCK_STORE/checkouts" "$AIRLOCK_STORE/files"
	mkdir "$AIRLOCK_STORE/checkouts" "$AIRLOCK_STORE/files"
	chmod u+w "$victim"
	size=$(stat -c %s "$victim")
	printf 'CORRUPT' | dd of="$victim" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	run al fsck
	[ "$status" -eq 1 ]
	[[ "$output" == *"$hex"* ]]
	run al checkout busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *corrupt* ]] || [[ "$output" == *"$hex"* ]]
	[ -z "$(ls "$AIRLOCK_STORE/checkouts")" ]
	run al run --image busybox -w "$WS" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *corrupt* ]] || [[ "$output" == *"$hex"* ]]
	# Truncated to nothing: the same.
	: >"$victim"
	run al run --image busybox -w "$WS" -- true
	[ "$status" -eq 125 ]
}

@test "invariant 5: a full disk fails a build with a clear error, no image ref, and fsck passes" {
	require_root
	small=$(mktemp -d "$AIRLOCK_TEST_TMP/small.XXXXXX")
	mount -t tmpfs -o size=3m airlock-small "$small"
	chmod 755 "$small"
	run al --store "$small" build "$AIRLOCK_TOP/recipes/busybox.recipe"
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left"* ]]
	[[ "$(last_line)" != sha256:* ]]
	run al --store "$small" images --json
	[ "$status" -eq 0 ]
	[[ "$output" != *busybox* ]]
	[ -z "$(ls "$small/refs/tags" 2>/dev/null)" ]
	run al --store "$small" fsck
	[ "$status" -eq 0 ]
	umount "$small"
	rmdir "$small"
}
