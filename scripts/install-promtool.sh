#!/usr/bin/env bash
# Makes promtool (Prometheus's checker; the tests run `promtool check metrics` on podrun's
# /metrics) available and prints its path as the last line of output. A promtool on PATH is used
# as it is; otherwise it goes to bin/tools/promtool. On Debian and Ubuntu it is taken out of the
# prometheus package without installing the package: installing it would also start a Prometheus
# server listening on every interface, and pull in its web assets.
set -euo pipefail

PROG=install-promtool
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${ROOT}/bin/tools/promtool

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	echo "Usage: scripts/install-promtool.sh    (prints the path of a working promtool)"
	exit 0
fi

if path=$(command -v promtool 2>/dev/null) && "${path}" --version >/dev/null 2>&1; then
	log "using ${path}"
	printf '%s\n' "${path}"
	exit 0
fi
if [[ -x ${DEST} ]] && "${DEST}" --version >/dev/null 2>&1; then
	printf '%s\n' "${DEST}"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
	die "promtool is not installed: install Prometheus's promtool (often in a package named prometheus) and run this again"
fi

tmp=$(mktemp -d)
trap 'rm -rf "${tmp}"' EXIT
# apt-get download needs no root, but package lists, which a fresh machine may not have yet.
if ! (cd "${tmp}" && apt-get download -q prometheus >/dev/null 2>&1); then
	log "refreshing the package lists to download prometheus"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	(cd "${tmp}" && apt-get download -q prometheus >/dev/null 2>&1) || die "apt-get download prometheus failed"
fi
mkdir -p "$(dirname "${DEST}")"
dpkg-deb --fsys-tarfile "${tmp}"/prometheus_*.deb | tar -x -O ./usr/bin/promtool >"${DEST}.part"
chmod 0755 "${DEST}.part"
mv "${DEST}.part" "${DEST}"
log "installed $("${DEST}" --version 2>&1 | head -n 1) at ${DEST}"
printf '%s\n' "${DEST}"
