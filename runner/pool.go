package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"
)

// pools keeps, per function with warm > 0, containers created, attached and
// started ahead, each blocked in the shim until its one request arrives. A
// container serves exactly one invocation and is then removed, so no request
// ever sees another's files or processes.
type pools struct {
	r  *Runner
	mu sync.Mutex
	m  map[string]*pool
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
	at  time.Time
	att Attachment
	io  *handoff
}

func newPools(r *Runner) *pools { return &pools{r: r, m: map[string]*pool{}} }

// set starts, resizes or replaces f's pool; a changed image, command, env or limits drains the old one.
func (ps *pools) set(f Function) {
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
	if f.Warm == 0 || ps.r.isClosed() {
		ps.r.obs.PoolSize(f.Name, 0) // every function's pool series exist, warm or not
		return
	}
	ctx, cancel := context.WithCancel(ps.r.ctx)
	p := &pool{fn: f, kick: make(chan struct{}, 1), cancel: cancel}
	ps.m[f.Name] = p
	ps.r.wg.Add(1)
	go func() {
		defer ps.r.wg.Done()
		ps.fill(ctx, p)
	}()
}

func sameContainer(a, b Function) bool {
	return a.Image == b.Image && slices.Equal(a.Command, b.Command) && maps.Equal(a.Env, b.Env) && a.Limits == b.Limits
}

// remove stops a function's pool and removes its containers.
func (ps *pools) remove(name string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.stopLocked(name)
}

func (ps *pools) stopLocked(name string) {
	p := ps.m[name]
	if p == nil {
		return
	}
	delete(ps.m, name)
	p.cancel()
	for _, c := range p.ready {
		ps.discard(c)
	}
	ps.r.obs.PoolSize(name, 0)
}

// closeAll stops every pool and removes the containers they hold; it returns how many.
func (ps *pools) closeAll() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	n := 0
	for name, p := range ps.m {
		n += len(p.ready)
		ps.stopLocked(name)
	}
	return n
}

// take hands out one prepared container, if the function's pool has one.
func (ps *pools) take(name string) (*warmContainer, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.m[name]
	if p == nil {
		ps.r.obs.PoolTaken(name, false) // a function without a pool misses every time
		return nil, false
	}
	for len(p.ready) > 0 {
		c := p.ready[0]
		p.ready = p.ready[1:]
		ps.r.obs.PoolSize(name, len(p.ready))
		if ended(c) { // it died, or the Podman service restarted, while it waited
			ps.r.log.Warn("warm container lost its stream; removing it", "function", name, "container", c.id)
			ps.discard(c)
			continue
		}
		ps.r.obs.PoolTaken(name, true)
		return c, true
	}
	ps.r.obs.PoolTaken(name, false)
	p.poke()
	return nil, false
}

// refill wakes a function's pool to replace what was taken.
func (ps *pools) refill(name string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.m[name]; p != nil {
		p.poke()
	}
}

// owns reports whether id is a prepared container still waiting in a pool.
func (ps *pools) owns(id string) bool {
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

// discard ends a prepared container's streams and removes it in the background; nil is ignored.
func (ps *pools) discard(c *warmContainer) {
	if c == nil {
		return
	}
	// Removed first, then its streams ended: ended first, its shim would
	// exit while the removal kills it.
	ps.removeWarm(c.id, c.io.abandon)
}

// removeWarm removes a container made for a pool in the background, then calls after (if any).
func (ps *pools) removeWarm(id string, after func()) {
	r := ps.r
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if after != nil {
			defer after()
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.cfg.CallTimeout)
		defer cancel()
		if err := r.sb.Remove(ctx, id); err != nil && !errors.Is(err, ErrNoContainer) {
			r.log.Warn("remove warm container", "container", id, "err", err)
		}
	}()
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

// fill keeps the pool at its size, one container at a time so a burst of
// refills does not crowd out invocations at the Podman service, and recycles
// containers older than the max idle age.
func (ps *pools) fill(ctx context.Context, p *pool) {
	r := ps.r
	tick := time.NewTicker(min(r.cfg.WarmMaxIdle/4, time.Minute))
	defer tick.Stop()
	for {
		ps.recycle(p)
		for ctx.Err() == nil && ps.missing(p) > 0 {
			c, err := r.prepareWarm(ctx, ps.fnOf(p))
			if err == nil && ctx.Err() != nil {
				ps.discard(c) // the pool stopped while this one was being made
				return
			}
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("prepare warm container", "function", p.fn.Name, "err", err)
				}
				break // retried at the next tick or take
			}
			if !ps.add(p, c) {
				ps.discard(c)
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-tick.C:
		}
	}
}

