package sandbox

import (
	"fmt"
	"os"
	"strconv"

	"github.com/containers/podman/v5/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podrun/podrun/sandbox/seccomp"
)

// ContainerHostname is every container's host name. It is the same for all
// and names neither the agent nor the host (Podman's default is the
// container's ID; its /etc/hosts would list the host's own names).
const ContainerHostname = "sandbox"

// hostsFile is /etc/hosts in every container: the loopback names and the
// container's own, nothing of the host's /etc/hosts and no
// host.containers.internal, which Podman 4.3 adds even with network none.
const hostsFile = "127.0.0.1\tlocalhost " + ContainerHostname + "\n" +
	"::1\tlocalhost ip6-localhost ip6-loopback " + ContainerHostname + "\n"

// maskedPaths hide host details the kernel shows every container, beyond
// those Podman masks itself (/proc/kcore, /proc/keys, /sys/firmware...): runc
// mounts /dev/null over a file and an empty read-only tmpfs over a directory;
// a path the host lacks is skipped.
var maskedPaths = []string{
	"/proc/cmdline",                   // the host kernel's boot parameters, which can carry configuration and secrets
	"/proc/sys/kernel/random/boot_id", // one identifier per host boot, shared by every container: lets agents find out they share a host
	"/sys/devices/virtual/dmi",        // the machine's vendor, model and serial numbers (also /sys/class/dmi/id)
}

// isolate keeps host details and host memory out of the container: IPC and
// cgroup namespaces of its own (/proc/self/cgroup then shows "/", not the
// host's cgroup path), /dev/shm a tmpfs in the container's own mount
// namespace, so the kernel frees it when the last process ends (Podman's own
// /dev/shm is a host mount that outlives the container until it is removed),
// a neutral host name and hosts file, and maskedPaths.
func isolate(s *specgen.SpecGenerator, cfg Config) {
	s.IpcNS = specgen.Namespace{NSMode: specgen.Private}
	s.CgroupNS = specgen.Namespace{NSMode: specgen.Private}
	s.Hostname = ContainerHostname
	s.Mask = append(s.Mask, maskedPaths...)
	s.Mounts = append(s.Mounts, spec.Mount{
		Destination: "/dev/shm",
		Type:        "tmpfs",
		Source:      "shm",
		Options:     []string{"rw", "nosuid", "nodev", "noexec", "mode=1777", "size=" + strconv.FormatInt(cfg.ShmSize, 10)},
	})
	if cfg.hostsPath != "" {
		s.Mounts = append(s.Mounts, spec.Mount{
			Destination: "/etc/hosts",
			Type:        "bind",
			Source:      cfg.hostsPath,
			Options:     []string{"bind", "ro", "nosuid", "nodev", "noexec"},
		})
	}
}

// stageHostFiles puts in the state dir the files Podman reads by path on its
// host: podrun's seccomp profile (unless SeccompProfile names another), the
// hosts file, the profile compiled for gVisor containers' execs (with
// GVisorURI; see FilterTarget), and a copy of the shim, so that a container's mountinfo shows
// the state dir rather than wherever the operator keeps podrun's binaries.
func (c *Config) stageHostFiles() error {
	if err := privateDir(c.StateDir); err != nil {
		return err
	}
	var err error
	if c.SeccompProfile == "" {
		if c.SeccompProfile, err = install(c.StateDir, "seccomp", seccomp.JSON(), 0o644); err != nil {
			return err
		}
	}
	if c.hostsPath, err = install(c.StateDir, "hosts", []byte(hostsFile), 0o644); err != nil {
		return err
	}
	if c.GVisorURI != "" {
		if err := c.stageFilter(); err != nil {
			return err
		}
	}
	if c.ShimPath != "" {
		shim, err := os.ReadFile(c.ShimPath)
		if err != nil {
			return fmt.Errorf("sandbox shim: %w", err)
		}
		if c.ShimPath, err = install(c.StateDir, "podrun-shim", shim, 0o755); err != nil {
			return err
		}
	}
	return nil
}
