#!/usr/bin/env bats
# The snapshotter through the CLI: a run's changes as a patch (diff), the
# decisions (review), and what reaches the host (apply, commit), with the
# agent's output treated as hostile: symlink escapes, .git/, control
# characters in names and contents, fifos, setuid bits, huge sparse files,
# type changes, deep nesting, host edits during the run, kill -9 during an
# apply. Every agent is a shell script in the busybox image.

load helpers

setup() {
	shared_busybox_store
	WS=$(mktemp -d "$AIRLOCK_TEST_TMP/ws.XXXXXX")
	printf 'hello\n' >"$WS/a.txt"
	printf 'keep\n' >"$WS/b.txt"
	mkdir -p "$WS/d/sub"
	printf 'one\n' >"$WS/d/one"
	printf 'two\n' >"$WS/d/sub/two"
}

teardown() {
	rm -rf "$WS" "$WS".*
}

# agent SCRIPT: runs sh -c SCRIPT in the busybox image on $WS; sets $RUN
# to the run id and leaves the command's status in $status.
agent() {
	run --separate-stderr al run --image busybox -w "$WS" -- sh -c "$1"
	RUN=$(printf '%s\n' "$stderr" | sed -n 's/^airlock: run \([^ ]*\).*/\1/p' | head -n1)
	[ -n "$RUN" ] || { printf 'no run id; stderr:\n%s\n' "$stderr" >&2; false; }
}

# A listing of a tree that changes if anything in it does: names, types,
# perms, sizes, mtimes, symlink targets, contents.
tree_state() {
	(cd "$1" && find . -printf '%p %y %m %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort) | sha256sum
}

# A copy of the workspace as it was before the run (for apply -w, git apply).
copy_ws() {
	rm -rf "$1"
	cp -a "$WS" "$1"
}

@test "airlock diff is accepted by git apply and gives the same tree as airlock apply" {
	printf 'line1\nline2\nline3\n' >"$WS/moved-from.txt"
	printf 'to be a link\n' >"$WS/tolink"
	copy_ws "$WS.git"
	copy_ws "$WS.al"
	agent 'set -e
		printf "hello\nworld\n" > a.txt
		rm b.txt
		mkdir -p new/deep/er && printf "n\n" > new/deep/er/file
		printf "#!/bin/sh\necho hi\n" > run.sh && chmod 755 run.sh
		chmod 755 d/one
		ln -s a.txt link
		printf "\000\001\002binary\377" > bin
		mv moved-from.txt moved-to.txt
		rm tolink && ln -s d/sub tolink
		: > empty
		rm -rf d/sub && printf "sub is a file now\n" > d/sub'
	[ "$status" -eq 0 ]
	run al diff "$RUN" --no-pager
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$WS.patch"
	(cd "$WS.git" && git apply --binary "$WS.patch")
	run al review "$RUN" --accept-all
	[ "$status" -eq 0 ]
	run al apply "$RUN" -w "$WS.al"
	[ "$status" -eq 0 ]
	diff -r --no-dereference "$WS.git" "$WS.al"
	[ "$(cd "$WS.git" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort)" = \
	  "$(cd "$WS.al" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort)" ]
	# And it is what the agent left behind.
	[ "$(cat "$WS.al/new/deep/er/file")" = n ]
	[ "$(readlink "$WS.al/tolink")" = d/sub ]
	[ -x "$WS.al/run.sh" ]
	[ ! -e "$WS.al/b.txt" ] && [ ! -e "$WS.al/moved-from.txt" ]
	cmp <(printf '\000\001\002binary\377') "$WS.al/bin"
}

@test "diff --stat marks risky changes" {
	agent 'ln -s /etc etc-link; printf "#!/bin/sh\n" > tool; chmod 755 tool; printf "x\n" > a.txt
		mkdir -p .github/workflows; echo "on: push" > .github/workflows/ci.yml'
	run al diff "$RUN" --stat
	[ "$status" -eq 0 ]
	[[ "$output" == *"etc-link"*"[!symlink-escape]"* ]]
	[[ "$output" == *"tool"*"[!exec]"* ]]
	[[ "$output" == *"ci.yml"*"[!ci]"* ]]
	line=$(printf '%s\n' "$output" | grep ' a.txt ')
	[[ "$line" != *"[!"* ]]
}

@test "diff --name-status --json parses, with hostile names kept exact" {
	agent 'printf x > "$(printf "nl\nname")"; printf y > "$(printf "esc\033[31mred")"
		printf z > "$(printf "osc\033]0;title\007")"; printf "\377\376" > "$(printf "bad\377utf8")"
		rm b.txt; ln -s /etc/passwd pw'
	run al diff "$RUN" --name-status --json
	[ "$status" -eq 0 ]
	printf '%s' "$output" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
assert doc["base"].startswith("sha256:") and doc["out"].startswith("sha256:")
ch = {c.get("path"): c for c in doc["changes"]}
assert ch["nl\nname"]["status"] == "A", ch
assert "esc\x1b[31mred" in ch and "osc\x1b]0;title\x07" in ch
assert ch["b.txt"]["status"] == "D"
assert "symlink-escape" in ch["pw"]["risk"]
hexes = [c["path_hex"] for c in doc["changes"] if "path_hex" in c]
assert bytes.fromhex(hexes[0]) == b"bad\xffutf8", hexes'
}

