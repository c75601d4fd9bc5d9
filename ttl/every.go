package ttl

import (
	"context"
	"sync"
	"time"
)

// every runs a step at a fixed interval in its own goroutine until stopped.
// A tick that comes while the step still runs is dropped (time.Ticker drops
// the ticks a slow receiver misses), so passes never pile up.
type every struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start runs step every interval; an interval of zero or less starts nothing.
func (e *every) start(interval time.Duration, step func(ctx context.Context)) {
	if interval <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				step(ctx)
			}
		}
	}()
}

// stop ends the loop and waits for the step in progress.
func (e *every) stop() {
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
}
