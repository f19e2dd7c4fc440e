#!/usr/bin/env bats
# OCI import/export against real tools: umoci builds the source image and
# unpacks ours, skopeo inspects and converts, podman loads (when it works
# here). Scratch lives on $AIRLOCK_TEST_TMP (a tmpfs under make check).

setup() {
	: "${AIRLOCK:?set AIRLOCK to the airlock binary}"
	T=$(mktemp -d "${AIRLOCK_TEST_TMP:-/dev/shm}/oci-bats.XXXXXX")
	export AIRLOCK_STORE="$T/store"
	export SOURCE_DATE_EPOCH=1700000000
}

teardown() {
	rm -rf "$T"
}

need() {
	command -v "$1" >/dev/null || skip "$1 is not installed"
}

# A small image built by umoci from a directory: $T/src, $T/src.tar.
make_src() {
	need umoci
	mkdir -p "$T/src/bin" "$T/src/etc" "$T/src/srv/data" "$T/src/empty"
	printf '#!/bin/sh\necho hello\n' >"$T/src/bin/hello"
	chmod 0755 "$T/src/bin/hello"
	ln -s hello "$T/src/bin/hi"
	printf 'root:x:0:0::/root:/bin/sh\napp:x:1234:4321::/srv:/bin/sh\n' >"$T/src/etc/passwd"
	head -c 300000 /dev/urandom >"$T/src/srv/data/blob.bin"
	chmod 0600 "$T/src/srv/data/blob.bin"
	chmod 0750 "$T/src/srv"
	umoci init --layout "$T/lay"
	umoci new --image "$T/lay:src"
	umoci unpack --image "$T/lay:src" "$T/bundle" >/dev/null
	cp -a "$T/src/." "$T/bundle/rootfs/"
	umoci repack --image "$T/lay:src" "$T/bundle"
	umoci config --image "$T/lay:src" --config.user app --config.env A=b \
		--config.entrypoint /bin/hello --config.cmd x --config.workingdir /srv \
		--config.label org.example=yes
	tar -C "$T/lay" -cf "$T/src.tar" .
}

# listing DIR: one line per entry with type, mode, size and content hash
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%y %m %s %p -> %l\n' | sort)
	(cd "$1" && find . -type f -exec sha256sum {} + | sort -k2)
}

@test "import: umoci-built oci-archive; last stdout line is the digest" {
	make_src
	run "$AIRLOCK" import -t src oci-archive:"$T/src.tar"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^sha256:[0-9a-f]{64}$ ]]
	run "$AIRLOCK" images
	[[ "$output" == *src*"${lines[-1]}"* ]] || [[ "$output" == *src* ]]
}

@test "export: deterministic to the byte; skopeo inspect reads it" {
	need skopeo
	make_src
	"$AIRLOCK" import -t src oci-archive:"$T/src.tar"
	"$AIRLOCK" export src -o "$T/a.tar"
	sleep 1
	"$AIRLOCK" export src -o "$T/b.tar"
	cmp "$T/a.tar" "$T/b.tar"
	run skopeo inspect --config oci-archive:"$T/a.tar"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q '"User": "1234:4321"'
	echo "$output" | grep -q '"WorkingDir": "/srv"'
	echo "$output" | grep -q '"created": "2023-11-14T22:13:20Z"'
	echo "$output" | grep -q '"org.example": "yes"'
	run skopeo inspect oci-archive:"$T/a.tar"
	[ "$status" -eq 0 ]
	# tar entries: fixed mtime, owner 0, sorted
	tar -tvf "$T/a.tar" | awk '{print $2, $4, $5}' | sort -u | grep -qv '0/0 2023-11-14' && false
	tar -tf "$T/a.tar" >"$T/names"
	sort -c "$T/names"
}

@test "export: umoci unpack gives the same files, modes and contents" {
	need umoci
	make_src
	"$AIRLOCK" import -t src oci-archive:"$T/src.tar"
	"$AIRLOCK" export src -o "$T/out.tar"
	mkdir "$T/ul"
	tar -C "$T/ul" -xf "$T/out.tar"
	umoci unpack --image "$T/ul:src" "$T/ub" >/dev/null
	listing "$T/src" >"$T/want"
	listing "$T/ub/rootfs" >"$T/got"
	diff -u "$T/want" "$T/got"
}

@test "round trip: oci, docker and zstd exports import to the same digest" {
	make_src
	d=$("$AIRLOCK" import -t src oci-archive:"$T/src.tar" | tail -n1)
	"$AIRLOCK" export src -o "$T/o.tar"
	"$AIRLOCK" export src -o "$T/d.tar" --format docker
	"$AIRLOCK" export src -o "$T/z.tar" --compression zstd
	[ "$("$AIRLOCK" import oci-archive:"$T/o.tar" | tail -n1)" = "$d" ]
	[ "$("$AIRLOCK" import docker-archive:"$T/d.tar" | tail -n1)" = "$d" ]
	[ "$("$AIRLOCK" import oci-archive:"$T/d.tar" | tail -n1)" = "$d" ]
	[ "$("$AIRLOCK" import oci-archive:"$T/z.tar" | tail -n1)" = "$d" ]
	tar -xOf "$T/d.tar" manifest.json | grep -q '"RepoTags":\["src:latest"\]'
}

