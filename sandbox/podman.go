// Package sandbox runs podrun's agents as hardened Podman containers. It is
// the only package that imports the Podman bindings.
package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/podrun/podrun/runner"
)

// Podman is a runner.Sandbox backed by a Podman API service.
type Podman struct {
	cfg  Config
	conn context.Context // carries the bindings' connection; never cancelled
	// gvisor carries the connection to Config.GVisorURI, nil without one.
	gvisor context.Context
	// gvisorRuntime is the gVisor service's runtime in words, for Probe.
	gvisorRuntime string
	sock          string // unix socket path, for the hijacking client

	// fresh holds containers created here and not yet attached or started: an
	// attach to them needs no state check (see Attach).
	fresh sync.Map

	slots  chan struct{} // one token per API call in flight; see acquire
	images imageCache    // image entrypoints and commands, for the shim

	hostMu  sync.Mutex
	host    *runner.Host  // what podman info said, asked once; see hostInfo
	cgroups memoryCgroups // where the kernel counts containers' OOM kills
	kernel  kernelStats   // where the monitor reads what Podman's stats leave out
	// runtimeOK is set once a container was seen to get Config.Runtime (see checkRuntime).
	runtimeOK atomic.Bool
	// noExecShim holds containers found without the shim (made before it
	// was mounted in every container), or where it cannot work (gVisor):
	// their execs run without it.
	noExecShim sync.Map
	// execShimOK holds containers whose execs were seen to run under the shim.
	execShimOK sync.Map
	// execFilters holds, per container, whether its execs need podrun's
	// seccomp filter (gVisor) and whether it has it (see shimFilter).
	execFilters sync.Map
	// gvisorRuntimeName is the gVisor service's runtime as containers' inspect shows it.
	gvisorRuntimeName string
}

var _ runner.Sandbox = (*Podman)(nil)

// New connects to Podman (one ping), checks that runc can set the configured
// rlimits under the service's own hard limits and, unless Config.Runtime
// names one, resolves the runtime from the host's cgroup version. It refuses
// a Config with a required field unset. Its errors name the URI or the key.
func New(ctx context.Context, cfg Config) (*Podman, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URI)
	if err != nil || u.Scheme != "unix" {
		// Attach and exec hijack the connection; only a unix socket is implemented.
		return nil, fmt.Errorf("sandbox URI %q: want unix:///path/to/podman.sock", cfg.URI)
	}
	if cfg.ShimPath != "" {
		if err := checkShim(cfg.ShimPath); err != nil {
			return nil, err
		}
	}
	if err := cfg.stageHostFiles(); err != nil {
		return nil, err
	}
	p := &Podman{cfg: cfg, sock: u.Path, slots: make(chan struct{}, cfg.MaxConcurrentCalls), cgroups: hostMemoryCgroups(), kernel: hostKernelStats()}
	start := time.Now()
	// The bindings keep the context for every later call: detach it from ctx's cancellation.
	conn, err := bindings.NewConnection(context.WithoutCancel(ctx), cfg.URI)
	p.observe("connect", start)
	if err != nil {
		return nil, fmt.Errorf("connect to podman at %s: %w\n%s", cfg.URI, err, StartHint(cfg.URI))
	}
	p.conn = conn
	if err := p.tuneTransport(); err != nil {
		return nil, err
	}
	// Where the service's process cannot be seen, runc's own error at the
	// first start says the same, later.
	if r, err := readServiceRlimits(p.sock); err == nil {
		if err := cfg.checkRlimits(r); err != nil {
			return nil, err
		}
	}
	if cfg.GVisorURI != "" {
		if err := p.connectGVisor(ctx); err != nil {
			return nil, err
		}
	}
	if _, err := p.pruneStateDir(ctx, time.Now()); err != nil {
		return nil, err
	}
	if p.cfg.Runtime == "" {
		h, err := p.hostInfo(ctx)
		if err != nil {
			return nil, err
		}
		if h.CgroupVersion == "v1" {
			p.cfg.Runtime = "runc" // crun fails on hybrid cgroup v1 hosts
		}
	}
	return p, nil
}

// StartHint tells an operator how to start the Podman service at uri.
func StartHint(uri string) string {
	return fmt.Sprintf("Is the Podman service running? Start it with `make setup` in podrun's source tree, "+
		"or run `podman system service --time=0 %s &` as the user whose containers podrun should run.", uri)
}

// tuneTransport replaces the bindings' transport, before any concurrent use,
// with one that keeps enough idle connections for parallel agents (the
// default keeps two, so bursts would redial every request).
func (p *Podman) tuneTransport() error {
	c, err := bindings.GetClient(p.conn)
	if err != nil {
		return err
	}
	c.Client.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", p.sock)
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return nil
}

// Close releases idle connections to the service.
func (p *Podman) Close() error {
	for _, conn := range []context.Context{p.conn, p.gvisor} {
		if conn == nil {
			continue
		}
		if c, err := bindings.GetClient(conn); err == nil {
			c.Client.CloseIdleConnections()
		}
	}
	return nil
}

// Config returns the effective configuration, defaults and runtime resolved.
func (p *Podman) Config() Config { return p.cfg }

// call returns a context for one bindings call: the connection's values with
// the caller's deadline and cancellation.
func (p *Podman) call(ctx context.Context) context.Context {
	return callContext{Context: ctx, conn: p.conn}
}

type callContext struct {
	context.Context
	conn context.Context
}

func (c callContext) Value(key any) any {
	if v := c.conn.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

// observe reports one API call's latency; call it as defer p.observe(op, time.Now()).
func (p *Podman) observe(op string, start time.Time) {
	if p.cfg.Observe != nil {
		p.cfg.Observe(op, time.Since(start))
	}
}
