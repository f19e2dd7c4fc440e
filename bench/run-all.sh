#!/bin/sh
# make bench: installs the peer tools, then runs every bench/*.sh that is
# not a library. Figures are ratios against peers measured in the same run;
# nothing here gates on absolute times.
set -eu
cd "$(dirname "$0")/.."
AIRLOCK_DEPS_EXTRA="hyperfine ostree bubblewrap crun skopeo umoci python3" sh tests/deps.sh
status=0
for b in bench/*.sh; do
	case "$b" in */lib.sh | */run-all.sh) continue ;; esac
	sh "$b" || status=1
done
exit $status
