package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/system"
	"github.com/podrun/podrun/runner"
)

// Probe describes the container host; Runtime is the runtime containers get, not Podman's default.
func (p *Podman) Probe(ctx context.Context) (runner.Host, error) {
	start := time.Now()
	info, err := system.Info(p.call(ctx), nil)
	p.observe("info", start)
	if err != nil {
		return runner.Host{}, fmt.Errorf("podman info: %w", err)
	}
	h := runner.Host{Runtime: p.cfg.Runtime}
	if info.Version.Version != "" {
		h.Version = info.Version.Version
	}
	if info.Host != nil {
		h.Rootless = info.Host.Security.Rootless
		h.CgroupVersion = info.Host.CgroupsVersion
		h.Controllers = info.Host.CgroupControllers
		if h.Runtime == "" && info.Host.OCIRuntime != nil {
			h.Runtime = info.Host.OCIRuntime.Name
		}
	}
	return h, nil
}

// Ping reports whether the Podman service answers.
func (p *Podman) Ping(ctx context.Context) error {
	conn, err := bindings.GetClient(p.conn)
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := conn.DoRequest(p.call(ctx), nil, http.MethodGet, "/_ping", nil, nil)
	p.observe("ping", start)
	if err != nil {
		return fmt.Errorf("ping podman: %w", err)
	}
	defer resp.Body.Close()
	if err := resp.Process(nil); err != nil {
		return fmt.Errorf("ping podman: %w", err)
	}
	return nil
}
