package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// supervisor is the one goroutine that owns an agent's container: it creates,
// starts and watches it, and acts on stop requests from DELETE and the reaper.
type supervisor struct {
	stopReq chan string // ReasonDeleted or ReasonTTL; buffered so senders never block
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
// does. With c nil it creates and runs the container; otherwise it takes c back.
func (r *Runner) supervise(a Agent, c *Container) {
	r.mu.Lock()
	if r.closed || r.active[a.ID] != nil {
		r.mu.Unlock()
		return
	}
	s := &supervisor{stopReq: make(chan string, 1)}
	r.active[a.ID] = s
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer r.release(a.ID)
		switch {
		case c != nil:
			r.adopt(s, a, *c)
		case a.State == StatePending:
			r.run(s, a)
		default:
			r.stopAndCleanup(r.ctx, a)
		}
	}()
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
	r.supervise(a, nil)
}

func (r *Runner) spec(a Agent) Spec {
	labels := make(map[string]string, len(a.Labels)+2)
	for k, v := range a.Labels {
		labels[k] = v
	}
	labels[LabelAgent] = a.ID
	labels[LabelInstance] = r.cfg.Instance
	return Spec{Name: "podrun-" + a.ID, Image: a.Image, Command: a.Command, Env: a.Env, Limits: a.Limits, Labels: labels}
}

// run creates and starts a pending agent's container, then watches it to the end.
func (r *Runner) run(s *supervisor, a Agent) {
	ctx := r.ctx
	r.event(ctx, a.ID, PhaseCreating, "")
	callCtx, cancel := r.bounded(ctx)
	defer cancel()
	id, err := r.sb.Create(callCtx, r.spec(a))
	if err != nil {
		if ctx.Err() == nil {
			r.failStart(ctx, a.ID, "", fmt.Errorf("create container: %w", err))
		}
		return
	}
	if err := r.store.SetContainer(ctx, a.ID, id); err != nil {
		r.failStart(ctx, a.ID, id, fmt.Errorf("record container: %w", err))
		return
	}
	r.event(ctx, a.ID, PhaseCreated, id)
	if _, ok := s.pendingStop(); ok {
		r.finishUnstarted(ctx, a.ID, id)
		return
	}
	att, err := r.sb.Attach(callCtx, id, Streams{Stdin: bytes.NewReader(a.Stdin)})
	if err != nil {
		r.failStart(ctx, a.ID, id, fmt.Errorf("attach: %w", err))
		return
	}
	r.event(ctx, a.ID, PhaseStarting, "")
	if err := r.sb.Start(callCtx, id); err != nil {
		r.failStart(ctx, a.ID, id, fmt.Errorf("start container: %w", err))
		return
	}
	cur, err := r.transition(ctx, a.ID, Change{From: []State{StatePending}, To: StateRunning, Detail: "container " + id})
	if errors.Is(err, ErrConflict) {
		s.request(stopReason(cur.State)) // deleted or expired while starting
	} else if err != nil {
		r.log.Error("mark agent running", "agent", a.ID, "err", err)
	}
	r.event(ctx, a.ID, PhaseRunning, "")
	r.watch(ctx, s, a, id, att)
}

func stopReason(s State) string {
	if s == StateExpired {
		return ReasonTTL
	}
	return ReasonDeleted
}

// failStart records a failure before the process ran and removes any half-made container.
func (r *Runner) failStart(ctx context.Context, agentID, containerID string, cause error) {
	r.log.Warn("agent failed to start", "agent", agentID, "container", containerID, "err", cause)
	r.event(ctx, agentID, PhaseError, cause.Error())
	cur, err := r.transition(ctx, agentID, Change{
		From: []State{StatePending}, To: StateFailed, Reason: ReasonError, Detail: cause.Error(),
	})
	if errors.Is(err, ErrConflict) && cur.State == StateTerminating {
		_, err = r.transition(ctx, agentID, Change{From: []State{StateTerminating}, To: StateTerminated, Detail: cause.Error()})
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

type waitResult struct {
	exit Exit
	err  error
}

// watch waits for the container's process to end, acting on stop requests meanwhile.
func (r *Runner) watch(ctx context.Context, s *supervisor, a Agent, id string, att Attachment) {
	exited := make(chan waitResult, 1)
	go func() {
		ex, err := att.Wait(ctx)
		exited <- waitResult{ex, err}
	}()
	for {
		select {
		case reason := <-s.stopReq:
			r.signal(ctx, a.ID, id, reason)
		case res := <-exited:
			if ctx.Err() != nil {
				return // shutting down: the container lives on and the next Open takes it back
			}
			r.finish(ctx, a, id, res)
			return
		}
	}
}

// signal kills the container at its deadline, or stops it gracefully on DELETE.
func (r *Runner) signal(ctx context.Context, agentID, id, reason string) {
	r.event(ctx, agentID, PhaseStopping, reason)
	if reason == ReasonTTL {
		ctx, cancel := r.bounded(ctx)
		defer cancel()
		if err := r.sb.Kill(ctx, id); err != nil && !errors.Is(err, ErrNoContainer) {
			r.log.Warn("kill container", "agent", agentID, "container", id, "err", err)
		}
		return
	}
	r.wg.Add(1)
	go func() { // Stop blocks for up to the stop timeout; keep watching meanwhile
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(ctx, r.cfg.StopTimeout+30*time.Second)
		defer cancel()
		if err := r.sb.Stop(ctx, id, r.cfg.StopTimeout); err != nil && !errors.Is(err, ErrNoContainer) && ctx.Err() == nil {
			r.log.Warn("stop container", "agent", agentID, "container", id, "err", err)
		}
	}()
}