# No ESC but the SGR codes airlock adds: no OSC, no cursor moves, no ESC
# from a name or a content.
assert_only_sgr() {
	python3 -c '
import re, sys
data = open(sys.argv[1], "rb").read()
assert b"\x1b]" not in data, "OSC in output"
assert b"\x07" not in data, "BEL in output"
for m in re.finditer(rb"\x1b", data):
    assert re.match(rb"\x1b\[[0-9;]*m", data[m.start():]), data[m.start():m.start()+20]
' "$1"
}

@test "--color=always never emits a raw ESC from a name or a content" {
	agent 'printf "x\033]0;pwned\007y\033[2J\033[Hz\n" > a.txt
		printf "\033]8;;http://evil/\033\\\\link\n" > "$(printf "esc\033[31mred")"
		printf z > "$(printf "osc\033]0;title\007")"; printf w > "$(printf "nl\nname")"
		printf "\033[1A\r" > "$(printf "cr\rname")"'
	for fmt in "" --stat --name-status; do
		al diff "$RUN" --no-pager --color=always $fmt >"$WS.out"
		[ -s "$WS.out" ]
		assert_only_sgr "$WS.out"
	done
	al diff "$RUN" --no-pager --color=always | grep -q 'shown escaped'
	# --safe without color: no ESC at all.
	al diff "$RUN" --no-pager --safe >"$WS.out"
	(! grep -q $'\033' "$WS.out")
	# What apply and review print is escaped too.
	al apply "$RUN" --check >"$WS.out"
	assert_only_sgr "$WS.out"
	(! grep -q $'\033' "$WS.out")
}

@test "names with newline, ESC and OSC are applied with their exact bytes" {
	copy_ws "$WS.t"
	agent 'printf x > "$(printf "nl\nname")"; printf y > "$(printf "esc\033[31mred")"
		printf z > "$(printf "osc\033]0;title\007")"'
	run al review "$RUN" --accept-all
	run al apply "$RUN" -w "$WS.t"
	[ "$status" -eq 0 ]
	[ "$(cat "$WS.t/$(printf 'nl\nname')")" = x ]
	[ "$(cat "$WS.t/$(printf 'esc\033[31mred')")" = y ]
	[ "$(cat "$WS.t/$(printf 'osc\033]0;title\007')")" = z ]
	[ "$(ls -A "$WS.t" | wc -l)" -ge 6 ]
}

