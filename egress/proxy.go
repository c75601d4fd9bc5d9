package egress

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/podrun/podrun/runner"
)

var _ runner.EgressGate = (*Proxy)(nil)

// SocketName is the proxy socket's name in each listener's directory.
const SocketName = "proxy.sock"

// Decision is what the proxy decided about one connection or request.
type Decision struct {
	// Key names the listener (see Proxy.Open); Agent is the agent it is bound to, "" for none yet.
	Key, Agent string
	// Allowed says whether the destination was let through.
	Allowed bool
	// Method is "CONNECT" or the plain HTTP request's method.
	Method string
	// Host and Port are the destination the client asked for; Addr is the
	// address the proxy connected to, "" when it did not.
	Host string
	Port int
	Addr string
	// Reason says why a destination was denied, or why an allowed one failed.
	Reason string
	// Sent and Received count the bytes from the client to the destination
	// and back (for plain HTTP, the request and response bodies); zero for a denial.
	Sent, Received int64
	// Duration is how long the connection or request lasted.
	Duration time.Duration
}

// Config is what a Proxy needs.
type Config struct {
	// Dir is where listeners' directories are made; required, absolute.
	Dir string
	// Record is told every decision; it must not block for long. Required.
	Record func(Decision)
	// Hosts maps host names to addresses the proxy uses instead of asking DNS:
	// an operator's pins, trusted like address rules (a pinned name may point
	// at a private address). Tests point their names at loopback servers.
	Hosts map[string]string
	// Resolver resolves the other names; nil is net.DefaultResolver.
	Resolver *net.Resolver
	// DialTimeout bounds one connection to a destination; 0 is 10 s.
	DialTimeout time.Duration
	// Logger receives the proxy's own failures; nil discards them.
	Logger *slog.Logger
}

// Proxy owns every listener; its methods are safe for concurrent use.
type Proxy struct {
	cfg Config

	mu        sync.Mutex
	listeners map[string]*listener
	closed    bool
}

// listener is one container's proxy.
type listener struct {
	key   string
	dir   string
	rules []runner.EgressRule
	srv   *http.Server
	done  chan struct{}
	// ctx ends when the listener closes, and with it every tunnel, which
	// the server's Close does not reach once hijacked.
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	agent string
}

// New makes a Proxy whose listeners live in directories of cfg.Dir.
func New(cfg Config) (*Proxy, error) {
	if !filepath.IsAbs(cfg.Dir) || cfg.Record == nil {
		return nil, errors.New("egress: Config.Dir must be absolute and Config.Record set")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if err := os.MkdirAll(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("egress dir: %w", err)
	}
	if err := os.Chmod(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("egress dir: %w", err)
	}
	return &Proxy{cfg: cfg, listeners: map[string]*listener{}}, nil
}

// Open starts the proxy of one container, identified by key (an agent's ID,
// or a warm container's name until Bind names its agent), applying allow
// (canonical rules, see runner.ParseEgress), and returns the host directory
// holding its socket, to bind-mount into the container. Opening a key that
// is open replaces its listener (after a restart of podrun, say).
func (p *Proxy) Open(key, agent string, allow []string) (string, error) {
	rules, err := runner.EgressRules(allow)
	if err != nil {
		return "", err
	}
	if key == "" || key != filepath.Base(key) || key[0] == '.' {
		return "", fmt.Errorf("egress: bad key %q", key)
	}
	p.mu.Lock()
	old := p.listeners[key]
	delete(p.listeners, key)
	p.mu.Unlock()
	if old != nil {
		old.stop()
	}
	// The directory is kept if it is there: a container that runs on after
	// a restart of podrun has it mounted, and finds the new socket in it.
	// 0711 and a 0666 socket: the container's processes run as unmapped
	// users of a user namespace of their own, to whom both belong to "nobody".
	dir := filepath.Join(p.cfg.Dir, key)
	if err := os.Mkdir(dir, 0o711); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("egress: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, SocketName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("egress: %w", err)
	}
	sock := filepath.Join(dir, SocketName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("egress: %w", err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return "", fmt.Errorf("egress: %w", err)
	}
	l := &listener{key: key, dir: dir, rules: rules, agent: agent, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.srv = &http.Server{
		Handler:           &handler{p: p, l: l},
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.cfg.Logger.Handler(), slog.LevelDebug),
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		ln.Close()
		os.RemoveAll(dir)
		return "", errors.New("egress: proxy closed")
	}
	p.listeners[key] = l
	p.mu.Unlock()
	go func() {
		defer close(l.done)
		_ = l.srv.Serve(ln)
	}()
	return dir, nil
}

// Bind names the agent a listener speaks for from now on (a warm container
// taken by an invocation); false if the key is not open.
func (p *Proxy) Bind(key, agent string) bool {
	p.mu.Lock()
	l := p.listeners[key]
	p.mu.Unlock()
	if l == nil {
		return false
	}
	l.mu.Lock()
	l.agent = agent
	l.mu.Unlock()
	return true
}

// Close stops one listener, ends its connections and removes its directory; a key not open is fine.
func (p *Proxy) Close(key string) {
	p.mu.Lock()
	l := p.listeners[key]
	delete(p.listeners, key)
	p.mu.Unlock()
	if l != nil {
		l.close()
	}
}

// Shutdown stops every listener; Open fails afterwards.
func (p *Proxy) Shutdown() {
	p.mu.Lock()
	p.closed = true
	ls := p.listeners
	p.listeners = map[string]*listener{}
	p.mu.Unlock()
	for _, l := range ls {
		l.close()
	}
}

// Prune removes the listener directories in Config.Dir that no open
// listener uses: those of containers that ended while podrun was down. Call
// it once the listeners of the containers that run on are open again.
func (p *Proxy) Prune() ([]string, error) {
	entries, err := os.ReadDir(p.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var removed []string
	for _, e := range entries {
		if _, open := p.listeners[e.Name()]; !open && e.IsDir() {
			if err := os.RemoveAll(filepath.Join(p.cfg.Dir, e.Name())); err == nil {
				removed = append(removed, e.Name())
			}
		}
	}
	return removed, nil
}

// Keys lists the open listeners' keys, for tests and reconciliation.
func (p *Proxy) Keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]string, 0, len(p.listeners))
	for k := range p.listeners {
		keys = append(keys, k)
	}
	return keys
}

// stop ends the listener and its connections.
func (l *listener) stop() {
	l.cancel()
	_ = l.srv.Close()
	<-l.done
}

// close stops the listener and removes its directory.
func (l *listener) close() {
	l.stop()
	os.RemoveAll(l.dir)
}

func (l *listener) boundAgent() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.agent
}

// record hands a decision to Config.Record.
func (p *Proxy) record(l *listener, d Decision) {
	d.Key, d.Agent = l.key, l.boundAgent()
	p.cfg.Record(d)
}

// dialContext is the dialer for allowed destinations.
func (p *Proxy) dialContext(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	return d.DialContext(ctx, "tcp", addr)
}
