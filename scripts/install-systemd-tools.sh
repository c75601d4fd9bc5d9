#!/usr/bin/env bash
# Makes systemd-analyze and systemd-socket-activate available for the tests of deploy/systemd and
# of socket activation (Debian's package "systemd"; no systemd PID 1 is needed). Safe to run again.
set -euo pipefail

PROG=install-systemd-tools
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if command -v systemd-analyze >/dev/null 2>&1 && command -v systemd-socket-activate >/dev/null 2>&1; then
	exit 0
fi
command -v apt-get >/dev/null 2>&1 || die "install systemd's tools (systemd-analyze, systemd-socket-activate) with your package manager"
log "installing systemd (for systemd-analyze and systemd-socket-activate)"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd >&2