@test "symlinks to /etc and ../../.. and writes through them never reach the host" {
	outside=$(mktemp -d "$AIRLOCK_TEST_TMP/outside.XXXXXX")
	rel=../$(basename "$outside")
	before_out=$(tree_state "$outside")
	agent "ln -s /etc etc-link; echo pwned > etc-link/airlock-pwned
		ln -s ../../.. up; echo pwned > up/tmp/airlock-pwned; mkdir -p up/airlock-pwned-dir
		ln -s $rel out; echo pwned > out/pwned; echo pwned > /workspace/$rel/pwned2
		true"
	[ "$status" -eq 0 ]
	copy_ws "$WS.t"
	run al apply "$RUN" -w "$WS.t"
	[ "$status" -eq 0 ]
	[[ "$output" == *"held"*"etc-link"* ]]
	[[ "$output" == *"held"*"up"* ]]
	[ ! -L "$WS.t/etc-link" ] && [ ! -L "$WS.t/up" ] && [ ! -L "$WS.t/out" ]
	# Accepted by path: the links are made, nothing is written through them.
	run al review "$RUN" --accept etc-link up out
	[ "$status" -eq 0 ]
	run al apply "$RUN" -w "$WS.t"
	[ "$status" -eq 0 ]
	[ "$(readlink "$WS.t/etc-link")" = /etc ]
	[ "$(readlink "$WS.t/up")" = ../../.. ]
	[ ! -e /etc/airlock-pwned ] && [ ! -e /tmp/airlock-pwned ] && [ ! -e /airlock-pwned-dir ]
	[ "$(tree_state "$outside")" = "$before_out" ]
	[ -z "$(ls -A "$outside")" ]
	rm -rf "$outside"
}

@test "a changed symlink does not let a later write go through it" {
	# Run 1 makes d a symlink to a host directory outside; run 2, from the
	# original input, writes d/one. Applying run 1 then run 2 must not
	# write into the outside directory.
	outside=$(mktemp -d "$AIRLOCK_TEST_TMP/outside.XXXXXX")
	agent "rm -rf d; ln -s $outside d"
	r1=$RUN
	agent 'echo changed > d/one'
	r2=$RUN
	run al review "$r1" --accept-all
	run al review "$r1" --accept d
	run al apply "$r1"
	[ "$status" -eq 0 ]
	[ -L "$WS/d" ]
	run al apply "$r2"
	[ "$status" -ne 0 ]
	[ -z "$(ls -A "$outside")" ]
	rm -rf "$outside"
}

@test ".git/hooks/pre-commit is never written to the work tree, even with --accept-all" {
	git -C "$WS" init -q
	git -C "$WS" -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m init
	agent 'mkdir -p .git/hooks; printf "#!/bin/sh\ntouch /tmp/pwned\n" > .git/hooks/pre-commit
		chmod 755 .git/hooks/pre-commit; echo "[core] hooksPath = /tmp" >> .git/config; echo x > a.txt'
	[ "$status" -eq 0 ]
	run al diff "$RUN" --no-pager
	[[ "$output" != *"diff --git a/.git"* ]]
	run al review "$RUN" --accept-all
	run al review "$RUN" --accept .git/hooks/pre-commit .git/config
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[[ "$output" == *never*".git/"* ]]
	[ ! -e "$WS/.git/hooks/pre-commit" ]
	(! grep -q hooksPath "$WS/.git/config")
	[ "$(cat "$WS/a.txt")" = x ]
	run al commit "$RUN" --branch agent -m work
	[ ! -e "$WS/.git/hooks/pre-commit" ]
	(! grep -q hooksPath "$WS/.git/config")
}

@test "a fifo does not hang diff or apply and is never applied" {
	agent 'mkfifo fifo; echo x > a.txt'
	[ "$status" -eq 0 ]
	run timeout 20 "$AIRLOCK" diff "$RUN" --no-pager
	[ "$status" -eq 0 ]
	run timeout 20 "$AIRLOCK" show "$RUN" --json
	[[ "$output" == *'"fifo skipped"'* ]]
	run al review "$RUN" --accept-all
	run timeout 20 "$AIRLOCK" apply "$RUN"
	[ "$status" -eq 0 ]
	[ ! -e "$WS/fifo" ]
	[ "$(cat "$WS/a.txt")" = x ]
}

@test "a setuid file is never applied with its setuid bit" {
	agent 'echo s > su; chmod 4755 su; echo g > sg; chmod 2755 sg; ls -l su sg'
	[ "$status" -eq 0 ]
	run al review "$RUN" --accept-all
	run al review "$RUN" --accept su sg
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ -e "$WS/su" ]
	[ ! -u "$WS/su" ] && [ ! -g "$WS/sg" ]
	[ "$(stat -c %a "$WS/su")" = 755 ]
}

