package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/system"
	"github.com/podrun/podrun/runner"
)

// Probe describes the container host as New found it; Runtime is the runtime
// containers get, not Podman's default.
func (p *Podman) Probe(context.Context) (runner.Host, error) {
	h := p.host
	h.Controllers = slices.Clone(h.Controllers)
	return h, nil
}

// info asks Podman about the host; Runtime is Podman's default runtime.
func (p *Podman) info(ctx context.Context) (runner.Host, error) {
	start := time.Now()
	info, err := system.Info(p.call(ctx), nil)
	p.observe("info", start)
	if err != nil {
		return runner.Host{}, fmt.Errorf("ask podman at %s about the host (podman info): %w", p.cfg.URI, err)
	}
	var h runner.Host
	if info.Version.Version != "" {
		h.Version = info.Version.Version
	}
	if info.Host != nil {
		h.Rootless = info.Host.Security.Rootless
		h.CgroupVersion = info.Host.CgroupsVersion
		h.Controllers = info.Host.CgroupControllers
		if info.Host.OCIRuntime != nil {
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
