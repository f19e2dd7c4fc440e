#!/usr/bin/env bats
# The builder and the store, through the CLI: build, cache, images, rmi,
# gc, fsck, reproducibility, corruption, concurrency.

load helpers

setup() {
	new_store
	CTX=$(mktemp -d "$AIRLOCK_TEST_TMP/ctx.XXXXXX")
}

# A recipe without PACKAGES needs no lock and no network.
write_copy_recipe() {
	mkdir -p "$CTX/app/sub"
	printf 'hello\n' >"$CTX/app/hello.txt"
	printf '#!/bin/sh\necho hi\n' >"$CTX/app/sub/run.sh"
	chmod 755 "$CTX/app/sub/run.sh"
	cat >"$CTX/app.recipe" <<-'R'
	FROM scratch
	COPY app /srv/app
	COPY --mode=0600 --owner=1000:1000 app/hello.txt /etc/secret
	ENV GREETING="hello world" A=1
	WORKDIR /srv/app
	USER 1000:100
	LABEL maintainer=airlock
	CMD ["/srv/app/sub/run.sh"]
	R
}

@test "build prints the image digest as its last stdout line" {
	write_copy_recipe
	run al build "$CTX/app.recipe"
	[ "$status" -eq 0 ]
	[[ "$(last_line)" =~ ^sha256:[0-9a-f]{64}$ ]]
}

@test "rebuild of an unchanged recipe is all cache hits and gives the same digest" {
	write_copy_recipe
	run al build "$CTX/app.recipe"
	first=$(last_line)
	run al build --explain "$CTX/app.recipe"
	[ "$status" -eq 0 ]
	[ "$(last_line)" = "$first" ]
	[[ "$output" == *"COPY"*"cached"* ]]
	[[ "$output" != *"cache miss"* ]]
}

@test "--explain says which step missed the cache and why" {
	write_copy_recipe
	al build "$CTX/app.recipe" >/dev/null
	printf 'changed\n' >"$CTX/app/hello.txt"
	run al build --explain "$CTX/app.recipe"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss: its inputs changed"* ]]
}

@test "--no-cache redoes the work and still gives the same digest" {
	write_copy_recipe
	run al build "$CTX/app.recipe"
	first=$(last_line)
	run al build --no-cache --explain "$CTX/app.recipe"
	[ "$status" -eq 0 ]
	[ "$(last_line)" = "$first" ]
	[[ "$output" == *"cache miss"* ]]
}

@test "images lists the image with its name, digest and size; --json too" {
	write_copy_recipe
	run al build -t myapp "$CTX/app.recipe"
	d=$(last_line)
	run al images
	[ "$status" -eq 0 ]
	[[ "$output" == *"myapp"*"$d"* ]]
	run al images --json
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c 'import json,sys; a=json.load(sys.stdin); assert a[0]["names"]==["myapp"] and a[0]["digest"]=="'"$d"'" and a[0]["size"]>0'
}

@test "COPY refuses sources outside the recipe's directory" {
	mkdir -p "$CTX/inner"
	ln -s /etc "$CTX/inner/etc-link"
	printf 'FROM scratch\nCOPY ../outside /x\n' >"$CTX/inner/a.recipe"
	run al build "$CTX/inner/a.recipe"
	[ "$status" -ne 0 ]
	[[ "$output" == *"a.recipe:2"* ]]
	printf 'FROM scratch\nCOPY etc-link/passwd /x\n' >"$CTX/inner/b.recipe"
	run al build "$CTX/inner/b.recipe"
	[ "$status" -ne 0 ]
	[[ "$output" == *"b.recipe:2"*"COPY"* ]]
	run al images --json
	[ "$output" = "[]" ]
}

@test "a recipe syntax error names file and line and leaves no image" {
	printf 'FROM scratch\nFORM x\n' >"$CTX/bad.recipe"
	run al build "$CTX/bad.recipe"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad.recipe:2:"* ]]
	run al images --json
	[ "$output" = "[]" ]
}

@test "rmi removes a name; gc then frees the objects; fsck stays clean" {
	write_copy_recipe
	run al build -t one "$CTX/app.recipe"
	run al rmi one
	[ "$status" -eq 0 ]
	run al images --json
	[ "$output" = "[]" ]
	run al fsck
	[ "$status" -eq 0 ]
	before=$(find "$AIRLOCK_STORE/objects" -type f | wc -l)
	run al gc
	[ "$status" -eq 0 ]
	[[ "$output" =~ removed\ [1-9][0-9]*\ objects ]]
	after=$(find "$AIRLOCK_STORE/objects" -type f | wc -l)
	[ "$after" -lt "$before" ]
	run al fsck
	[ "$status" -eq 0 ]
	run al rmi one
	[ "$status" -ne 0 ]
	[[ "$output" == *"no image named 'one'"* ]]
	[ "$before" -gt 0 ]
}

