package sandbox

import (
	"context"
	"fmt"

	"github.com/podrun/podrun/runner"
)

// checkRuntime verifies, once, that containers get the configured runtime.
// Podman's API ignores SpecGenerator.OCIRuntime (podman#28429, seen on 4.3.1
// and reported against 5.x): a container gets the service's default runtime
// whatever the spec says, so a setting such as runsc (gVisor) would silently
// run agents under runc. When Config.Runtime is not the service's default,
// the first container created is inspected; if it did not get the runtime,
// every create fails (the caller removes the container) until the service's
// own default is changed or the setting is left empty. gVisor containers
// come from their own service (see connectGVisor) and are not checked here.
func (p *Podman) checkRuntime(ctx context.Context, rs runner.Spec, id string) error {
	if p.cfg.Runtime == "" || rs.Isolation != "" || p.runtimeOK.Load() {
		return nil
	}
	h, err := p.hostInfo(ctx)
	if err != nil {
		return err
	}
	if h.Runtime == p.cfg.Runtime {
		p.runtimeOK.Store(true)
		return nil
	}
	data, err := p.inspect(ctx, id)
	if err != nil {
		return err
	}
	if data.OCIRuntime == p.cfg.Runtime {
		p.runtimeOK.Store(true)
		return nil
	}
	return fmt.Errorf("sandbox runtime %q was not applied: Podman created the container with %q, its service's default "+
		"(its API ignores a container's runtime, podman#28429); set the runtime in the Podman service's containers.conf "+
		"([engine] runtime) and leave sandbox.runtime empty", p.cfg.Runtime, data.OCIRuntime)
}
