#!/usr/bin/env bash
# Makes a headless Chromium available for the web dashboard's browser test (cmd/podrun drives it
# over the DevTools protocol) and prints its path as the last line of output. A chromium or
# google-chrome on PATH is used as it is; otherwise Debian's chromium package is installed.
set -euo pipefail

PROG=install-chromium
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	echo "Usage: scripts/install-chromium.sh    (prints the path of a working Chromium)"
	exit 0
fi

find_browser() {
	local name path
	for name in chromium chromium-browser google-chrome-stable google-chrome headless-shell; do
		if path=$(command -v "${name}" 2>/dev/null) && "${path}" --version >/dev/null 2>&1; then
			printf '%s\n' "${path}"
			return 0
		fi
	done
	return 1
}

if path=$(find_browser); then
	log "using ${path}"
	printf '%s\n' "${path}"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	die "no Chromium found: install chromium (or google-chrome) and run this again"
fi
log "installing Debian's chromium package (about 100 MB) for the dashboard's browser test"
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
	log "refreshing the package lists to install chromium"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null ||
		die "apt-get install chromium failed"
fi
path=$(find_browser) || die "chromium was installed but does not run (chromium --version fails)"
printf '%s\n' "${path}"