@test "skopeo copy to docker-archive and oci-archive imports to the same digest" {
	need skopeo
	make_src
	d=$("$AIRLOCK" import -t src oci-archive:"$T/src.tar" | tail -n1)
	"$AIRLOCK" export src -o "$T/o.tar"
	skopeo copy -q oci-archive:"$T/o.tar" docker-archive:"$T/dk.tar":x/src:1
	skopeo copy -q oci-archive:"$T/o.tar" oci-archive:"$T/sk.tar"
	[ "$("$AIRLOCK" import docker-archive:"$T/dk.tar" | tail -n1)" = "$d" ]
	[ "$("$AIRLOCK" import oci-archive:"$T/sk.tar" | tail -n1)" = "$d" ]
}

@test "podman load reads both formats" {
	need podman
	podman info >/dev/null 2>&1 || skip "podman does not work on this machine"
	make_src
	"$AIRLOCK" import -t src oci-archive:"$T/src.tar"
	"$AIRLOCK" export src -o "$T/o.tar" --name airlock-test-oci
	"$AIRLOCK" export src -o "$T/d.tar" --format docker --name airlock-test-docker
	run podman load -i "$T/o.tar"
	[ "$status" -eq 0 ]
	run podman load -i "$T/d.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *airlock-test-docker* ]]
	podman rmi -f localhost/airlock-test-docker:latest localhost/airlock-test-oci:latest \
		>/dev/null 2>&1 || true
}

@test "import: hostile layer is refused and leaves no image" {
	mkdir -p "$T/h/blobs/sha256"
	python3 - "$T/h" <<'PY'
import hashlib, io, json, sys, tarfile
d = sys.argv[1]
def blob(data):
    h = hashlib.sha256(data).hexdigest()
    open(f"{d}/blobs/sha256/{h}", "wb").write(data)
    return {"digest": "sha256:" + h, "size": len(data)}
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w") as t:
    i = tarfile.TarInfo("../../escape"); data = b"owned"; i.size = len(data)
    t.addfile(i, io.BytesIO(data))
layer = blob(b.getvalue()); layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
cfg = blob(json.dumps({"rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
man = blob(json.dumps({"schemaVersion": 2, "config": cfg, "layers": [layer]}).encode())
man["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
json.dump({"schemaVersion": 2, "manifests": [man]}, open(f"{d}/index.json", "w"))
open(f"{d}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
	tar -C "$T/h" -cf "$T/h.tar" .
	run "$AIRLOCK" import -t bad oci-archive:"$T/h.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == "airlock: import: "*"contains '..'"* ]]
	run "$AIRLOCK" images --json
	[ "$output" = "[]" ]
	[ -z "$(ls "$AIRLOCK_STORE/tmp")" ]
}

@test "import/export: usage and errors" {
	run "$AIRLOCK" import --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run "$AIRLOCK" import tarball:/x
	[ "$status" -eq 2 ]
	[[ "$output" == "airlock: import: "* ]]
	run "$AIRLOCK" import oci-archive:"$T/missing.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == "airlock: import: "*"No such file"* ]]
	run "$AIRLOCK" export --help
	[ "$status" -eq 0 ]
	run "$AIRLOCK" export nothing
	[ "$status" -eq 2 ]
	run "$AIRLOCK" export nothing -o "$T/x.tar"
	[ "$status" -eq 1 ]
	[[ "$output" == "airlock: export: no image named 'nothing'"* ]]
	[ ! -e "$T/x.tar" ]
	run "$AIRLOCK" export nothing -o "$T/x.tar" --format rpm
	[ "$status" -eq 2 ]
}

@test "recipes: FROM oci-archive is pinned by the archive's digest in the lock" {
	make_src
	cp "$T/src.tar" "$T/base.tar"
	printf 'FROM oci-archive:base.tar\nENV EXTRA=1\n' >"$T/on-top.recipe"
	run "$AIRLOCK" build "$T/on-top.recipe"
	[ "$status" -ne 0 ]
	[[ "$output" == *"airlock lock"* ]]
	run "$AIRLOCK" lock "$T/on-top.recipe"
	[ "$status" -eq 0 ]
	grep -q "\"archive\": \"sha256:$(sha256sum "$T/base.tar" | cut -c1-64)\"" "$T/on-top.lock"
	run "$AIRLOCK" build "$T/on-top.recipe"
	[ "$status" -eq 0 ]
	first=${lines[-1]}
	run "$AIRLOCK" build --explain "$T/on-top.recipe"
	[ "${lines[-1]}" = "$first" ]
	[[ "$output" == *"FROM oci-archive:base.tar: cached"* ]]
	# The archive changed since the lock: refused, naming both digests.
	printf 'x' >>"$T/base.tar"
	run "$AIRLOCK" build "$T/on-top.recipe"
	[ "$status" -ne 0 ]
	[[ "$output" == *"but the lock pins sha256:"* ]]
}

@test "export/import keep non-ASCII and non-UTF-8 file names byte for byte" {
	need umoci
	mkdir -p "$T/ctx/d"
	printf x >"$T/ctx/d/Főtanúsítvány.crt"
	printf y >"$T/ctx/d/$(printf 'bad\377name')"
	printf 'FROM scratch\nCOPY d /d\n' >"$T/ctx/u.recipe"
	run "$AIRLOCK" build "$T/ctx/u.recipe"
	[ "$status" -eq 0 ]
	want=${lines[-1]}
	run "$AIRLOCK" export u -o "$T/u.tar"
	[ "$status" -eq 0 ]
	run "$AIRLOCK" --store "$T/other" import oci-archive:"$T/u.tar"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$want" ]
	mkdir "$T/lay"
	tar -C "$T/lay" -xf "$T/u.tar"
	umoci unpack --rootless --image "$T/lay:u" "$T/ub" >/dev/null
	[ -f "$T/ub/rootfs/d/Főtanúsítvány.crt" ]
	[ -f "$T/ub/rootfs/d/$(printf 'bad\377name')" ]
}
