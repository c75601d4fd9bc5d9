#!/usr/bin/env bash
# Prepares the gVisor tier: installs gVisor's runsc (Debian's package), writes a wrapper that runs
# it with the flags podrun's containers need and a containers.conf naming it as the runtime, and
# starts a second rootful Podman API service, on the same storage as the first, whose default
# runtime is that wrapper. podrun creates isolation "gvisor" containers through it
# (sandbox.gvisor_socket). Every step is skipped when already done. Progress goes to stderr;
# stdout is one line, the service's URI. docs/isolation.md says why it takes a second service.
set -euo pipefail

PROG=setup-gvisor
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	cat <<'EOF'
Usage: scripts/setup-gvisor.sh

Installs runsc, writes /usr/local/lib/podrun/runsc-podrun and /usr/local/lib/podrun/gvisor.conf,
and starts a rootful Podman API service on unix:///run/podman/podrun-gvisor.sock whose default
runtime is runsc (log: /run/podman/podrun-gvisor.log). Rootful only: the tier needs root.
EOF
	exit 0
fi
[[ $# -eq 0 ]] || die "no arguments expected (see --help)"
if [[ ${EUID} -ne 0 ]]; then
	log "skipped: the gVisor tier runs on a rootful Podman service; run this as root to set it up"
	exit 0
fi

dir=/usr/local/lib/podrun
wrapper=${dir}/runsc-podrun
conf=${dir}/gvisor.conf
sock=/run/podman/podrun-gvisor.sock
logfile=/run/podman/podrun-gvisor.log

if ! command -v runsc >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 || die "install gVisor's runsc (https://gvisor.dev/docs/user_guide/install/) and run this again"
	log "installing runsc"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y runsc >&2
fi
runsc=$(command -v runsc)

# The wrapper's flags (docs/isolation.md):
#   --network=none   Podman's network "none" leaves runsc in the host's network namespace otherwise
#   --oci-seccomp    apply the container's seccomp profile (podrun's) inside the sandbox as well
#   --host-uds=open  let the sandbox connect to host unix sockets bind-mounted into it: the
#                    egress proxy's socket (it cannot create any, nor reach unmounted ones)
want_wrapper=$(printf '#!/bin/sh\n# Written by podrun scripts/setup-gvisor.sh: gVisor for podrun containers.\nexec %s --network=none --oci-seccomp --host-uds=open "$@"\n' "${runsc}")
want_conf=$(printf '# Written by podrun scripts/setup-gvisor.sh: the gVisor Podman service runs this runtime.\n[engine]\nruntime = "%s"\n' "${wrapper}")
as_root install -d -m 0755 "${dir}"
if [[ ! -f ${wrapper} || $(cat "${wrapper}") != "${want_wrapper}" ]]; then
	log "writing ${wrapper}"
	printf '%s\n' "${want_wrapper}" | as_root tee "${wrapper}" >/dev/null
	as_root chmod 0755 "${wrapper}"
fi
if [[ ! -f ${conf} || $(cat "${conf}") != "${want_conf}" ]]; then
	log "writing ${conf}"
	printf '%s\n' "${want_conf}" | as_root tee "${conf}" >/dev/null
fi

# runs_runsc succeeds when the service on the socket reports runsc as its runtime.
runs_runsc() {
	curl --silent --max-time 10 --unix-socket "${sock}" http://d/v4.0.0/libpod/info 2>/dev/null | grep -q '"runsc version'
}

if podman_ping "${sock}"; then
	runs_runsc || die "a Podman service answers on unix://${sock} but does not run runsc: stop it and run this again"
	log "the gVisor Podman service already answers on unix://${sock}"
else
	log "starting the gVisor Podman API service on unix://${sock} (log: ${logfile})"
	mkdir -p "$(dirname "${sock}")"
	rm -f "${sock}"
	# CONTAINERS_CONF (not _OVERRIDE, which 4.3 does not read) replaces the configuration files:
	# the service keeps the default storage, so both services see the same containers.
	# In / (env -C), so a deleted working directory cannot break its attaches (see start_service).
	env -C / CONTAINERS_CONF="${conf}" setsid nohup podman system service --time=0 "unix://${sock}" >>"${logfile}" 2>&1 </dev/null &
	pid=$!
	for ((i = 0; i < 40; i++)); do
		podman_ping "${sock}" && break
		kill -0 "${pid}" 2>/dev/null || break
		sleep 0.5
	done
	if ! podman_ping "${sock}"; then
		log "error: the gVisor Podman service did not answer on unix://${sock}; last lines of ${logfile}:"
		tail -n 20 "${logfile}" >&2 || true
		exit 1
	fi
	runs_runsc || die "the service on unix://${sock} does not report runsc as its runtime (see ${logfile})"
	log "the gVisor Podman service answers on unix://${sock}"
fi
printf 'unix://%s\n' "${sock}"
