package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/containers/podman/v5/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/shimproto"
	"github.com/podrun/podrun/sandbox/seccomp"
)

// FilterTarget is where a gVisor container finds the seccomp filter its
// execs run under: the container's profile compiled to BPF by podrun.
//
// runsc applies the container's seccomp profile to the container's own
// process, but starts a process of `podman exec` without it, so an exec in
// a gVisor container would reach nested user namespaces, ptrace and every
// other call the profile denies (TestGVisorExecIsFiltered). Every exec and
// file transfer podrun runs goes through the shim, so in a gVisor container
// the shim installs this filter itself before it runs anything
// (shimproto.SeccompFlag); gVisor's Sentry implements seccomp(2) for the
// processes it runs.
const FilterTarget = "/.podrun/seccomp"

// stageFilter compiles the profile containers get (Config.SeccompProfile,
// podrun's own unless configured) for this machine's architecture and
// kernel and a process without capabilities, and installs it in the state
// dir for gVisor containers (see FilterTarget). A profile podrun cannot
// read or compile does not stop New: execs and file transfers in gVisor
// containers are then refused with the reason (filterErr).
func (c *Config) stageFilter() error {
	profile, err := os.ReadFile(c.SeccompProfile)
	if err != nil {
		c.filterErr = fmt.Errorf("podrun cannot read the seccomp profile to filter execs in gVisor containers: %v", err)
		return nil
	}
	prog, err := seccomp.Compile(profile, seccomp.Target{GOARCH: runtime.GOARCH, Kernel: kernelRelease()})
	if err != nil {
		c.filterErr = fmt.Errorf("podrun cannot compile sandbox.seccomp_profile %s to filter execs in gVisor containers: %v", c.SeccompProfile, err)
		return nil
	}
	c.filterPath, err = install(c.StateDir, "seccomp-filter", seccomp.Encode(prog), 0o644)
	return err
}

// kernelRelease is uname -r, for the profile's minKernel rules: Podman
// reads the host's kernel when it resolves a profile, so podrun does too.
func kernelRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	b := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// mountFilter bind-mounts the compiled filter, read-only, into a gVisor container.
func mountFilter(s *specgen.SpecGenerator, filterPath string) {
	if filterPath == "" {
		return
	}
	s.Mounts = append(s.Mounts, spec.Mount{
		Destination: FilterTarget,
		Type:        "bind",
		Source:      filterPath,
		Options:     []string{"bind", "ro", "nosuid", "nodev", "noexec"},
	})
}

// execFilter is what a container needs so that an exec in it is filtered:
// known once per container (one inspect), as neither its runtime nor its
// mounts change.
type execFilter struct {
	gvisor  bool // created under runsc
	mounted bool // with the filter at FilterTarget
}

// shimFilter returns the shim's first arguments that put it, in container
// id, under podrun's seccomp filter: none for a runc container (runc applies the
// profile to execs itself), SeccompFlag FilterTarget for a gVisor one. A
// gVisor container that cannot be filtered (no shim, or created without the
// filter) is refused with a FieldError naming isolation: running its exec
// unfiltered would let it do what its profile denies.
func (p *Podman) shimFilter(ctx context.Context, id string) ([]string, error) {
	f, ok := p.execFilters.Load(id)
	if !ok {
		data, err := p.inspect(ctx, id)
		if err != nil {
			return nil, err
		}
		ef := execFilter{gvisor: p.isGVisorRuntime(data.OCIRuntime)}
		for _, m := range data.Mounts {
			ef.mounted = ef.mounted || m.Destination == FilterTarget
		}
		p.execFilters.Store(id, ef)
		f = ef
	}
	ef := f.(execFilter)
	switch {
	case !ef.gvisor:
		return nil, nil
	case p.cfg.ShimPath == "":
		return nil, p.unfilterable(id, "podrun filters them through its shim, and sandbox.shim_path is empty")
	case !ef.mounted && p.cfg.filterErr != nil:
		return nil, p.unfilterable(id, p.cfg.filterErr.Error())
	case !ef.mounted:
		return nil, p.unfilterable(id, "the container was created without podrun's seccomp filter (by an older podrun, or one without sandbox.seccomp_profile compiled); a new agent gets it")
	}
	return []string{shimproto.SeccompFlag, FilterTarget}, nil
}

func (p *Podman) unfilterable(id, why string) error {
	return fmt.Errorf("exec in container %s: %w", id, &runner.FieldError{Field: "isolation",
		Message: "exec and file transfers in this gvisor agent cannot run under its seccomp profile: " + why})
}

// isGVisorRuntime reports whether a container's OCI runtime (its inspect's
// OCIRuntime: the runtime's name or path) is the gVisor service's, or runsc
// under any name podrun's wrappers give it.
func (p *Podman) isGVisorRuntime(rt string) bool {
	return rt != "" && (rt == p.gvisorRuntimeName || strings.Contains(filepath.Base(rt), "runsc"))
}
