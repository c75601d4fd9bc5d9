package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// supervisors keeps the one supervisor of each agent whose container podrun
// is responsible for, and what they share: the sandbox, the store, the
// journal, the limiter and the callback deliverer. Every supervisor and every
// goroutine one starts is counted in g, which close waits for.
type supervisors struct {
	sb        Sandbox
	store     Store
	journal   *journal
	limiter   *Limiter // nil admits all
	callbacks *deliverer
	monitor   *monitor // told of each exit's last reading; nil tells nobody
	log       *slog.Logger
	cfg       supervision

	ctx    context.Context // ends at close; supervisors run under it
	cancel context.CancelFunc
	g      group

	mu     sync.Mutex
	active map[string]*supervisor // by agent ID
}

// supervision is what supervisors need to know of the Config.
type supervision struct {
	instance           string
	stopTimeout        time.Duration
	callTimeout        time.Duration
	logTail            int
	defaultMaxOutput   int64
	defaultConcurrency int
	egress             EgressGate // nil: no egress
}

func newSupervisors(sb Sandbox, store Store, j *journal, limiter *Limiter, callbacks *deliverer, log *slog.Logger, cfg supervision) *supervisors {
	ctx, cancel := context.WithCancel(context.Background())
	return &supervisors{
		sb: sb, store: store, journal: j, limiter: limiter, callbacks: callbacks, log: log, cfg: cfg,
		ctx: ctx, cancel: cancel, active: map[string]*supervisor{},
	}
}

// errClosed is returned for work offered to a runner that is shutting down.
var errClosed = errors.New("runner is closed")

// claim makes a supervisor the owner of a's container; nil if another one
// is, or podrun is shutting down. The claim counts as one of g's goroutines
// until release, so a claim made before close is waited for.
func (sv *supervisors) claim(a Agent, aio *agentIO) *supervisor {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.claimLocked(a, aio)
}

func (sv *supervisors) claimLocked(a Agent, aio *agentIO) *supervisor {
	if sv.active[a.ID] != nil || !sv.g.add() {
		return nil
	}
	s := &supervisor{sv: sv, agent: a, io: aio, stopped: make(chan struct{}), started: make(chan struct{}), done: make(chan struct{})}
	sv.active[a.ID] = s
	return s
}

// release ends s's ownership.
func (sv *supervisors) release(s *supervisor) {
	sv.mu.Lock()
	delete(sv.active, s.agent.ID)
	sv.mu.Unlock()
	sv.g.done()
}

// run runs one of s's modes on its own goroutine; the claim ends with it.
func (sv *supervisors) run(s *supervisor, mode func(ctx context.Context)) {
	go func() {
		defer close(s.done)
		defer sv.release(s)
		defer s.io.markExited() // on every path, also those that never started
		defer s.markStarted()
		defer func() { closeEgress(sv.cfg.egress, s.egressKey) }()
		mode(sv.ctx)
	}()
}

// launch runs s.launch for a pending agent. An asynchronous invocation
// takes its place in the admission line here, before its goroutine starts,
// so invocations accepted one after another run in that order.
func (sv *supervisors) launch(ctx context.Context, s *supervisor) {
	if s.agent.Kind() == KindAsync {
		s.place = sv.limiter.Line(s.agent.Function, s.concurrency(ctx))
	}
	sv.run(s, s.launch)
}

// with claims a for the length of fn, run on the caller's goroutine: a
// short job on a container nobody watches (the sweeper's removals). It
// reports false, without calling fn, if another supervisor owns it.
func (sv *supervisors) with(a Agent, fn func(s *supervisor)) bool {
	s := sv.claim(a, nil)
	if s == nil {
		return false
	}
	defer close(s.done)
	defer sv.release(s)
	fn(s)
	return true
}

// end applies a stop: it moves the live agent id to the stop's state and has
// its container stopped by its owner, or by a new cleanup supervisor if
// nobody owns it. ErrConflict, with the agent, if the agent is final already.
// This is the one way podrun ends an agent on purpose.
func (sv *supervisors) end(ctx context.Context, id string, st stop) (Agent, error) {
	a, err := sv.journal.transition(ctx, id, st.change())
	if err != nil {
		return a, err
	}
	sv.mu.Lock()
	s := sv.active[id]
	if s == nil {
		s = sv.claimLocked(a, nil)
		sv.mu.Unlock()
		if s != nil {
			sv.run(s, s.cleanup)
		}
		return a, nil
	}
	sv.mu.Unlock()
	s.requestStop(st.reason)
	return a, nil
}

// cleanup has the container of a finished agent nobody owns removed in the background.
func (sv *supervisors) cleanup(a Agent) {
	if s := sv.claim(a, nil); s != nil {
		sv.run(s, s.cleanup)
	}
}

// spawn runs fn on a goroutine close waits for, unless podrun is shutting
// down; for work started outside any supervisor (an output stream's writer).
func (sv *supervisors) spawn(fn func(ctx context.Context)) bool {
	return sv.g.start(func() { fn(sv.ctx) })
}

// doneOf returns a channel closed once agent id's supervisor is done, or nil
// if nobody supervises it now.
func (sv *supervisors) doneOf(id string) <-chan struct{} {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if s := sv.active[id]; s != nil {
		return s.done
	}
	return nil
}

// awaitStart returns once agent id's container has started, or its
// supervisor is done, or ctx ends; at once if nobody supervises it.
func (sv *supervisors) awaitStart(ctx context.Context, id string) error {
	sv.mu.Lock()
	s := sv.active[id]
	sv.mu.Unlock()
	if s == nil {
		return nil
	}
	select {
	case <-s.started:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close refuses new claims and reports how many supervisors are running;
// wait then stops them and waits for every goroutine they started. Their
// containers run on: the next Open takes them back.
func (sv *supervisors) close() (running int) {
	sv.g.close()
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return len(sv.active)
}

func (sv *supervisors) wait() {
	sv.cancel()
	sv.g.wait()
}

// bounded gives one sandbox call its deadline.
func (sv *supervisors) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, sv.cfg.callTimeout)
}

// maxOutput is the function's output cap, or the default for a function since deleted.
func (sv *supervisors) maxOutput(ctx context.Context, function string) int64 {
	if f, err := sv.store.Function(ctx, function); err == nil {
		return f.MaxOutput
	}
	return sv.cfg.defaultMaxOutput
}
