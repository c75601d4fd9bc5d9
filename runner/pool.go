package runner

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// warmPools keeps, per function with warm > 0, containers created, attached
// and started ahead, each blocked in the shim until its one request arrives.
// A container serves exactly one invocation and is then removed, so no
// request ever sees another's files or processes. It needs the sandbox and
// nothing of the Runner; its goroutines (one filler per pool, and removals)
// are Close's to stop and wait for.
type warmPools struct {
	sb  Sandbox
	obs Observer
	log *slog.Logger
	cfg poolConfig

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	g      group

	mu     sync.Mutex
	m      map[string]*pool
	closed bool
}

// poolConfig is what the pools need to know of the Config.
type poolConfig struct {
	instance    string
	callTimeout time.Duration
	maxIdle     time.Duration // a warm container older than this is replaced
	now         func() time.Time
	egress      EgressGate // nil: no egress
}

type pool struct {
	fn     Function
	ready  []*warmContainer // oldest first
	kick   chan struct{}
	cancel context.CancelFunc
}

// warmContainer is one prepared container and its open attachment.
type warmContainer struct {
	id  string
	key string // its egress listener's key, "" for none
	at  time.Time
	att Attachment
	io  *handoff
}

func newWarmPools(sb Sandbox, obs Observer, log *slog.Logger, cfg poolConfig) *warmPools {
	ctx, cancel := context.WithCancel(context.Background())
	return &warmPools{sb: sb, obs: obs, log: log, cfg: cfg, ctx: ctx, cancel: cancel, m: map[string]*pool{}}
}

// Open removes the warm containers a previous run of this instance left,
// but those inUse (taken by an invocation just before the restart), and
// starts the pools of fns.
func (ps *warmPools) Open(ctx context.Context, fns []Function, inUse map[string]bool) error {
	stale, err := ps.sb.List(ctx, map[string]string{LabelInstance: ps.cfg.instance})
	if err != nil {
		return err
	}
	for _, c := range stale {
		if c.Labels[LabelPool] != "" && !inUse[c.ID] {
			ps.RemoveStray(c.ID)
		}
	}
	for _, f := range fns {
		ps.Set(f)
	}
	return nil
}

// Close stops every pool, removes the containers they hold and waits for
// every goroutine of the pools; it returns how many containers it removed.
func (ps *warmPools) Close() int {
	ps.mu.Lock()
	ps.closed = true
	n := 0
	for name, p := range ps.m {
		n += len(p.ready)
		ps.stopLocked(name)
	}
	ps.mu.Unlock()
	ps.g.close()
	ps.cancel()
	ps.g.wait()
	return n
}

// Set starts, resizes or replaces f's pool; a changed image, command, env, limits, isolation or egress drains the old one.
func (ps *warmPools) Set(f Function) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	old := ps.m[f.Name]
	if old != nil && f.Warm > 0 && sameContainer(old.fn, f) {
		old.fn = f
		old.poke()
		return
	}
	if old != nil {
		ps.stopLocked(f.Name)
	}
	if f.Warm == 0 || ps.closed {
		ps.obs.PoolSize(f.Name, 0) // every function's pool series exist, warm or not
		return
	}
	ctx, cancel := context.WithCancel(ps.ctx)
	p := &pool{fn: f, kick: make(chan struct{}, 1), cancel: cancel}
	ps.m[f.Name] = p
	ps.g.start(func() { ps.fill(ctx, p) })
}

func sameContainer(a, b Function) bool {
	return a.Image == b.Image && slices.Equal(a.Command, b.Command) && maps.Equal(a.Env, b.Env) && a.Limits == b.Limits &&
		slices.Equal(a.Secrets, b.Secrets) && a.Isolation == b.Isolation && slices.Equal(a.Egress, b.Egress)
}

// Ready reports how many containers a function's pool holds ready.
func (ps *warmPools) Ready(name string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.m[name]; p != nil {
		return len(p.ready)
	}
	return 0
}

// Remove stops a function's pool and removes its containers.
func (ps *warmPools) Remove(name string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.stopLocked(name)
}

func (ps *warmPools) stopLocked(name string) {
	p := ps.m[name]
	if p == nil {
		return
	}
	delete(ps.m, name)
	p.cancel()
	for _, c := range p.ready {
		ps.Discard(c)
	}
	ps.obs.PoolSize(name, 0)
}

// Take hands out one prepared container, if the function's pool has one.
func (ps *warmPools) Take(name string) (*warmContainer, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.m[name]
	if p == nil {
		ps.obs.PoolTaken(name, false) // a function without a pool misses every time
		return nil, false
	}
	for len(p.ready) > 0 {
		c := p.ready[0]
		p.ready = p.ready[1:]
		ps.obs.PoolSize(name, len(p.ready))
		if ended(c) { // it died, or the Podman service restarted, while it waited
			ps.log.Warn("warm container lost its stream; removing it", logFunction, name, logContainer, c.id)
			ps.Discard(c)
			continue
		}
		ps.obs.PoolTaken(name, true)
		return c, true
	}
	ps.obs.PoolTaken(name, false)
	p.poke()
	return nil, false
}

// Refill wakes a function's pool to replace what was taken.
func (ps *warmPools) Refill(name string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.m[name]; p != nil {
		p.poke()
	}
}

// Owns reports whether id is a prepared container still waiting in a pool.
func (ps *warmPools) Owns(id string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.m {
		for _, c := range p.ready {
			if c.id == id {
				return true
			}
		}
	}
	return false
}

// Discard ends a prepared container's streams and removes it in the
// background (at once after Close); nil is ignored.
func (ps *warmPools) Discard(c *warmContainer) {
	if c == nil {
		return
	}
	// Removed first, then its streams ended: ended first, its shim would
	// exit while the removal kills it.
	ps.removeWarm(c.id, func() {
		c.io.abandon()
		closeEgress(ps.cfg.egress, c.key)
	})
}

// RemoveStray removes a container made for a pool that no pool holds.
func (ps *warmPools) RemoveStray(id string) { ps.removeWarm(id, nil) }

// removeWarm removes a container made for a pool, then calls after (if any).
func (ps *warmPools) removeWarm(id string, after func()) {
	remove := func() {
		if after != nil {
			defer after()
		}
		// Not cancelled by Close: a warm container left behind would leak.
		ctx, cancel := context.WithTimeout(context.Background(), ps.cfg.callTimeout)
		defer cancel()
		if err := ps.sb.Remove(ctx, id); err != nil && !errors.Is(err, ErrNoContainer) {
			ps.log.Warn("remove warm container", logContainer, id, logErr, err)
		}
	}
	if !ps.g.start(remove) {
		remove() // closed: nothing runs after Close, so remove it now
	}
}

// ended reports whether a prepared container's stream has ended: it can serve no one.
func ended(c *warmContainer) bool {
	select {
	case <-c.att.Done():
		return true
	default:
		return false
	}
}

func (p *pool) poke() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}