func (ps *pools) fnOf(p *pool) Function {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return p.fn
}

func (ps *pools) missing(p *pool) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return p.fn.Warm - len(p.ready)
}

// add puts a prepared container in the pool, unless the pool was stopped meanwhile.
func (ps *pools) add(p *pool, c *warmContainer) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m[p.fn.Name] != p {
		return false
	}
	c.at = ps.r.now()
	p.ready = append(p.ready, c)
	ps.r.obs.PoolSize(p.fn.Name, len(p.ready))
	return true
}

// recycle drops containers that waited longer than the max idle age, and any beyond the size.
func (ps *pools) recycle(p *pool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	cutoff := ps.r.now().Add(-ps.r.cfg.WarmMaxIdle)
	keep := p.ready[:0]
	for _, c := range p.ready {
		if c.at.Before(cutoff) || len(keep) >= p.fn.Warm || ended(c) {
			ps.discard(c)
			continue
		}
		keep = append(keep, c)
	}
	p.ready = keep
	ps.r.obs.PoolSize(p.fn.Name, len(p.ready))
}

// prepareWarm creates, attaches and starts a hardened container for f whose
// shim waits for a request. Attaching before the start costs nothing extra:
// Podman initialises the container in the attach either way.
func (r *Runner) prepareWarm(ctx context.Context, f Function) (*warmContainer, error) {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	spec := Spec{
		Name: "podrun-warm-" + f.Name + "-" + hex.EncodeToString(suffix[:]), Image: f.Image, Command: f.Command,
		Limits: f.Limits, Shim: true,
		Labels: map[string]string{LabelInstance: r.cfg.Instance, LabelPool: f.Name, LabelFunction: f.Name},
	}
	// Not cancelled with the pool: Podman may finish a create whose caller left,
	// and a container podrun never learns about would leak. fill discards it instead.
	ctx, cancel := r.bounded(context.WithoutCancel(ctx))
	defer cancel()
	id, err := r.sb.Create(ctx, spec)
	if err != nil {
		return nil, err
	}
	h := newHandoff()
	att, err := r.sb.Attach(ctx, id, Streams{Stdin: h, Stdout: h, Stderr: h.errs(), Shim: true})
	if err != nil {
		return nil, err // the sandbox removes a fresh container it could not attach
	}
	if err := r.sb.Start(ctx, id); err != nil {
		h.abandon()
		return nil, err // the sandbox removes a container it could not start
	}
	return &warmContainer{id: id, att: att, io: h}, nil
}

// startPools purges warm containers a previous run left (unless a live agent
// took them) and starts the pools of the stored functions.
func (r *Runner) startPools(ctx context.Context) error {
	stale, err := r.sb.List(ctx, map[string]string{LabelInstance: r.cfg.Instance})
	if err != nil {
		return err
	}
	live, err := r.store.LiveAgents(ctx)
	if err != nil {
		return err
	}
	inUse := map[string]bool{}
	for _, a := range live {
		inUse[a.ContainerID] = true
	}
	for _, c := range stale {
		if c.Labels[LabelPool] != "" && !inUse[c.ID] {
			r.pools.removeWarm(c.ID, nil)
		}
	}
	fns, err := r.store.Functions(ctx)
	if err != nil {
		return err
	}
	for _, f := range fns {
		r.pools.set(f)
	}
	return nil
}

func (r *Runner) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}
