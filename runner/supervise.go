package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/podrun/podrun/runner/shimproto"
)

// supervisor is the one goroutine that owns an agent's container: it creates,
// starts and watches it, and acts on stop requests from DELETE and the reaper.
// Only that goroutine touches its fields, but stopReq.
type supervisor struct {
	stopReq   chan string // ReasonDeleted or ReasonTTL; buffered so senders never block
	agent     Agent       // as supervision began; the store has its current state
	io        *agentIO    // the caller's streams; nil for a container taken back after a restart
	container string      // the container's ID, once there is one
}

func (s *supervisor) request(reason string) {
	select {
	case s.stopReq <- reason:
	default: // a request is already pending; the state in the store says which
	}
}

// pendingStop returns a stop request that arrived before the container started.
func (s *supervisor) pendingStop() (string, bool) {
	select {
	case reason := <-s.stopReq:
		return reason, true
	default:
		return "", false
	}
}

// supervise starts the goroutine that owns a's container, unless one already
// does; it reports whether it started one. With c nil it creates and runs the
// container (connected through aio, if given); otherwise it takes c back.
func (r *Runner) supervise(a Agent, c *Container, aio *agentIO) bool {
	r.mu.Lock()
	if r.closed || r.active[a.ID] != nil {
		r.mu.Unlock()
		return false
	}
	s := &supervisor{stopReq: make(chan string, 1), agent: a, io: aio}
	r.active[a.ID] = s
	r.wg.Add(1)
	r.mu.Unlock()
	free := func() {}
	if c != nil && a.Kind().Invocation() {
		// Taken back still running, it keeps counting against the concurrency
		// caps until it ends, as it did before the restart; taken now, before
		// any queued invocation is relaunched to compete for its slot.
		free = r.cfg.Limiter.Hold(a.Function)
	}
	go func() {
		defer r.wg.Done()
		defer r.release(a.ID)
		defer free()
		defer aio.markExited() // on every path, also those that never started
		switch {
		case c != nil:
			r.adopt(s, *c)
		case a.State == StatePending:
			s.io = r.ioFor(a, aio)
			r.run(s)
		default:
			r.stopAndCleanup(r.ctx, a)
		}
	}()
	return true
}

func (r *Runner) release(id string) {
	r.mu.Lock()
	delete(r.active, id)
	r.mu.Unlock()
}

func (r *Runner) isActive(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active[id] != nil
}

// stop asks whoever owns the agent's container to stop it; with no owner, a cleanup starts.
func (r *Runner) stop(a Agent, reason string) {
	r.mu.Lock()
	s := r.active[a.ID]
	r.mu.Unlock()
	if s != nil {
		s.request(reason)
		return
	}
	r.goCleanup(a)
}

// goCleanup stops and removes the container of an agent nobody supervises.
func (r *Runner) goCleanup(a Agent) {
	if a.State == StatePending {
		a.State = StateTerminating // never (re)launch from a cleanup
	}
	r.supervise(a, nil, nil)
}

func (r *Runner) spec(a Agent) Spec {
	labels := make(map[string]string, len(a.Labels)+2)
	for k, v := range a.Labels {
		labels[k] = v
	}
	labels[LabelAgent] = a.ID
	labels[LabelInstance] = r.cfg.Instance
	shim := a.Kind().Invocation()
	if shim {
		labels[LabelFunction] = a.Function
	}
	// A function's request metadata goes through the shim header, like a warm container's.
	env := a.Env
	if shim {
		env = nil
	}
	return Spec{Name: "podrun-" + a.ID, Image: a.Image, Command: a.Command, Env: env, Limits: a.Limits, Labels: labels, Shim: shim}
}

