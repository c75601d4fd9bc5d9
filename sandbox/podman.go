// Package sandbox runs podrun's agents as hardened Podman containers. It is
// the only package that imports the Podman bindings.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/podrun/podrun/runner"
)

// Config says how to reach Podman and how to harden containers; zero fields take defaults.
type Config struct {
	// URI of the Podman API service, e.g. unix:///run/podman/podman.sock.
	URI string
	// Runtime is the OCI runtime; "" picks runc on a cgroup v1 host (crun fails on hybrid v1) and Podman's default otherwise.
	Runtime string
	// Network is the network mode: "none" (default, no network at all), or "slirp4netns", "bridge" or "private" to give agents a network.
	Network string
	// TmpfsSize caps the writable tmpfs on /tmp, in bytes (default 64Mi); the rest of the root filesystem is read-only.
	TmpfsSize int64
	// SeccompProfile is the path of a JSON seccomp profile on the Podman host;
	// "" uses podrun's own (package seccomp), which New installs in StateDir.
	// "unconfined" is refused. Podman's default profile is, on Debian,
	// /usr/share/containers/seccomp.json.
	SeccompProfile string
	// ShmSize caps the tmpfs on /dev/shm, in bytes (default 16Mi). It lives in
	// the container's own mount namespace: its pages count against the memory
	// limit and are freed when the container's last process ends.
	ShmSize int64
	// GVisorURI is a second Podman service, on the same host and storage,
	// whose default runtime is gVisor's runsc (a wrapper adding
	// --network=none --oci-seccomp): containers whose Spec asks for gVisor
	// are created through it. Empty: gVisor is refused.
	GVisorURI string
	// StateDir is a directory of podrun's own, on the Podman host, where New
	// installs the files Podman reads by path (see DefaultStateDir).
	StateDir string
	// NoFile is the soft and hard RLIMIT_NOFILE (default 1024; runc here cannot raise the hard limit above 20000).
	NoFile uint64
	// NProc is the soft and hard RLIMIT_NPROC (default 4096), a backstop behind the pids cgroup limit.
	NProc uint64
	// UserNSSize is how many UIDs and GIDs each container's own user namespace (userns=auto) maps (default 65536).
	UserNSSize uint32
	// LogMaxSize caps each container's k8s-file log, in bytes (default 16Mi).
	LogMaxSize int64
	// PullTimeout bounds an image pull in EnsureImage (default 2m).
	PullTimeout time.Duration
	// ShimPath is the host path of the static podrun-shim binary, bind-mounted
	// read-only into every container: the entrypoint of those whose Spec asks
	// for the shim (required then), and what execs run under so a timed-out
	// exec's whole process tree can be killed (without it, only the exec's
	// first process is).
	ShimPath string
	// MaxConcurrentCalls bounds the Podman API calls in flight at once (default 16), so bursts queue here rather than swamp the service.
	MaxConcurrentCalls int
	// Observe, if set, is called after every Podman API call with the operation's name and latency.
	Observe func(op string, d time.Duration)
	// AllowUnenforcedLimits accepts Podman's warning that it ignores resource limits, on a
	// host where the probe found them unenforceable (rootless on cgroup v1); the runner then
	// marks agents limits_enforced false. Every other create warning still fails the create.
	AllowUnenforcedLimits bool

	hostsPath string // the hosts file New installed in StateDir
}

// Defaults of Config.
const (
	DefaultURI         = "unix:///run/podman/podman.sock"
	DefaultNetwork     = "none"
	DefaultTmpfsSize   = 64 << 20
	DefaultShmSize     = 16 << 20
	DefaultNoFile      = 1024
	DefaultNProc       = 4096
	DefaultUserNSSize  = 65536
	DefaultLogMaxSize  = 16 << 20
	DefaultPullTimeout = 2 * time.Minute
	// DefaultMaxConcurrentCalls is Config.MaxConcurrentCalls' default.
	DefaultMaxConcurrentCalls = 16
	// maxNoFile is the hard nofile limit runc can set on these hosts.
	maxNoFile = 20000
)