@test "gc keeps everything an image references" {
	write_copy_recipe
	run al build -t keep "$CTX/app.recipe"
	d=$(last_line)
	run al gc
	[ "$status" -eq 0 ]
	run al fsck
	[ "$status" -eq 0 ]
	run al build "$CTX/app.recipe"
	[ "$(last_line)" = "$d" ]
}

@test "fsck finds a corrupted object and names it; exit 1" {
	write_copy_recipe
	al build "$CTX/app.recipe" >/dev/null
	victim=$(find "$AIRLOCK_STORE/objects" -type f | head -n1)
	chmod u+w "$victim"
	printf 'garbage' >"$victim"
	name=$(basename "$(dirname "$victim")")$(basename "$victim")
	run al fsck
	[ "$status" -eq 1 ]
	[[ "$output" == *"sha256:$name"*"corrupt"* ]]
}

@test "the same recipe gives the same digest across stores, umask, TZ, cwd and time" {
	write_copy_recipe
	run al build "$CTX/app.recipe"
	first=$(last_line)
	other=$(mktemp -d "$AIRLOCK_TEST_TMP/store2.XXXXXX")
	cd /
	run env TZ=Pacific/Kiritimati SOURCE_DATE_EPOCH=123 sh -c "umask 077; '$AIRLOCK' --store '$other' build '$CTX/app.recipe'"
	[ "$status" -eq 0 ]
	[ "$(last_line)" = "$first" ]
}

@test "two builds at once on one store both succeed with one result" {
	write_copy_recipe
	al build "$CTX/app.recipe" >"$CTX/a.out" &
	al build "$CTX/app.recipe" >"$CTX/b.out" &
	wait %1
	wait %2
	[ "$(tail -n1 "$CTX/a.out")" = "$(tail -n1 "$CTX/b.out")" ]
	run al fsck
	[ "$status" -eq 0 ]
}

@test "--help works for build, lock, images, rmi, gc, fsck" {
	for c in build lock images rmi gc fsck; do
		run al "$c" --help
		[ "$status" -eq 0 ]
		[[ "$output" == usage:* ]]
	done
}

@test "a failed RUN step reports its status and output and leaves no image" {
	shared_busybox_store
	printf 'FROM busybox\nRUN echo about to fail >&2; exit 3\n' >"$CTX/fail.recipe"
	run al build "$CTX/fail.recipe"
	[ "$status" -ne 0 ]
	[[ "$output" == *"fail.recipe:2:"*"exited with status 3"* ]]
	[[ "$output" == *"about to fail"* ]]
	run al images --json
	[[ "$output" != *'"fail"'* ]]
}

@test "RUN steps run as root inside the build sandbox, with no network" {
	shared_busybox_store
	printf 'FROM busybox\nRUN id -u > /uid; (ip link 2>/dev/null || cat /proc/net/dev) > /net\n' >"$CTX/r.recipe"
	run al build -t rootrun "$CTX/r.recipe"
	[ "$status" -eq 0 ]
	co=$(al checkout rootrun)
	[ "$(cat "$co/uid")" = 0 ]
	(! grep -qE 'eth|ens|enp' "$co/net")
}

@test "make install puts airlock, airlock-full and the man page in place, and they work" {
	dest=$(mktemp -d "$AIRLOCK_TEST_TMP/inst.XXXXXX")
	run make -s -C "$AIRLOCK_TOP" install DESTDIR="$dest" PREFIX=/usr/local
	[ "$status" -eq 0 ]
	[ -x "$dest/usr/local/bin/airlock" ]
	[ -x "$dest/usr/local/libexec/airlock/airlock-full" ]
	[ -f "$dest/usr/local/share/man/man1/airlock.1" ]
	# A heavy command run through the installed light binary execs airlock-full.
	run "$dest/usr/local/bin/airlock" build --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:\ airlock\ build* ]]
	run "$dest/usr/local/bin/airlock" images --json
	[ "$status" -eq 0 ]
}

@test "without airlock-full beside it, a heavy command fails clearly (125) and a light one works" {
	dir=$(mktemp -d "$AIRLOCK_TEST_TMP/alone.XXXXXX")
	cp "$AIRLOCK" "$dir/airlock"
	run "$dir/airlock" build --help
	[ "$status" -eq 125 ]
	[[ "$output" == *"'build' needs airlock-full"* ]]
	run "$dir/airlock" images --json
	[ "$status" -eq 0 ]
}