@test "a 1 GB sparse file: run, diff and apply in bounded memory" {
	agent 'truncate -s 1G big && printf tail >> big'
	[ "$status" -eq 0 ]
	/usr/bin/time -f '%M' -o "$WS.rss" "$AIRLOCK" diff "$RUN" --no-pager >"$WS.out"
	[ "$(cat "$WS.rss")" -lt 200000 ]
	grep -q 'Binary files /dev/null and b/big differ' "$WS.out"
	run al diff "$RUN" --stat
	[[ "$output" == *big*"[!large]"* ]]
	/usr/bin/time -f '%M' -o "$WS.rss" "$AIRLOCK" apply "$RUN" >/dev/null
	[ "$(cat "$WS.rss")" -lt 200000 ]
	[ "$(stat -c %s "$WS/big")" -eq 1073741828 ]
	[ "$(tail -c 4 "$WS/big")" = tail ]
	rm -f "$WS/big"
}

@test "a directory replaced by a file and a file by a directory" {
	copy_ws "$WS.git"
	agent 'rm -rf d && echo "d is a file" > d; rm a.txt && mkdir -p a.txt/x && echo in > a.txt/x/f'
	[ "$status" -eq 0 ]
	run al diff "$RUN" --name-status
	[[ "$output" == *"d/one"* ]]
	al diff "$RUN" --no-pager >"$WS.patch"
	(cd "$WS.git" && git apply "$WS.patch")
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ -f "$WS/d" ] && [ "$(cat "$WS/d")" = "d is a file" ]
	[ -d "$WS/a.txt" ] && [ "$(cat "$WS/a.txt/x/f")" = in ]
	diff -r "$WS" "$WS.git"
}

@test "a directory deleted and recreated (opaque in the upper dir) loses its old entries" {
	agent 'rm -rf d && mkdir -p d/new && echo fresh > d/new/f && echo 2 > d/one2'
	[ "$status" -eq 0 ]
	run al diff "$RUN" --name-status
	[ "$status" -eq 0 ]
	[[ "$output" == *$'D\td/sub/two'* ]]
	[[ "$output" == *$'A\td/new/f'* ]]
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ ! -e "$WS/d/one" ] && [ ! -e "$WS/d/sub" ]
	[ "$(cat "$WS/d/new/f")" = fresh ] && [ "$(cat "$WS/d/one2")" = 2 ]
}

@test "10,000-level nesting: a clear error, not a crash or a partial result" {
	before=$(tree_state "$WS")
	# Nest by wrapping (mv), 100 levels at a time: paths stay short.
	agent 'p=a; i=1; while [ $i -lt 99 ]; do p=$p/a; i=$((i+1)); done
		mkdir x && echo deep > x/f || exit 3
		i=0; while [ $i -lt 100 ]; do mkdir -p t/$p && mv x t/$p/a && mv t x || exit 3; i=$((i+1)); done
		echo built'
	[ "$status" -eq 125 ]
	[[ "$output" == *built* ]]
	[[ "$stderr" == *"airlock: run:"*"deeper than"* ]]
	[ "$(tree_state "$WS")" = "$before" ]
	run al fsck
	[ "$status" -eq 0 ]
	# The same nesting on the host: the snapshot refuses it clearly.
	python3 -c '
import os, sys
os.chdir(sys.argv[1])
for _ in range(10000):
    os.mkdir("n"); os.chdir("n")
' "$WS"
	run al run --image busybox -w "$WS" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"deeper than"* ]]
	rm -rf "$WS/n"
}

@test "a host edit during the run: the agent sees the original, apply conflicts and writes nothing" {
	al run --image busybox -w "$WS" -- sh -c 'echo started; sleep 2; cat a.txt; echo agent > a.txt; echo new > new.txt' \
		>"$WS.out" 2>"$WS.err" &
	pid=$!
	for _ in $(seq 100); do grep -q started "$WS.out" && break; sleep 0.05; done
	printf 'host edit\n' >"$WS/a.txt"
	wait "$pid"
	grep -qx hello "$WS.out"
	before=$(tree_state "$WS")
	run al apply
	[ "$status" -eq 1 ]
	[[ "$output" == *conflict*"a.txt"* ]]
	[ "$(tree_state "$WS")" = "$before" ]
	[ ! -e "$WS/new.txt" ]
	[ "$(cat "$WS/a.txt")" = "host edit" ]
}