// networks are the network modes Config.Network accepts; "host" is excluded because it breaks isolation.
var networks = map[string]bool{"none": true, "slirp4netns": true, "bridge": true, "private": true}

func (c Config) withDefaults() (Config, error) {
	if c.URI == "" {
		c.URI = DefaultURI
	}
	if c.Network == "" {
		c.Network = DefaultNetwork
	}
	if !networks[c.Network] {
		return c, fmt.Errorf("sandbox network %q: want none, slirp4netns, bridge or private", c.Network)
	}
	if c.TmpfsSize == 0 {
		c.TmpfsSize = DefaultTmpfsSize
	}
	if c.ShmSize == 0 {
		c.ShmSize = DefaultShmSize
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	}
	if c.SeccompProfile == "unconfined" || c.SeccompProfile != "" && !filepath.IsAbs(c.SeccompProfile) {
		return c, fmt.Errorf("sandbox seccomp profile %q: want empty (podrun's own) or an absolute path; containers never run unconfined", c.SeccompProfile)
	}
	if c.NoFile == 0 {
		c.NoFile = DefaultNoFile
	}
	if c.NoFile > maxNoFile {
		return c, fmt.Errorf("sandbox nofile %d: runc cannot set a hard limit above %d here", c.NoFile, maxNoFile)
	}
	if c.NProc == 0 {
		c.NProc = DefaultNProc
	}
	if c.UserNSSize == 0 {
		c.UserNSSize = DefaultUserNSSize
	}
	if c.LogMaxSize == 0 {
		c.LogMaxSize = DefaultLogMaxSize
	}
	if c.PullTimeout == 0 {
		c.PullTimeout = DefaultPullTimeout
	}
	if c.MaxConcurrentCalls == 0 {
		c.MaxConcurrentCalls = DefaultMaxConcurrentCalls
	}
	if c.ShimPath != "" {
		abs, err := filepath.Abs(c.ShimPath)
		if err != nil {
			return c, fmt.Errorf("sandbox shim path: %w", err)
		}
		c.ShimPath = abs
	}
	if c.TmpfsSize < 0 || c.ShmSize < 0 || c.LogMaxSize < 0 || c.PullTimeout < 0 || c.MaxConcurrentCalls < 0 {
		return c, errors.New("sandbox: sizes, timeouts and MaxConcurrentCalls must not be negative")
	}
	return c, nil
}

// Podman is a runner.Sandbox backed by a Podman API service.
type Podman struct {
	cfg  Config
	conn context.Context // carries the bindings' connection; never cancelled
	// gvisor carries the connection to Config.GVisorURI, nil without one.
	gvisor context.Context
	sock   string // unix socket path, for the hijacking client

	// fresh holds containers created here and not yet attached or started: an
	// attach to them needs no state check (see Attach).
	fresh sync.Map

	slots  chan struct{} // one token per API call in flight; see acquire
	images imageCache    // image entrypoints and commands, for the shim

	hostMu  sync.Mutex
	host    *runner.Host  // what podman info said, asked once; see hostInfo
	cgroups memoryCgroups // where the kernel counts containers' OOM kills
	// runtimeOK is set once a container was seen to get Config.Runtime (see checkRuntime).
	runtimeOK atomic.Bool
	// noExecShim holds containers found without the shim (made before it
	// was mounted in every container), or where it cannot work (gVisor):
	// their execs run without it.
	noExecShim sync.Map
}

var _ runner.Sandbox = (*Podman)(nil)

// New connects to Podman (one ping) and, unless Config.Runtime names one,
// resolves the runtime from the host's cgroup version. Its errors name the URI.
func New(ctx context.Context, cfg Config) (*Podman, error) {
	cfg, err := cfg.withDefaults()
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
	p := &Podman{cfg: cfg, sock: u.Path, slots: make(chan struct{}, cfg.MaxConcurrentCalls), cgroups: hostMemoryCgroups()}
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
	if cfg.GVisorURI != "" {
		if err := p.connectGVisor(ctx); err != nil {
			return nil, err
		}
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
