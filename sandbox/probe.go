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

// Probe describes the container host; Runtime is the runtime containers get,
// not Podman's default. Podman is asked once (podman info takes a second or
// more on a busy host): later calls, and New's, share the answer.
func (p *Podman) Probe(ctx context.Context) (runner.Host, error) {
	h, err := p.hostInfo(ctx)
	if err != nil {
		return runner.Host{}, err
	}
	if p.cfg.Runtime != "" {
		h.Runtime = p.cfg.Runtime
	}
	h.Runtimes = map[string]string{runner.IsolationRunc: h.Runtime}
	if h.RuntimeVersion != "" && p.cfg.Runtime == "" {
		h.Runtimes[runner.IsolationRunc] = h.RuntimeVersion
	}
	if p.gvisor != nil {
		h.Runtimes[runner.IsolationGVisor] = p.gvisorRuntime
	}
	return h, nil
}

// hostInfo returns podman info's answer, asking for it only the first time.
func (p *Podman) hostInfo(ctx context.Context) (runner.Host, error) {
	p.hostMu.Lock()
	defer p.hostMu.Unlock()
	if p.host == nil {
		h, err := p.info(ctx)
		if err != nil {
			return runner.Host{}, err
		}
		p.host = &h
	}
	h := *p.host
	h.Controllers = slices.Clone(h.Controllers)
	h.Runtimes = nil
	return h, nil
}

// acceptedWarnings are the create warnings this host and configuration accept:
// Podman's word that it ignores limits, where they were allowed to be and are.
func (p *Podman) acceptedWarnings(ctx context.Context) ([]string, error) {
	if !p.cfg.AllowUnenforcedLimits {
		return nil, nil
	}
	h, err := p.hostInfo(ctx)
	if err != nil || runner.LimitsUnenforced(h) == "" {
		return nil, err
	}
	return []string{limitsIgnoredWarning}, nil
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
		h.CPUs, h.Memory = info.Host.CPUs, info.Host.MemTotal
		if info.Host.OCIRuntime != nil {
			h.Runtime = info.Host.OCIRuntime.Name
			h.RuntimeVersion = firstLine(info.Host.OCIRuntime.Version)
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
