package sandbox

import (
	"math"
	"strconv"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/shimproto"
	"go.podman.io/storage/types"
)

// cpuPeriod is the CFS period in microseconds; the quota is a share of it.
const cpuPeriod = 100000

// Harden turns what the runner asks for into a Podman spec with every
// confinement podrun relies on. Podman 4.3 silently drops fields it does not
// know, so the tests check the result from inside a container.
func Harden(rs runner.Spec, cfg Config) *specgen.SpecGenerator {
	s := specgen.NewSpecGenerator(rs.Image, false)
	s.Name = rs.Name
	s.Command = rs.Command
	s.Env = rs.Env
	s.Labels = rs.Labels
	s.Stdin = ptr(true)     // keep stdin open so Attach can feed it and close it
	s.Terminal = ptr(false) // multiplexed streams keep stdout and stderr apart
	s.Systemd = "false"     // never switch to systemd mode, whatever the command is
	s.OCIRuntime = cfg.Runtime

	// Privileges: no capabilities, no way to gain any, and podrun's seccomp
	// profile (New installs it; execs run under the container's profile).
	s.CapDrop = []string{"ALL"}
	s.NoNewPrivileges = ptr(true)
	s.SeccompProfilePath = cfg.SeccompProfile
	if cfg.SeccompProfile != "" {
		// As the CLI does: podman inspect shows the profile from this annotation.
		s.Annotations = map[string]string{define.InspectAnnotationSeccomp: cfg.SeccompProfile}
	}

	// Own user namespace: root inside maps to an unprivileged host range. The
	// IDMappings must come from the client or Podman uses the host namespace.
	s.UserNS = specgen.Namespace{NSMode: specgen.Auto}
	s.IDMappings = &types.IDMappingOptions{
		AutoUserNs:     true,
		AutoUserNsOpts: types.AutoUserNsOptions{Size: cfg.UserNSSize},
	}

	s.NetNS = specgen.Namespace{NSMode: specgen.NamespaceMode(cfg.Network)}
	isolate(s, cfg)

	// Read-only root; the only writable place is a size-capped /tmp (4.3
	// ignores read_write_tmpfs, so the mount is explicit).
	s.ReadOnlyFilesystem = ptr(true)
	s.Mounts = append(s.Mounts, spec.Mount{
		Destination: "/tmp",
		Type:        "tmpfs",
		Source:      "tmpfs",
		Options:     []string{"rw", "nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(cfg.TmpfsSize, 10)},
	})

	s.ResourceLimits = resources(rs.Limits)
	// Explicit rlimits: runc here rejects Podman's defaults (hard nofile above 20000).
	s.Rlimits = []spec.POSIXRlimit{
		{Type: "nofile", Hard: cfg.NoFile, Soft: cfg.NoFile},
		{Type: "nproc", Hard: cfg.NProc, Soft: cfg.NProc},
	}

	s.LogConfiguration = &specgen.LogConfig{Driver: "k8s-file", Size: cfg.LogMaxSize}
	if cfg.ShimPath != "" {
		mountShim(s, cfg.ShimPath) // execs run under it (see Exec), in every container
	}
	if rs.Shim {
		// Create has checked cfg.ShimPath and resolved an empty command.
		s.Entrypoint = []string{ShimTarget}
	}
	if rs.KeepAlive {
		// Create has checked cfg.ShimPath and that there is no command.
		s.Entrypoint, s.Command = []string{ShimTarget, shimproto.WaitFlag}, nil
	}
	withEgress(s, rs)
	return s
}

// resources maps runner limits to cgroup settings; zero limits are left unset.
func resources(l runner.Limits) *spec.LinuxResources {
	r := &spec.LinuxResources{}
	if l.Memory > 0 {
		// Swap is memory+swap: equal to the limit means no swap at all.
		r.Memory = &spec.LinuxMemory{Limit: ptr(l.Memory), Swap: ptr(l.Memory)}
	}
	if l.CPUs > 0 {
		r.CPU = &spec.LinuxCPU{Period: ptr(uint64(cpuPeriod)), Quota: ptr(cpuQuota(l.CPUs))}
	}
	if l.PIDs > 0 {
		r.Pids = &spec.LinuxPids{Limit: l.PIDs}
	}
	return r
}

// cpuQuota is the CFS quota for cpus CPUs; the kernel refuses quotas under 1ms.
func cpuQuota(cpus float64) int64 {
	return max(int64(math.Round(cpus*cpuPeriod)), 1000)
}

func ptr[T any](v T) *T { return &v }
