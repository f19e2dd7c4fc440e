#!/usr/bin/env bats
# The shipped recipes: reproducible digests recorded in images/, and the
# everyday tools in them work inside a sandbox.

load helpers

setup() {
	shared_busybox_store
	WS=$(mktemp -d "$AIRLOCK_TEST_TMP/ws.XXXXXX")
}

# Explains a digest mismatch instead of failing mysteriously.
check_recorded() {
	local name=$1 got=$2 want
	want=$(cat "$AIRLOCK_TOP/images/$name.digest")
	if [ "$got" != "$want" ]; then
		echo "images/$name.digest records $want but the build gave $got."
		echo "If Debian withdrew a pinned package, relock: airlock lock recipes/$name.recipe,"
		echo "rebuild and record the new digest in images/$name.digest (say so in the commit)."
		return 1
	fi
}

@test "busybox: the build gives the digest recorded in images/busybox.digest" {
	check_recorded busybox "$BUSYBOX_DIGEST"
}

@test "busybox: under 3 MB, with a working shell and applets" {
	run al images --json
	python3 -c 'import json,sys; a=[i for i in json.load(sys.stdin) if "busybox" in i["names"]]; assert a and a[0]["size"] < 3_000_000, a' <<<"$output"
	run al run --image busybox -w "$WS" -- sh -c 'echo 3 4 | awk "{print \$1*\$2}"; ls / | sort | head -3; seq 3 | wc -l'
	[ "$status" -eq 0 ]
	[[ "$output" == *12* ]]
}

@test "busybox: a non-root build gives the same digest" {
	dir=$(mktemp -d "$AIRLOCK_TEST_TMP/nobody.XXXXXX")
	chmod 777 "$dir"
	run as_nobody env HOME="$dir" "$AIRLOCK" --store "$dir/store" build "$AIRLOCK_TOP/recipes/busybox.recipe"
	[ "$status" -eq 0 ]
	[ "$(last_line)" = "$BUSYBOX_DIGEST" ]
}

@test "python: digest recorded; python3 imports json, sqlite3 and ssl" {
	run al build "$AIRLOCK_TOP/recipes/python.recipe"
	[ "$status" -eq 0 ]
	check_recorded python "$(last_line)"
	run al run --image python -w "$WS" -- python3 -c 'import json, sqlite3, ssl; print(sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0])'
	[ "$status" -eq 0 ]
	[[ "$output" == *42* ]]
}

@test "default: digest recorded; git works inside as the unprivileged agent" {
	run al build "$AIRLOCK_TOP/recipes/default.recipe"
	[ "$status" -eq 0 ]
	check_recorded default "$(last_line)"
	run al run -w "$WS" -- sh -c 'id -u; git init -q r && cd r && echo x >f && git add f && git -c user.name=a -c user.email=a@b commit -qm m && git log --oneline | wc -l'
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n1000\n'* ]]
	[ "$(last_line)" = 1 ]
}
