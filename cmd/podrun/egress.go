package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/egress"
	"github.com/podrun/podrun/httpapi"
	"github.com/podrun/podrun/runner"
)

// openEgress starts podrun's egress proxy when egress is enabled: its
// listeners live in the sandbox's state dir, a directory per instance (on the Podman host, which is
// this one: podrun reaches Podman through a unix socket), and every decision
// becomes an event in the agent's history and a metric. record reaches the
// runner once it exists; nil without egress.
func openEgress(cfg configs.Config, instance string, metrics *httpapi.Metrics, log *slog.Logger, history func() *runner.Runner) (*egress.Proxy, error) {
	if !cfg.Egress.Enabled {
		return nil, nil
	}
	p, err := egress.New(egress.Config{
		Dir:    filepath.Join(cfg.Sandbox.StateDir, "egress", instance), // instances sharing a state dir prune only their own
		Hosts:  cfg.Egress.Hosts,
		Logger: log,
		Record: func(d egress.Decision) {
			metrics.Egress(d.Allowed, d.Sent, d.Received)
			r := history()
			if r == nil || d.Agent == "" {
				log.Info("egress", "key", d.Key, "allowed", d.Allowed, "detail", egressDetail(d))
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.RecordEgress(ctx, d.Agent, d.Allowed, egressDetail(d)); err != nil {
				log.Warn("record egress decision", "agent", d.Agent, "err", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	return p, nil
}

// egressDetail is a decision in words, the Detail of its event.
func egressDetail(d egress.Decision) string {
	dest := fmt.Sprintf("%s %s:%d", d.Method, d.Host, d.Port)
	if d.Host == "" {
		dest = d.Method
	}
	if !d.Allowed {
		return dest + ": " + d.Reason
	}
	s := fmt.Sprintf("%s via %s: sent %d bytes, received %d bytes in %s", dest, d.Addr, d.Sent, d.Received, d.Duration.Round(time.Millisecond))
	if d.Reason != "" {
		s += " (" + d.Reason + ")"
	}
	return s
}
