# shellcheck shell=bash
# Helpers shared by podrun's host scripts; sourced, never run. Callers set PROG and `set -euo pipefail`.

# Packages podrun needs on Debian and Ubuntu; the notes in the README say why each is there.
# shellcheck disable=SC2034 # used by the scripts that source this file
PODRUN_PACKAGES=(podman runc uidmap slirp4netns fuse-overlayfs catatonit busybox-static curl)

# The subordinate ID range Podman draws user namespaces from for rootful userns=auto.
CONTAINERS_SUBIDS="containers:2147483647:2147483648"

log() { printf '%s: %s\n' "${PROG:-podrun}" "$*" >&2; }

die() {
	log "error: $*"
	exit 1
}

# as_root runs a command as root, through sudo only when not root already.
as_root() {
	if [[ ${EUID} -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -- "$@"
	else
		die "this step needs root: run as root, or install sudo (it was about to run: $*)"
	fi
}

# append_line FILE LINE appends LINE to FILE as root, adding a missing final newline first.
append_line() {
	local file=$1 line=$2 prefix=""
	if [[ -s ${file} && -n $(tail -c1 "${file}") ]]; then
		prefix=$'\n'
	fi
	printf '%s%s\n' "${prefix}" "${line}" | as_root tee -a "${file}" >/dev/null
}

# ensure_containers_subids gives the user "containers" its range in /etc/subuid and /etc/subgid.
ensure_containers_subids() {
	local file
	for file in /etc/subuid /etc/subgid; do
		if [[ -f ${file} ]] && grep -q '^containers:' "${file}"; then
			continue
		fi
		log "adding ${CONTAINERS_SUBIDS} to ${file}"
		append_line "${file}" "${CONTAINERS_SUBIDS}"
	done
}

# free_subid_start COUNT prints the lowest start of COUNT IDs overlapping no range in /etc/sub[ug]id.
free_subid_start() {
	local count=$1
	{ cat /etc/subuid 2>/dev/null || true; cat /etc/subgid 2>/dev/null || true; } | awk -F: -v count="${count}" '
		NF >= 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { lo[n] = $2 + 0; hi[n] = $2 + $3; n++ }
		END {
			start = 100000
			for (moved = 1; moved; ) {
				moved = 0
				for (i = 0; i < n; i++)
					if (start < hi[i] && lo[i] < start + count) { start = hi[i]; moved = 1 }
			}
			if (start + count > 4294967295) exit 1
			printf "%.0f\n", start
		}'
}

# ensure_user_subids USER COUNT gives USER a range of its own unless it already has one.
ensure_user_subids() {
	local user=$1 count=$2 file start=""
	for file in /etc/subuid /etc/subgid; do
		if [[ -f ${file} ]] && grep -q "^${user}:" "${file}"; then
			continue
		fi
		if [[ -z ${start} ]]; then
			start=$(free_subid_start "${count}") || die "no free range of ${count} subordinate IDs left"
		fi
		log "adding ${user}:${start}:${count} to ${file}"
		append_line "${file}" "${user}:${start}:${count}"
	done
}

# podman_ping SOCKET succeeds when a Podman API service answers on the unix socket.
podman_ping() {
	[[ -S $1 ]] && [[ $(curl --silent --max-time 2 --unix-socket "$1" http://d/_ping 2>/dev/null) == OK ]]
}

# start_service USER SOCKET LOGFILE [XDG_RUNTIME_DIR] starts `podman system service` detached
# as USER unless one already answers, and waits up to 20 s for it.
start_service() {
	local user=$1 sock=$2 logfile=$3 runtime_dir=${4:-} pid i
	if podman_ping "${sock}"; then
		log "a Podman API service already answers on unix://${sock}"
		return 0
	fi
	# --time=0: without it the service exits once idle. The service runs in its own session
	# with every stream redirected, so it outlives this script and holds no pipe of its caller.
	# It runs in / (or the user's home): a service whose working directory is later deleted
	# (a checkout removed) still answers pings but fails every attach with "getwd: no such file".
	# shellcheck disable=SC2016 # $1 and $2 expand in the shell that runs it
	local run='mkdir -p "$(dirname "$1")" && rm -f "$1" && exec setsid nohup podman system service --time=0 "unix://$1" >>"$2" 2>&1 </dev/null'
	if [[ ${user} == "$(id -un)" ]]; then
		log "starting the Podman API service on unix://${sock} (log: ${logfile})"
		local envs=()
		if [[ -n ${runtime_dir} ]]; then
			envs=(env "XDG_RUNTIME_DIR=${runtime_dir}")
		fi
		"${envs[@]}" bash -c "cd / && ${run}" _ "${sock}" "${logfile}" >/dev/null 2>&1 </dev/null &
	elif [[ ${EUID} -eq 0 ]]; then
		log "starting the Podman API service as ${user} on unix://${sock} (log: ${logfile})"
		# The user opens its own log file, so a symlink it planted cannot make root write elsewhere.
		runuser -u "${user}" -- env HOME="$(getent passwd "${user}" | cut -d: -f6)" \
			XDG_RUNTIME_DIR="${runtime_dir}" bash -c "cd && ${run}" _ "${sock}" "${logfile}" >/dev/null 2>&1 </dev/null &
	else
		die "cannot start a service as ${user}: run this as ${user} or as root"
	fi
	pid=$!
	for ((i = 0; i < 40; i++)); do
		if podman_ping "${sock}"; then
			log "the Podman API service answers on unix://${sock}"
			return 0
		fi
		if ! kill -0 "${pid}" 2>/dev/null; then
			break
		fi
		sleep 0.5
	done
	if [[ -s ${logfile} ]]; then
		log "error: the Podman API service did not answer on unix://${sock}; last lines of ${logfile}:"
		tail -n 20 "${logfile}" >&2
		exit 1
	fi
	die "the Podman API service did not answer on unix://${sock} and wrote no log to ${logfile}"
}

# ensure_runtime_dir USER prints USER's XDG runtime directory, creating /run/user/UID when missing.
ensure_runtime_dir() {
	local user=$1 uid dir i
	uid=$(id -u "${user}")
	dir=/run/user/${uid}
	if [[ ${user} == "$(id -un)" && -n ${XDG_RUNTIME_DIR:-} && -d ${XDG_RUNTIME_DIR} ]]; then
		printf '%s\n' "${XDG_RUNTIME_DIR}"
		return 0
	fi
	if [[ ! -d ${dir} ]]; then
		if [[ -d /run/systemd/system ]] && command -v loginctl >/dev/null 2>&1; then
			# Lingering makes systemd-logind create the directory and keep it after logout.
			log "enabling lingering for ${user}"
			as_root loginctl enable-linger "${user}"
			for ((i = 0; i < 20; i++)); do
				[[ -d ${dir} ]] && break
				sleep 0.5
			done
		fi
		if [[ ! -d ${dir} ]]; then
			log "creating ${dir}"
			as_root install -d -m 0700 -o "${user}" -g "$(id -g "${user}")" "${dir}"
		fi
	fi
	printf '%s\n' "${dir}"
}
