package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// finish records how the agent's process ended and cleans up what is due now.
// aio is nil for a container taken back after a restart.
func (r *Runner) finish(ctx context.Context, a Agent, id string, res waitResult, aio *agentIO) {
	exit := res.exit
	if res.err != nil {
		callCtx, cancel := r.bounded(ctx)
		c, err := r.sb.Inspect(callCtx, id)
		cancel()
		switch {
		case errors.Is(err, ErrNoContainer):
			r.lose(ctx, a.ID, "container disappeared: "+res.err.Error())
			return
		case err != nil:
			r.log.Error("agent exit unknown", "agent", a.ID, "container", id, "wait", res.err, "inspect", err)
			r.lose(ctx, a.ID, fmt.Sprintf("exit unknown: %v; inspect: %v", res.err, err))
			return
		}
		exit = Exit{Code: c.ExitCode, OOMKilled: c.OOMKilled, FinishedAt: c.FinishedAt}
	}
	r.event(ctx, a.ID, PhaseStopped, fmt.Sprintf("exit code %d", exit.Code))
	to, reason := outcome(exit)
	code := exit.Code
	var kept Result
	if a.Async { // durable before any state says the agent is done
		a.ContainerID = id
		kept = r.saveResult(ctx, a, code, aio)
	}
	cur, err := r.transition(ctx, a.ID, Change{
		From: []State{StateRunning}, To: to, Reason: reason, ExitCode: &code, Detail: fmt.Sprintf("exit code %d", code),
	})
	if errors.Is(err, ErrConflict) {
		// podrun stopped it (TTL or DELETE): the state already says why; keep the code too.
		if err := r.store.SetExitCode(ctx, a.ID, code); err != nil {
			r.log.Debug("record exit code", "agent", a.ID, "err", err)
		}
	} else if err != nil {
		r.log.Error("record agent exit", "agent", a.ID, "err", err)
		return
	}
	aio.markExited()
	cur.ContainerID = id
	if kept.CallbackStatus == CallbackPending {
		r.goDeliver(cur, kept)
	}
	// An invocation's container served its one request: remove it now, whatever the outcome.
	if cur.State == StateExpired || cur.State == StateTerminating || cur.Function != "" {
		r.cleanup(ctx, cur)
	}
}

// outcome maps an exit the runner did not cause to a final state and reason.
// Podman 4 never reports OOM kills, so SIGKILL's 137 under a memory limit is taken as OOM.
func outcome(e Exit) (State, string) {
	switch {
	case e.Code == 0:
		return StateSucceeded, ReasonExit
	case e.OOMKilled || e.Code == 137:
		return StateFailed, ReasonOOM
	default:
		return StateFailed, ReasonExit
	}
}

// lose marks a live agent whose container is gone.
func (r *Runner) lose(ctx context.Context, agentID, detail string) {
	r.event(ctx, agentID, PhaseError, detail)
	cur, err := r.transition(ctx, agentID, Change{
		From: []State{StatePending, StateRunning}, To: StateFailed, Reason: ReasonLost, Detail: detail,
	})
	if errors.Is(err, ErrConflict) && cur.State == StateTerminating {
		_, err = r.transition(ctx, agentID, Change{From: []State{StateTerminating}, To: StateTerminated, Detail: detail})
	}
	if err != nil && !errors.Is(err, ErrConflict) {
		r.log.Error("mark agent lost", "agent", agentID, "err", err)
	}
}

// cleanup stops and removes an agent's container, then completes a termination.
func (r *Runner) cleanup(ctx context.Context, a Agent) {
	if a.ContainerID != "" && a.RemovedAt.IsZero() {
		if err := r.removeContainer(ctx, a, removalKind(a.State)); err != nil {
			return // the sweeper tries again
		}
	}
	if a.State == StateTerminating {
		if _, err := r.transition(ctx, a.ID, Change{
			From: []State{StateTerminating}, To: StateTerminated, Detail: "container removed",
		}); err != nil && !errors.Is(err, ErrConflict) {
			r.log.Error("mark agent terminated", "agent", a.ID, "err", err)
		}
	}
}

func removalKind(s State) string {
	if s == StateTerminating {
		return string(StateTerminated)
	}
	return string(s)
}

// removeContainer keeps the tail of the container's output, then removes it.
func (r *Runner) removeContainer(ctx context.Context, a Agent, kind string) error {
	id := a.ContainerID
	r.event(ctx, a.ID, PhaseRemoving, kind)
	r.saveLogs(ctx, a.ID, id)
	callCtx, cancel := r.bounded(ctx)
	defer cancel()
	err := r.sb.Remove(callCtx, id)
	if err != nil && !errors.Is(err, ErrNoContainer) {
		r.event(ctx, a.ID, PhaseError, "remove: "+err.Error())
		r.log.Warn("remove container", "agent", a.ID, "container", id, "err", err)
		return err
	}
	if err := r.store.MarkRemoved(ctx, a.ID, r.now()); err != nil {
		r.log.Error("mark container removed", "agent", a.ID, "err", err)
	}
	r.event(ctx, a.ID, PhaseRemoved, "")
	r.obs.Removed(kind)
	return nil
}

// saveLogs keeps the last LogTail bytes of each stream's lines, in log
// order, for after the container is gone.
func (r *Runner) saveLogs(ctx context.Context, agentID, containerID string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kept := newStreamTail(r.cfg.LogTail)
	err := r.sb.Logs(ctx, containerID, LogRead{}, func(l LogLine) error {
		kept.add(l)
		return nil
	})
	if errors.Is(err, ErrNoContainer) {
		return
	}
	if err != nil {
		r.log.Warn("read logs before removal", "agent", agentID, "container", containerID, "err", err)
	}
	if err := r.store.SaveLogs(ctx, agentID, kept.lines()); err != nil {
		r.log.Warn("save logs", "agent", agentID, "err", err)
	}
}