// run creates (or takes a prepared) container for a pending agent, starts it,
// then watches it to the end.
func (r *Runner) run(s *supervisor) {
	ctx, a, aio := r.ctx, s.agent, s.io
	if a.Kind() == KindAsync {
		release, ok := r.admitBackground(ctx, a.Function)
		if !ok {
			return // shutting down: the agent stays pending and is relaunched on the next start
		}
		defer release()
	}
	callCtx, cancel := r.bounded(ctx)
	defer cancel()
	if w := aio.prepared; w != nil { // created, attached and started ahead: hand it the streams
		defer w.io.abandon() // a no-op once connected
		s.container = w.id
		r.event(ctx, a.ID, PhaseCreated, w.id)
		if _, ok := s.pendingStop(); ok {
			r.finishUnstarted(ctx, a.ID, w.id)
			return
		}
		r.event(ctx, a.ID, PhaseStarting, a.Start)
		w.io.connect(aio.stdin, aio.output(), aio.stderr)
		aio.notifyOutputEnd(w.att)
		r.markRunning(ctx, s, a.ID, w.id)
		r.watch(ctx, s, w.att)
		return
	}
	r.event(ctx, a.ID, PhaseCreating, "")
	id, err := r.sb.Create(callCtx, r.spec(a))
	if err != nil {
		if ctx.Err() == nil {
			r.failStart(ctx, a.ID, "", err) // the sandbox names the operation and image
		}
		return
	}
	s.container = id
	if err := r.store.SetContainer(ctx, a.ID, id); err != nil {
		r.failStart(ctx, a.ID, id, fmt.Errorf("record container: %w", err))
		return
	}
	r.event(ctx, a.ID, PhaseCreated, id)
	if _, ok := s.pendingStop(); ok {
		r.finishUnstarted(ctx, a.ID, id)
		return
	}
	att, err := r.sb.Attach(callCtx, id, Streams{Stdin: aio.stdin, Stdout: aio.output(), Stderr: aio.stderr, Shim: a.Kind().Invocation()})
	if err != nil {
		r.failStart(ctx, a.ID, id, err)
		return
	}
	aio.notifyOutputEnd(att)
	r.event(ctx, a.ID, PhaseStarting, a.Start)
	if err := r.sb.Start(callCtx, id); err != nil {
		r.failStart(ctx, a.ID, id, err)
		return
	}
	r.markRunning(ctx, s, a.ID, id)
	r.watch(ctx, s, att)
}

// markRunning records that the agent's process runs; a stop that came first is acted on.
func (r *Runner) markRunning(ctx context.Context, s *supervisor, agentID, id string) {
	cur, err := r.transition(ctx, agentID, Change{To: StateRunning, Detail: "container " + id})
	if errors.Is(err, ErrConflict) {
		s.request(stopReason(cur)) // deleted, expired or abandoned while starting
	} else if err != nil {
		r.log.Error("mark agent running", "agent", agentID, "err", err)
	}
	r.event(ctx, agentID, PhaseRunning, "")
}

// mustStop reports whether a's state says its container must be stopped:
// it was deleted, expired or ended by podrun (client_gone, output_limit).
func mustStop(a Agent) bool {
	return a.State == StateExpired || a.State == StateTerminating || a.State == StateFailed
}

// stopReason is what a supervisor must do for an agent whose state changed under it.
func stopReason(a Agent) string {
	switch {
	case a.State == StateExpired:
		return ReasonTTL
	case a.State == StateFailed && a.Reason != "":
		return a.Reason // client_gone, output_limit: killed at once
	default:
		return ReasonDeleted
	}
}

// ioFor completes an agent's I/O: its stored stdin, behind the shim header for
// a function, and a result buffer for an asynchronous invocation.
func (r *Runner) ioFor(a Agent, aio *agentIO) *agentIO {
	if aio == nil {
		aio = &agentIO{}
	}
	if aio.stdin == nil {
		aio.stdin = bytes.NewReader(a.Stdin)
	}
	if a.Kind().Invocation() {
		header, err := shimproto.Encode(shimproto.Header{Env: a.Env})
		if err != nil {
			header = nil // cannot happen with string maps; the shim then fails loudly
		}
		aio.stdin = io.MultiReader(bytes.NewReader(header), aio.stdin)
	}
	if a.Kind() == KindAsync && aio.result == nil {
		aio.result = NewCapped(r.maxOutput(a.Function))
	}
	return aio
}

// failStart records a failure before the process ran and removes any half-made container.
func (r *Runner) failStart(ctx context.Context, agentID, containerID string, cause error) {
	r.log.Warn("agent failed to start", "agent", agentID, "container", containerID, "err", cause)
	r.event(ctx, agentID, PhaseError, cause.Error())
	cur, err := r.transition(ctx, agentID, Change{
		To: StateFailed, Reason: ReasonError, Message: cause.Error(), Detail: cause.Error(),
	})
	if errors.Is(err, ErrConflict) && cur.State == StateTerminating {
		_, err = r.transition(ctx, agentID, Change{To: StateTerminated, Detail: cause.Error()})
	}
	if err != nil && !errors.Is(err, ErrConflict) {
		r.log.Error("mark agent failed", "agent", agentID, "err", err)
	}
	if containerID != "" {
		cur.ContainerID = containerID
		_ = r.removeContainer(ctx, cur, "failed")
	}
}

// finishUnstarted removes a container that was stopped before it ever started.
func (r *Runner) finishUnstarted(ctx context.Context, agentID, containerID string) {
	a, err := r.store.Agent(ctx, agentID)
	if err != nil {
		r.log.Error("load agent", "agent", agentID, "err", err)
		return
	}
	a.ContainerID = containerID
	r.cleanup(ctx, a)
}
