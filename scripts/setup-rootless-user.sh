#!/usr/bin/env bash
# Prepares a normal user for podrun's rootless smoke test: creates the user, gives it subordinate
# IDs of its own, a runtime directory and a rootless Podman API service. Safe to run again.
# Progress goes to stderr; stdout is one line, the service's URI.
set -euo pipefail

PROG=setup-rootless-user
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Rootless userns=auto carves each container's namespace out of the user's own range, so give
# new users room for several; a range useradd already assigned is kept as it is.
SUBID_COUNT=${SUBID_COUNT:-1048576}

if [[ $# -ne 1 || $1 == -* ]]; then
	cat >&2 <<'EOF'
Usage: scripts/setup-rootless-user.sh USER

Creates USER if missing, gives it subordinate UIDs and GIDs (apart from the range of the user
"containers"), creates /run/user/UID and starts a rootless Podman API service as USER on
unix:///run/user/UID/podman/podman.sock. Needs root; uses sudo when not root.
EOF
	exit 2
fi
user=$1

if [[ ${EUID} -ne 0 ]]; then
	command -v sudo >/dev/null 2>&1 || die "this script needs root: run it as root, or install sudo"
	exec sudo -- "$0" "$@"
fi

command -v podman >/dev/null 2>&1 || die "podman is not installed: run scripts/setup-host.sh first"
if ! id -u "${user}" >/dev/null 2>&1; then
	log "creating user ${user}"
	# No automatic subordinate IDs: ensure_user_subids below gives a larger range.
	useradd --create-home --shell /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "${user}"
fi
ensure_user_subids "${user}" "${SUBID_COUNT}"
runtime_dir=$(ensure_runtime_dir "${user}")
sock=${runtime_dir}/podman/podman.sock
start_service "${user}" "${sock}" "${runtime_dir}/podman/podman-service.log" "${runtime_dir}"

# The user's storage is its own: build the images there too.
build_images=$(realpath "$(dirname "${BASH_SOURCE[0]}")/build-images.sh")
if runuser -u "${user}" -- test -r "${build_images}"; then
	home=$(getent passwd "${user}" | cut -d: -f6)
	runuser -u "${user}" -- env --chdir="${home}" HOME="${home}" XDG_RUNTIME_DIR="${runtime_dir}" bash "${build_images}" >&2
else
	die "${user} cannot read ${build_images}; run it as ${user} to build the images in its storage"
fi
printf 'unix://%s\n' "${sock}"
