package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// fill keeps the pool at its size, one container at a time so a burst of
// refills does not crowd out invocations at the Podman service, and recycles
// containers older than the max idle age.
func (ps *warmPools) fill(ctx context.Context, p *pool) {
	tick := time.NewTicker(min(ps.cfg.maxIdle/4, time.Minute))
	defer tick.Stop()
	for {
		ps.recycle(p)
		for ctx.Err() == nil && ps.missing(p) > 0 {
			c, err := ps.prepare(ctx, ps.fnOf(p))
			if err == nil && ctx.Err() != nil {
				ps.Discard(c) // the pool stopped while this one was being made
				return
			}
			if err != nil {
				if ctx.Err() == nil {
					ps.log.Warn("prepare warm container", logFunction, p.fn.Name, logErr, err)
				}
				break // retried at the next tick or take
			}
			if !ps.add(p, c) {
				ps.Discard(c)
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

func (ps *warmPools) fnOf(p *pool) Function {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return p.fn
}

func (ps *warmPools) missing(p *pool) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return p.fn.Warm - len(p.ready)
}

// add puts a prepared container in the pool, unless the pool was stopped meanwhile.
func (ps *warmPools) add(p *pool, c *warmContainer) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m[p.fn.Name] != p {
		return false
	}
	c.at = ps.cfg.now().UTC()
	p.ready = append(p.ready, c)
	ps.obs.PoolSize(p.fn.Name, len(p.ready))
	return true
}

// recycle drops containers that waited longer than the max idle age, and any beyond the size.
func (ps *warmPools) recycle(p *pool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	cutoff := ps.cfg.now().UTC().Add(-ps.cfg.maxIdle)
	keep := p.ready[:0]
	for _, c := range p.ready {
		if c.at.Before(cutoff) || len(keep) >= p.fn.Warm || ended(c) {
			ps.Discard(c)
			continue
		}
		keep = append(keep, c)
	}
	p.ready = keep
	ps.obs.PoolSize(p.fn.Name, len(p.ready))
}

// prepare creates, attaches and starts a hardened container for f whose
// shim waits for a request. Attaching before the start costs nothing extra:
// Podman initialises the container in the attach either way.
func (ps *warmPools) prepare(ctx context.Context, f Function) (*warmContainer, error) {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	spec := Spec{
		Name: "podrun-warm-" + f.Name + "-" + hex.EncodeToString(suffix[:]), Image: f.Image, Command: f.Command,
		Limits: f.Limits, Shim: true, Secrets: f.Secrets, Isolation: specIsolation(f.Isolation),
		Labels: map[string]string{LabelInstance: ps.cfg.instance, LabelPool: f.Name, LabelFunction: f.Name},
	}
	// Not cancelled with the pool: Podman may finish a create whose caller left,
	// and a container podrun never learns about would leak. fill discards it instead.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ps.cfg.callTimeout)
	defer cancel()
	// The listener speaks for the function until an invocation takes the
	// container and binds it to its agent (supervisor.handOver).
	var err error
	if spec.EgressDir, err = openEgress(ps.cfg.egress, spec.Name, "", f.Egress); err != nil {
		return nil, err
	}
	key := ""
	if spec.EgressDir != "" {
		key = spec.Name
	}
	t := time.Now()
	id, err := ps.sb.Create(ctx, spec)
	if err != nil {
		closeEgress(ps.cfg.egress, key)
		return nil, err
	}
	ps.obs.Phase(StartWarm, PhaseCreate, time.Since(t))
	h := newHandoff()
	t = time.Now()
	att, err := ps.sb.Attach(ctx, id, Streams{Stdin: h, Stdout: h, Stderr: h.errs(), Shim: true})
	if err != nil {
		closeEgress(ps.cfg.egress, key)
		return nil, err // the sandbox removes a fresh container it could not attach
	}
	ps.obs.Phase(StartWarm, PhaseAttach, time.Since(t))
	t = time.Now()
	if err := ps.sb.Start(ctx, id); err != nil {
		h.abandon()
		closeEgress(ps.cfg.egress, key)
		return nil, err // the sandbox removes a container it could not start
	}
	ps.obs.Phase(StartWarm, PhaseStart, time.Since(t))
	return &warmContainer{id: id, key: key, att: att, io: h}, nil
}
