package runner

import (
	"context"
	"sync"
)

// activity counts what uses each agent now (execs, file transfers, log
// follows), so that an agent in use does not idle out however long the use
// lasts. It lives in memory: after a restart nothing is in use.
type activity struct {
	mu   sync.Mutex
	held map[string]int // by agent ID
}

func (ac *activity) hold(id string) {
	ac.mu.Lock()
	ac.held[id]++
	ac.mu.Unlock()
}

func (ac *activity) release(id string) {
	ac.mu.Lock()
	if ac.held[id]--; ac.held[id] <= 0 {
		delete(ac.held, id)
	}
	ac.mu.Unlock()
}

func (ac *activity) busy(id string) bool {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return ac.held[id] > 0
}

// Touch records activity on agent id, the one hook of the idle timeout:
// every route that uses an agent (exec, streaming exec, file transfers, log
// follows, PATCH) calls it when the use begins and calls the returned done
// when it ends. The idle deadline moves to now plus the agent's idle timeout
// at both ends, and the agent does not idle out between them, however long
// the use lasts. It never fails the caller: an agent that is not running or
// has no idle timeout is left alone, and a store error is logged. done may
// be called more than once; only the first call counts.
func (r *Runner) Touch(ctx context.Context, id string) (done func()) {
	r.activity.hold(id)
	r.touch(ctx, id)
	var once sync.Once
	return func() {
		once.Do(func() {
			// The request's ctx may have ended with it: the release is recorded all the same.
			r.touch(context.WithoutCancel(ctx), id)
			r.activity.release(id)
		})
	}
}

func (r *Runner) touch(ctx context.Context, id string) {
	if err := r.store.Touch(ctx, id, r.now()); err != nil && ctx.Err() == nil {
		r.log.Warn("record activity", logAgent, id, logErr, err)
	}
}
