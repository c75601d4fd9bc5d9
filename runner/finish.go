package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// finish records how s's process ended and cleans up what is due now.
func (r *Runner) finish(ctx context.Context, s *supervisor, exit Exit) {
	a, id := s.agent, s.container
	r.event(ctx, a.ID, PhaseStopped, fmt.Sprintf("exit code %d", exit.Code))
	end := outcome(exit)
	code := exit.Code
	var kept Result
	if a.Kind() == KindAsync { // durable before any state says the agent is done
		a.ContainerID = id
		kept = r.saveResult(ctx, a, code, s.io)
	}
	cur, err := r.transition(ctx, a.ID, Change{
		To: end.state, Reason: end.reason, Message: end.message, ExitCode: &code,
		Detail: fmt.Sprintf("exit code %d", code),
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
	s.io.markExited()
	cur.ContainerID = id
	if kept.CallbackStatus == CallbackPending {
		r.goDeliver(cur, kept)
	}
	// An invocation's container served its one request: remove it now, whatever the outcome.
	if cur.State == StateExpired || cur.State == StateTerminating || cur.Kind().Invocation() {
		r.cleanup(ctx, cur)
	}
}

// ending is a final state with its reason and message.
type ending struct {
	state           State
	reason, message string
}

// outcome maps an exit the runner did not cause to how the agent ended. Exit
// code 137 is a SIGKILL, and only the kernel's word (Exit.OOMKilled, which
// the sandbox reads from the memory cgroup) makes it an OOM kill: podman kill,
// podman rm -f and any other SIGKILL give 137 too.
func outcome(e Exit) ending {
	switch {
	case e.Code == 0:
		return ending{StateSucceeded, ReasonExit, ""}
	case e.OOMKilled:
		return ending{StateFailed, ReasonOOM, fmt.Sprintf("killed by the kernel's OOM killer at its memory limit (exit code %d)", e.Code)}
	case e.Code == 137:
		return ending{StateFailed, ReasonKilled, "killed by SIGKILL from outside podrun, not for memory (exit code 137)"}
	case e.Code > 128 && e.Code <= 128+64:
		return ending{StateFailed, ReasonExit, fmt.Sprintf("exited with code %d (128+%d: ended by signal %d)", e.Code, e.Code-128, e.Code-128)}
	default:
		return ending{StateFailed, ReasonExit, fmt.Sprintf("exited with code %d", e.Code)}
	}
}

// fail ends a live agent whose exit podrun could not see, for reason: a
// pending or running one becomes failed, one being deleted terminated.
func (r *Runner) fail(ctx context.Context, agentID, reason, message string) {
	r.event(ctx, agentID, PhaseError, message)
	cur, err := r.transition(ctx, agentID, Change{
		To: StateFailed, Reason: reason, Message: message, Detail: message,
	})
	if errors.Is(err, ErrConflict) && cur.State == StateTerminating {
		_, err = r.transition(ctx, agentID, Change{To: StateTerminated, Detail: message})
	}
	if err != nil && !errors.Is(err, ErrConflict) {
		r.log.Error("mark agent failed", "agent", agentID, "reason", reason, "err", err)
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
			To: StateTerminated, Detail: "container removed",
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
	if err := r.saveLogs(ctx, a.ID, id); err != nil {
		return err // keep the container (and its log) until the service answers again
	}
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
	if err == nil { // ErrNoContainer: something else removed it, which is not a removal of podrun's
		r.obs.Removed(kind)
	}
	return nil
}

// saveLogs keeps the last LogTail bytes of each stream's lines, in log order,
// for after the container is gone. It fails only if the container service is away.
func (r *Runner) saveLogs(ctx context.Context, agentID, containerID string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kept := newStreamTail(r.cfg.LogTail)
	err := r.sb.Logs(ctx, containerID, LogRead{}, func(l LogLine) error {
		kept.add(l)
		return nil
	})
	switch {
	case errors.Is(err, ErrNoContainer):
		return nil
	case err != nil:
		r.log.Warn("read logs before removal", "agent", agentID, "container", containerID, "err", err)
		if errors.Is(err, ErrUnavailable) {
			return err
		}
	}
	if err := r.store.SaveLogs(ctx, agentID, kept.lines()); err != nil {
		r.log.Warn("save logs", "agent", agentID, "err", err)
	}
	return nil
}
