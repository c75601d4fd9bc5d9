package sandbox

import (
	"context"
	"fmt"
	"time"
)

// acquire waits for one of Config.MaxConcurrentCalls slots and returns the
// function that frees it. Every short API call holds a slot for its duration
// only: an attach, exec or log read holds one until Podman answers, never
// for the stream that follows, and neither do the long waits (Stop's grace
// period, Wait, following logs, pulls), which cost the service little while
// they last.
func (p *Podman) acquire(ctx context.Context) (release func(), err error) {
	select {
	case p.slots <- struct{}{}:
		return p.release, nil
	default:
	}
	select {
	case p.slots <- struct{}{}:
		return p.release, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a free podman call slot (%d in flight): %w", cap(p.slots), ctx.Err())
	}
}

func (p *Podman) release() { <-p.slots }

// do runs one API call in a slot and reports its latency, not counting the
// wait for the slot, as op. f gets the bindings' context for ctx.
func (p *Podman) do(ctx context.Context, op string, f func(ctx context.Context) error) error {
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	defer p.observe(op, start)
	return f(p.call(ctx))
}
