#!/usr/bin/env bash
# Builds the images podrun's examples and tests use, without any registry: busybox is a rootfs
# tarball made here and `podman import`ed; hello-go is the example Go function, built with the
# local Go toolchain and `podman build` FROM scratch. Existing images are kept unless --force.
# Run it as the user whose Podman storage the service uses (root for the rootful service).
set -euo pipefail

PROG=build-images
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUSYBOX_IMAGE=localhost/podrun/busybox:latest
HELLO_GO_IMAGE=localhost/podrun/hello-go:latest
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO=${GO:-go}

usage() {
	cat <<EOF
Usage: scripts/build-images.sh [--force]

Builds ${BUSYBOX_IMAGE} from the static busybox binary (package busybox-static)
and ${HELLO_GO_IMAGE} from examples/functions/hello-go (needs Go; \$GO picks the toolchain).
  --force   rebuild images that already exist
EOF
}

force=false
for arg in "$@"; do
	case ${arg} in
	--force) force=true ;;
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

command -v podman >/dev/null 2>&1 || die "podman is not installed: run scripts/setup-host.sh first"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/podrun-images.XXXXXX")
trap 'rm -rf "${workdir}"' EXIT

# build_busybox makes a rootfs holding only the static busybox, its applets, root and nobody.
build_busybox() {
	local busybox=/bin/busybox rootfs=${workdir}/busybox applet
	if [[ ! -x ${busybox} ]] || ! "${busybox}" true 2>/dev/null; then
		die "${busybox} is missing: install busybox-static (scripts/setup-host.sh does)"
	fi
	if ldd "${busybox}" >/dev/null 2>&1; then
		die "${busybox} is dynamically linked; the image needs the static one from busybox-static"
	fi
	mkdir -p "${rootfs}/bin" "${rootfs}/etc" "${rootfs}/tmp"
	chmod 1777 "${rootfs}/tmp"
	cp "${busybox}" "${rootfs}/bin/busybox"
	for applet in $("${busybox}" --list); do
		if [[ ${applet} != busybox && ! -e ${rootfs}/bin/${applet} ]]; then
			ln -s busybox "${rootfs}/bin/${applet}"
		fi
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"${rootfs}/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"${rootfs}/etc/group"
	# Fixed owners, order and times make the tarball, and so the layer, the same on every build.
	tar --create --file "${workdir}/busybox.tar" --directory "${rootfs}" \
		--numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 .
	podman import --quiet \
		--change 'CMD ["/bin/sh"]' \
		--change 'ENV PATH=/bin' \
		--message "podrun: static busybox $("${busybox}" | head -n1 | cut -d' ' -f2)" \
		"${workdir}/busybox.tar" "${BUSYBOX_IMAGE}" >/dev/null
}

# build_hello_go packages the example Go function: a static binary in a FROM scratch image.
build_hello_go() {
	local example=${ROOT}/examples/functions/hello-go context=${workdir}/hello-go
	command -v "${GO}" >/dev/null 2>&1 || die "${GO} not found: building ${HELLO_GO_IMAGE} needs a Go toolchain"
	mkdir -p "${context}"
	# Static, and with -trimpath reproducible: with --timestamp 0 an unchanged program
	# rebuilds to the same image ID.
	(cd "${ROOT}" && CGO_ENABLED=0 "${GO}" build -trimpath -ldflags '-s -w' -o "${context}/hello" "${example}/main.go")
	podman build --quiet --timestamp 0 --tag "${HELLO_GO_IMAGE}" --file "${example}/Containerfile" "${context}" >/dev/null
}

# build IMAGE FUNCTION builds IMAGE with FUNCTION unless it exists and --force was not given.
build() {
	local image=$1 builder=$2 old="" new
	if podman image exists "${image}"; then
		if ! ${force}; then
			log "${image} exists (use --force to rebuild)"
			return 0
		fi
		old=$(podman image inspect --format '{{.Id}}' "${image}")
	fi
	log "building ${image}"
	"${builder}"
	new=$(podman image inspect --format '{{.Id}}' "${image}")
	if [[ -n ${old} && ${old} != "${new}" ]]; then
		# The old image is now untagged; it stays only while a container still uses it.
		podman image rm "${old}" >/dev/null 2>&1 || true
	fi
	log "built ${image} (${new:0:12})"
}

build "${BUSYBOX_IMAGE}" build_busybox
build "${HELLO_GO_IMAGE}" build_hello_go
