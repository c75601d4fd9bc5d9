package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/egress"
	"github.com/podrun/podrun/httpapi"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/sqlite"
	"github.com/podrun/podrun/sandbox"
	"github.com/podrun/podrun/ttl"
)

// Daemon is a running `podrun serve`: store, sandbox, runner, loops and HTTP server.
type Daemon struct {
	cfg      configs.Config
	log      *slog.Logger
	store    *sqlite.Store
	runner   *runner.Runner
	reaper   *ttl.Reaper
	sweeper  *ttl.Sweeper
	monitor  *ttl.Monitor
	listener *httpapi.Listener
	api      *httpapi.Server
	timeouts httpapi.Timeouts
	egress   *egress.Proxy // nil with egress disabled
	instance string
	lock     *dataDirLock
	closing  sync.Once
}

// OpenDaemon wires every part from cfg and starts the loops; Run serves HTTP.
// It locks the data dir and binds the listener before it touches the store or
// any container, so a second start on the same data dir or port fails at once
// and changes nothing (a *DataDirInUseError names the holder's PID).
func OpenDaemon(ctx context.Context, cfg configs.Config, log *slog.Logger) (*Daemon, error) {
	return openDaemon(ctx, cfg, log, nil)
}

// openDaemon is OpenDaemon serving on ln when it is not nil (a socket systemd
// passed), instead of binding cfg.Listen; ln is closed if opening fails.
func openDaemon(ctx context.Context, cfg configs.Config, log *slog.Logger, ln net.Listener) (_ *Daemon, err error) {
	d := &Daemon{cfg: cfg, log: log}
	if ln != nil {
		d.listener = httpapi.NewListener(ln)
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if d.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if d.listener == nil {
		if d.listener, err = httpapi.Listen(cfg.Listen); err != nil {
			return nil, err
		}
	}
	if d.instance, err = instanceID(cfg.DataDir); err != nil {
		return nil, err
	}
	if d.store, err = sqlite.Open(filepath.Join(cfg.DataDir, "podrun.db")); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	metrics := httpapi.NewMetrics()
	shim, err := shimPath(cfg.Sandbox.ShimPath)
	if err != nil {
		return nil, err
	}
	sc := sandboxConfig(cfg, shim, metrics.ObservePodman)
	sc.Instance = d.instance // secrets are scoped per instance
	sb, err := sandbox.New(ctx, sc)
	if err != nil {
		return nil, err // it names the socket and how to start Podman
	}
	if d.egress, err = openEgress(cfg, d.instance, metrics, log, func() *runner.Runner { return d.runner }); err != nil {
		return nil, err
	}
	var gate runner.EgressGate
	if d.egress != nil {
		gate = d.egress
	}
	inv := cfg.Invoke
	limiter := runner.NewLimiter(inv.MaxConcurrency, inv.QueueLength, inv.QueueWait.Duration)
	metrics.ObserveLimiter(limiter)
	d.runner, err = runner.New(sb, d.store, runner.Config{
		Instance:              d.instance,
		Policy:                cfg.Policy(),
		FunctionPolicy:        cfg.FunctionPolicy(),
		AllowUnenforcedLimits: cfg.AllowUnenforcedLimits,
		StopTimeout:           cfg.Sandbox.StopTimeout.Duration,
		SucceededGrace:        cfg.Cleanup.SucceededGrace.Duration,
		FailedGrace:           cfg.Cleanup.FailedGrace.Duration,
		OrphanGrace:           cfg.Cleanup.OrphanGrace.Duration,
		Retention:             cfg.Cleanup.Retention.Duration,
		LogTail:               int(cfg.Cleanup.LogTail),
		Limiter:               limiter,
		Notifier:              httpapi.NewCallbacks(inv.CallbackTimeout.Duration),
		CallbackAttempts:      inv.CallbackAttempts,
		CallbackBackoff:       inv.CallbackBackoff.Duration,
		Webhooks:              httpapi.NewWebhooks(inv.CallbackTimeout.Duration, cfg.Webhooks.Secret, cfg.Webhooks.AllowPrivate),
		WebhookURL:            cfg.Webhooks.URL,
		WebhookWarnBefore:     cfg.Webhooks.WarnBefore.Duration,
		WarmMaxIdle:           inv.WarmMaxIdle.Duration,
		CallTimeout:           cfg.Sandbox.CallTimeout.Duration,
		MaxUpload:             int64(cfg.Files.MaxUpload),
		Egress:                gate,
		Thresholds:            cfg.Monitor.Thresholds(),
		Logger:                log,
		Observer:              metrics,
	})
	if err != nil {
		return nil, err
	}
	if err := d.runner.Open(ctx); err != nil {
		return nil, err
	}
	if d.egress != nil { // the agents that run on have their listeners back: the rest ended
		if removed, err := d.egress.Prune(); err != nil {
			log.Warn("prune egress listeners", "err", err)
		} else if len(removed) > 0 {
			log.Info("pruned egress listeners of ended agents", "count", len(removed))
		}
	}
	if err := d.runner.LoadFunctions(ctx, functionRequests(cfg)); err != nil {
		return nil, err
	}
	d.reaper = ttl.NewReaper(d.runner, log)
	d.reaper.Open()
	d.sweeper = ttl.NewSweeper(d.runner, cfg.Cleanup.SweepInterval.Duration, log)
	d.sweeper.Open()
	d.monitor = ttl.NewMonitor(d.runner, cfg.Monitor.Interval.Duration, cfg.Monitor.Timeout.Duration, log)
	d.monitor.Open()
	if d.api, err = httpapi.New(d.runner, httpapi.Options{
		Token: cfg.Token, BasicAuthUser: cfg.HTTP.BasicAuthUser, PublicFunctions: cfg.HTTP.PublicFunctions, MaxBody: int64(cfg.HTTP.MaxBody), MaxInvokeBody: int64(inv.MaxBody), Logger: log, Metrics: metrics,
		Backup: d.store, EventBuffer: cfg.HTTP.EventBuffer, EventSlowAfter: cfg.HTTP.EventSlowClient.Duration,
	}); err != nil {
		return nil, err
	}
	d.timeouts = httpapi.Timeouts{
		ReadHeader: cfg.HTTP.ReadHeaderTimeout.Duration,
		Read:       cfg.HTTP.ReadTimeout.Duration,
		Write:      cfg.HTTP.WriteTimeout.Duration,
		Idle:       cfg.HTTP.IdleTimeout.Duration,
	}
	log.Info("podrun ready", "addr", d.Addr(), "instance", d.instance, "limits_enforced", d.runner.LimitsEnforced(),
		"podman", cfg.PodmanSocket, "data_dir", cfg.DataDir)
	return d, nil
}

// sandboxConfig is the sandbox part of cfg, with the resolved shim and podrun's metrics observing every Podman call.
func sandboxConfig(cfg configs.Config, shim string, observe func(string, time.Duration)) sandbox.Config {
	s := sandbox.ConfigFrom(cfg)
	s.ShimPath, s.Observe = shim, observe
	return s
}

// shimPath finds the static podrun-shim that function containers run: the
// configured path, else the one beside this executable.
func shimPath(configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	path, err := sandbox.DefaultShimPath()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("podrun-shim not found beside podrun (make build puts it there; or set sandbox.shim_path): %w", err)
	}
	return path, nil
}