@test "kill -9 during an apply of 5,000 files, then apply again completes" {
	agent 'mkdir many && cd many && i=0; while [ $i -lt 5000 ]; do echo "content $i" > f$i; i=$((i+1)); done'
	[ "$status" -eq 0 ]
	# Slow each rename down so the kill lands mid-way.
	strace -qq -o /dev/null -e trace=renameat2 -e inject=renameat2:delay_exit=500 \
		"$AIRLOCK" apply "$RUN" >/dev/null 2>&1 &
	tracer=$!
	for _ in $(seq 400); do
		n=$(ls "$WS/many" 2>/dev/null | wc -l)
		[ "$n" -ge 200 ] && break
		sleep 0.05
	done
	child=$(pgrep -P "$tracer")
	[ -n "$child" ]
	kill -9 "$child"
	wait "$tracer" || true
	n=$(ls "$WS/many" | grep -vc '^\.airlock-tmp-' || true)
	[ "$n" -gt 0 ] && [ "$n" -lt 5000 ]
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ "$(ls -A "$WS/many" | wc -l)" -eq 5000 ]
	[ -z "$(find "$WS" -name '.airlock-tmp-*')" ]
	for i in 0 1 2 1234 4999; do [ "$(cat "$WS/many/f$i")" = "content $i" ]; done
	(cd "$WS/many" && for f in f*; do [ "$(cat "$f")" = "content ${f#f}" ] || exit 1; done)
	run al fsck
	[ "$status" -eq 0 ]
}

@test "two runs applied one after the other" {
	agent 'echo one > one.txt; echo a1 > a.txt'
	r1=$RUN
	agent 'echo two > two.txt; echo dd > d/one'
	r2=$RUN
	agent 'echo a3 > a.txt'
	r3=$RUN
	run al apply "$r1"
	[ "$status" -eq 0 ]
	run al apply "$r2"
	[ "$status" -eq 0 ]
	[ "$(cat "$WS/one.txt")" = one ] && [ "$(cat "$WS/two.txt")" = two ]
	[ "$(cat "$WS/a.txt")" = a1 ] && [ "$(cat "$WS/d/one")" = dd ]
	# r3 changed a.txt from the same base as r1: a conflict now.
	run al apply "$r3"
	[ "$status" -eq 1 ]
	[ "$(cat "$WS/a.txt")" = a1 ]
	# A run from the applied state applies on top.
	agent 'echo a4 >> a.txt'
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ "$(cat "$WS/a.txt")" = "$(printf 'a1\na4')" ]
}

@test "review --accept and --reject are honoured by apply" {
	agent 'echo x > a.txt; echo y > b.txt; echo z > c.txt; echo w > d/one'
	run al review "$RUN" --reject b.txt d/one
	[ "$status" -eq 0 ]
	run al review "$RUN" --accept c.txt
	[ "$status" -eq 0 ]
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[[ "$output" == *rejected*b.txt* ]]
	[ "$(cat "$WS/a.txt")" = x ] && [ "$(cat "$WS/c.txt")" = z ]
	[ "$(cat "$WS/b.txt")" = keep ] && [ "$(cat "$WS/d/one")" = one ]
	# A rejected path can still be accepted later.
	run al review "$RUN" --accept b.txt
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ "$(cat "$WS/b.txt")" = y ]
}

@test "apply PATH applies only that path" {
	agent 'echo x > a.txt; echo w > d/one; echo v > d/sub/two'
	run al apply "$RUN" -- d
	[ "$status" -eq 0 ]
	[ "$(cat "$WS/a.txt")" = hello ]
	[ "$(cat "$WS/d/one")" = w ] && [ "$(cat "$WS/d/sub/two")" = v ]
}

@test "apply --check writes nothing" {
	agent 'echo x > a.txt; rm -rf d; echo n > n.txt; ln -s a.txt l'
	before=$(tree_state "$WS")
	run al apply "$RUN" --check
	[ "$status" -eq 0 ]
	[[ "$output" == *"would apply"* ]]
	[ "$(tree_state "$WS")" = "$before" ]
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ "$(tree_state "$WS")" != "$before" ]
}

