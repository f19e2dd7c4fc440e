#!/bin/sh
# Installs what airlock needs to build and test, from Debian 12 packages.
# Idempotent and quiet when everything is there. AIRLOCK_DEPS_EXTRA adds
# packages (make bench adds the peer tools).
set -eu
pkgs="build-essential pkg-config git ca-certificates apt util-linux strace
libarchive-dev libgit2-dev libzstd-dev libseccomp-dev libssl-dev libjansson-dev
libcmocka-dev bats zstd tar iproute2 python3 umoci skopeo podman tmux ${AIRLOCK_DEPS_EXTRA:-}"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "airlock: deps: missing Debian packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "airlock: deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
