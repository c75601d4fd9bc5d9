package sandbox

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/system"
	"github.com/containers/podman/v5/pkg/specgen"
	"github.com/podrun/podrun/runner"
)

// gvisorPIDOverhead is added to a gVisor container's PID limit. Its
// processes are the Sentry's tasks, not host processes: the host's pids
// cgroup counts the Sentry's and the gofer's threads (about 130 for an idle
// sandbox on 2 cores, measured) and, under runsc's default ptrace platform,
// a stub process per address space, that is per live process inside. With
// the plain limit the sandbox dies at start (32: "failed to create new OS
// thread (have 17 already; errno=11)"), or silently, exit code 2 and its
// output cut, after a few dozen forks (128); with this overhead the limit
// bounds the agent's own processes about as it does under runc.
const gvisorPIDOverhead = 512

// connectGVisor connects to Config.GVisorURI, the Podman service that
// creates gVisor containers, and checks that its default runtime is runsc:
// Podman's API cannot choose a runtime per container (see checkRuntime), so
// the tier is a second service on the same host and storage whose default
// runtime is runsc. Only creates go there; the container then belongs to
// Podman's storage like any other, and the ordinary service starts, attaches
// to, execs in and removes it (it runs the runtime by the path it was
// created with).
func (p *Podman) connectGVisor(ctx context.Context) error {
	u, err := url.Parse(p.cfg.GVisorURI)
	if err != nil || u.Scheme != "unix" {
		return fmt.Errorf("sandbox gVisor URI %q: want unix:///path/to/podman.sock", p.cfg.GVisorURI)
	}
	conn, err := bindings.NewConnection(context.WithoutCancel(ctx), p.cfg.GVisorURI)
	if err != nil {
		return fmt.Errorf("connect to the gVisor podman service at %s: %w", p.cfg.GVisorURI, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := system.Info(callContext{Context: ctx, conn: conn}, nil)
	if err != nil {
		return fmt.Errorf("ask the gVisor podman service at %s about its runtime: %w", p.cfg.GVisorURI, err)
	}
	rt := info.Host.OCIRuntime
	if rt == nil || !strings.HasPrefix(rt.Version, "runsc") {
		return fmt.Errorf("the gVisor podman service at %s runs containers under %+v, not runsc: start it with a containers.conf whose [engine] runtime is the path of a runsc wrapper (docs/isolation.md)", p.cfg.GVisorURI, rt)
	}
	p.gvisor = conn
	p.gvisorRuntimeName = rt.Name
	p.gvisorRuntime = firstLine(rt.Version) + " (" + rt.Path + ")"
	return nil
}

// checkIsolation refuses, with ErrInvalid, an isolation this sandbox cannot give.
func (p *Podman) checkIsolation(rs runner.Spec) error {
	switch {
	case rs.Isolation == "":
		return nil
	case rs.Isolation != runner.IsolationGVisor:
		return fmt.Errorf("isolation %q: want empty or %q: %w", rs.Isolation, runner.IsolationGVisor, runner.ErrInvalid)
	case p.gvisor == nil:
		return fmt.Errorf("isolation %q: this podrun has no gVisor service (sandbox gVisor URI; docs/isolation.md): %w", rs.Isolation, runner.ErrInvalid)
	}
	return nil
}

// creator returns the bindings' context, derived from ctx, that creates rs's
// container: through the gVisor service for a gVisor container.
func (p *Podman) creator(ctx context.Context, rs runner.Spec) context.Context {
	if rs.Isolation == runner.IsolationGVisor {
		return callContext{Context: ctx, conn: p.gvisor}
	}
	return ctx
}

// forGVisor adapts the hardened spec to gVisor: room in the PID limit for the Sentry's threads.
func forGVisor(s *specgen.SpecGenerator) {
	if s.ResourceLimits != nil && s.ResourceLimits.Pids != nil && s.ResourceLimits.Pids.Limit > 0 {
		s.ResourceLimits.Pids.Limit += gvisorPIDOverhead
	}
}

// firstLine is s up to its first newline (runsc's version has a second line, its spec).
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