@test "commit --branch: right parent and tree; work tree, index and HEAD untouched; existing branch needs --force" {
	git -C "$WS" init -q
	git -C "$WS" add -A
	git -C "$WS" -c user.name=t -c user.email=t@example.com commit -qm init
	printf 'uncommitted\n' >>"$WS/b.txt"
	head=$(git -C "$WS" rev-parse HEAD)
	st=$(git -C "$WS" status --porcelain)
	agent 'echo x > a.txt; rm d/one; mkdir -p src && echo "int main;" > src/m.c'
	[ "$status" -eq 0 ]
	run al review "$RUN" --accept-all
	run al commit "$RUN" --branch agent -m "agent work"
	[ "$status" -eq 0 ]
	[ "$(git -C "$WS" rev-parse agent^)" = "$head" ]
	[ "$(git -C "$WS" rev-parse HEAD)" = "$head" ]
	[ "$(git -C "$WS" status --porcelain)" = "$st" ]
	[ "$(git -C "$WS" log -1 --format=%s agent)" = "agent work" ]
	[ "$(git -C "$WS" show agent:a.txt)" = x ]
	[ "$(git -C "$WS" show agent:src/m.c)" = "int main;" ]
	(! git -C "$WS" cat-file -e agent:d/one)
	# The uncommitted host edit to b.txt is in the run's input, and b.txt was
	# not changed by the agent: the branch has b.txt as in HEAD's tree.
	[ "$(git -C "$WS" diff --name-only "$head" agent | LC_ALL=C sort | tr '\n' ' ')" = "a.txt d/one src/m.c " ]
	git -C "$WS" fsck --no-progress
	first=$(git -C "$WS" rev-parse agent)
	run al commit "$RUN" --branch agent
	[ "$status" -ne 0 ]
	[[ "$output" == *"agent"*exists* ]]
	[ "$(git -C "$WS" rev-parse agent)" = "$first" ]
	run al commit "$RUN" --branch agent --force -m again
	[ "$status" -eq 0 ]
	[ "$(git -C "$WS" rev-parse agent^)" = "$head" ]
	[ "$(git -C "$WS" rev-parse HEAD)" = "$head" ]
}

@test "replay: a deterministic run exits 0, a nondeterministic one exits 1 naming the path; --json parses" {
	agent 'echo det > out.txt; sort d/one > sorted'
	det=$RUN
	run al replay "$det"
	[ "$status" -eq 0 ]
	run --separate-stderr al replay "$det" --json
	[ "$status" -eq 0 ]
	printf '%s' "$output" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["same"] is True and r["differences"] == [] and r["expected"] == r["got"], r'
	agent 'echo det > out.txt; head -c 32 /dev/urandom > noise.bin'
	nondet=$RUN
	run al replay "$nondet"
	[ "$status" -eq 1 ]
	[[ "$output" == *noise.bin* ]]
	[[ "$output" != *out.txt* ]]
	run --separate-stderr al replay "$nondet" --json
	[ "$status" -eq 1 ]
	printf '%s' "$output" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["same"] is False and r["expected"] != r["got"], r
assert [d["path"] for d in r["differences"]] == ["noise.bin"], r'
}

@test "files ignored by .gitignore are left out of diff and apply unless --all" {
	git -C "$WS" init -q
	printf '*.log\nbuild/\n' >"$WS/.gitignore"
	agent 'echo x > a.txt; echo l > debug.log; mkdir build && echo o > build/out; echo n > new.txt'
	run al diff "$RUN" --name-status
	[[ "$output" == *a.txt* ]] && [[ "$output" == *new.txt* ]]
	[[ "$output" != *debug.log* ]] && [[ "$output" != *build/out* ]]
	run al diff "$RUN" --name-status --json
	printf '%s' "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ignored"] >= 2, d'
	copy_ws "$WS.all"
	run al apply "$RUN"
	[ "$status" -eq 0 ]
	[ "$(cat "$WS/new.txt")" = n ]
	[ ! -e "$WS/debug.log" ] && [ ! -e "$WS/build" ]
	run al diff "$RUN" --name-status --all
	[[ "$output" == *debug.log* ]] && [[ "$output" == *build/out* ]]
	run al apply "$RUN" --all -w "$WS.all"
	[ "$status" -eq 0 ]
	[ "$(cat "$WS.all/debug.log")" = l ] && [ "$(cat "$WS.all/build/out")" = o ]
}

@test "--help for diff, review, apply, commit, replay" {
	for c in diff review apply commit replay; do
		run al "$c" --help
		[ "$status" -eq 0 ]
		[[ "$output" == usage:* ]]
	done
}