func functionRequests(cfg configs.Config) map[string]runner.FunctionRequest {
	reqs := make(map[string]runner.FunctionRequest, len(cfg.Functions))
	for name, f := range cfg.Functions {
		reqs[name] = f.Request()
	}
	return reqs
}

// Addr is the address the API listens on (useful with port 0).
func (d *Daemon) Addr() string { return d.listener.Addr() }

// SampleUsage runs one pass of the resource monitor now, bounded like the loop's; see runner.Runner.SampleUsage.
func (d *Daemon) SampleUsage(ctx context.Context) (int, error) { return d.monitor.Step(ctx) }

// Instance is this daemon's instance id, the value of every container's podrun.instance label.
func (d *Daemon) Instance() string { return d.instance }

// Run serves the API until ctx ends, then shuts the server down gracefully
// (httpapi.ShutdownGrace), logging what it drains.
func (d *Daemon) Run(ctx context.Context) error { return d.listener.Serve(ctx, d.api, d.timeouts) }

// Close stops everything in the reverse order of opening; calls after the first do nothing.
// Agents' containers keep running; the next start of this instance takes them back.
func (d *Daemon) Close() { d.closing.Do(d.close) }

func (d *Daemon) close() {
	start := time.Now()
	if d.listener != nil {
		_ = d.listener.Close()
	}
	if d.monitor != nil {
		d.monitor.Close()
	}
	if d.sweeper != nil {
		d.sweeper.Close()
	}
	if d.reaper != nil {
		d.reaper.Close()
	}
	var left map[runner.State]int
	if d.runner != nil {
		left = d.liveAgents()
		_ = d.runner.Close()
	}
	if d.egress != nil {
		d.egress.Shutdown() // after the runner: its supervisors close their listeners first
	}
	if d.store != nil {
		_ = d.store.Close()
	}
	_ = d.lock.Close()
	if d.api != nil { // it was serving: say that it stopped
		d.log.Info("shutdown complete", "agents_left_running", left[runner.StateRunning],
			"agents_left_pending", left[runner.StatePending], "took", time.Since(start).Round(time.Millisecond))
	}
}

// liveAgents counts the agents the next start takes back, for the shutdown log.
func (d *Daemon) liveAgents() map[runner.State]int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := d.runner.CountByState(ctx)
	if err != nil {
		d.log.Warn("count agents at shutdown", "err", err)
	}
	return counts
}

// instanceID reads this installation's id from the data dir, creating it on first start.
func instanceID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "instance-id")
	b, err := os.ReadFile(path)
	if err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read instance id: %w", err)
	}
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write instance id: %w", err)
	}
	return id, nil
}
