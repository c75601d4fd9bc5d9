#!/usr/bin/env bash
# Prepares this machine for podrun: installs Podman and its helpers, gives the user "containers"
# subordinate IDs for userns=auto, and starts a Podman API service. Every step is skipped when
# already done, so running it again is quick. Progress goes to stderr; stdout is one line, the
# service's URI.
set -euo pipefail

PROG=setup-host
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<'EOF'
Usage: scripts/setup-host.sh [--rootless]

Installs Podman (Debian and Ubuntu; elsewhere it says what to install), adds the subordinate
ID range of the user "containers" and starts a Podman API service unless one answers:
  run as root                 rootful service on unix:///run/podman/podman.sock
  run as a normal user        rootless service for that user on
                              unix://$XDG_RUNTIME_DIR/podman/podman.sock (sudo for root steps)
  sudo ... --rootless         rootless service for $SUDO_USER
It never writes /etc/containers/containers.conf: podrun sets runtime and rlimits per container.
EOF
}

rootless=false
for arg in "$@"; do
	case ${arg} in
	--rootless) rootless=true ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument: ${arg}"
		;;
	esac
done

if [[ ${EUID} -ne 0 ]]; then
	service_user=$(id -un)
elif ${rootless}; then
	if [[ -z ${SUDO_USER:-} || ${SUDO_USER} == root ]]; then
		die "--rootless as root needs a normal user: run this as that user, or through sudo"
	fi
	service_user=${SUDO_USER}
else
	service_user=root
fi

# missing_debian_packages prints the packages of PODRUN_PACKAGES that dpkg does not have installed.
missing_debian_packages() {
	local installed pkg
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PODRUN_PACKAGES[@]}" 2>/dev/null || true)
	for pkg in "${PODRUN_PACKAGES[@]}"; do
		if ! grep -q "^${pkg} ii" <<<"${installed}"; then
			printf '%s\n' "${pkg}"
		fi
	done
}

install_packages() {
	if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
		local missing
		missing=$(missing_debian_packages)
		if [[ -z ${missing} ]]; then
			log "packages already installed: ${PODRUN_PACKAGES[*]}"
			return 0
		fi
		log "installing ${PODRUN_PACKAGES[*]} (missing: $(tr '\n' ' ' <<<"${missing}"))"
		# apt's progress goes to stderr: stdout carries only the URI, the last line.
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${PODRUN_PACKAGES[@]}" >&2
		return 0
	fi
	local cmd missing=()
	for cmd in podman runc newuidmap newgidmap slirp4netns fuse-overlayfs curl; do
		command -v "${cmd}" >/dev/null 2>&1 || missing+=("${cmd}")
	done
	[[ -x /bin/busybox ]] || missing+=(/bin/busybox)
	if ((${#missing[@]} > 0)); then
		log "this is not Debian or Ubuntu, so install these with your package manager and run this again:"
		log "  podman (4.3 or newer), runc, uidmap or shadow-utils (newuidmap, newgidmap), slirp4netns,"
		log "  fuse-overlayfs, catatonit, a static busybox at /bin/busybox (busybox-static), curl"
		die "missing: ${missing[*]}"
	fi
	log "Podman and its helpers are present"
}

install_packages
ensure_containers_subids

if [[ ${service_user} == root ]]; then
	sock=/run/podman/podman.sock
	start_service root "${sock}" /run/podman/podman-service.log
else
	ensure_user_subids "${service_user}" 65536
	runtime_dir=$(ensure_runtime_dir "${service_user}")
	sock=${runtime_dir}/podman/podman.sock
	start_service "${service_user}" "${sock}" "${runtime_dir}/podman/podman-service.log" "${runtime_dir}"
	if [[ $(stat -fc %T /sys/fs/cgroup) != cgroup2fs ]]; then
		log "note: rootless Podman on cgroup v1 ignores memory, CPU and PID limits; podrun refuses"
		log "      to run agents there unless started with --allow-unenforced-limits"
	fi
fi
printf 'unix://%s\n' "${sock}"
