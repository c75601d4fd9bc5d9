package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// finish records how the process ended and cleans up what is due now.
func (s *supervisor) finish(ctx context.Context, exit Exit) {
	a := s.agent
	s.event(ctx, PhaseStopped, fmt.Sprintf("exit code %d", exit.Code))
	if exit.Usage != nil && s.sv.monitor != nil {
		u := *exit.Usage
		s.sv.g.fork(func() { s.sv.monitor.atExit(s.sv.ctx, a, u) })
	}
	end := outcome(exit)
	code := exit.Code
	var kept Result
	if a.Kind() == KindAsync { // durable before any state says the agent is done
		kept = s.saveResult(ctx, code)
	}
	cur, err := s.sv.journal.transition(ctx, a.ID, Change{
		To: end.state, Reason: end.reason, Message: end.message, ExitCode: &code,
		Detail: fmt.Sprintf("exit code %d", code),
	})
	if errors.Is(err, ErrConflict) {
		// podrun stopped it (TTL or DELETE): the state already says why; keep the code too.
		if err := s.sv.store.SetExitCode(ctx, a.ID, code); err != nil {
			s.sv.log.Debug("record exit code", logAgent, a.ID, logErr, err)
		}
	} else if err != nil {
		s.sv.log.Error("record agent exit", logAgent, a.ID, logErr, err)
		return
	}
	s.io.markExited()
	cur.ContainerID = s.container
	if kept.CallbackStatus == CallbackPending {
		s.sv.callbacks.Deliver(cur, kept)
	}
	// An invocation's container served its one request: remove it now, whatever the outcome.
	if cur.State == StateExpired || cur.State == StateTerminating || a.Kind().Invocation() {
		s.dispose(ctx, cur)
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
// pending or running one becomes failed, one being deleted terminated. It
// returns the agent as it is now.
func (s *supervisor) fail(ctx context.Context, reason, message string) Agent {
	id := s.agent.ID
	s.event(ctx, PhaseError, message)
	cur, err := s.sv.journal.transition(ctx, id, Change{
		To: StateFailed, Reason: reason, Message: message, Detail: message,
	})
	if errors.Is(err, ErrConflict) && cur.State == StateTerminating {
		var done Agent
		if done, err = s.sv.journal.transition(ctx, id, Change{To: StateTerminated, Detail: message}); err == nil {
			cur = done
		}
	}
	if err != nil && !errors.Is(err, ErrConflict) {
		s.sv.log.Error("mark agent failed", logAgent, id, logReason, reason, logErr, err)
	}
	return cur
}

// failStart records a failure before the process ran and removes any half-made container.
func (s *supervisor) failStart(ctx context.Context, cause error) {
	s.sv.log.Warn("agent failed to start", logAgent, s.agent.ID, logContainer, s.container, logErr, cause)
	a := s.fail(ctx, ReasonError, cause.Error())
	if s.container != "" {
		if a.ID == "" { // the store did not answer: remove it all the same
			a, a.State = s.agent, StateFailed
		}
		a.ContainerID = s.container
		_ = s.remove(ctx, a)
	}
}

// dispose removes a's container, unless it is gone already, then completes
// a termination.
func (s *supervisor) dispose(ctx context.Context, a Agent) {
	if a.ContainerID != "" && a.RemovedAt.IsZero() {
		if err := s.remove(ctx, a); err != nil {
			return // the sweeper tries again
		}
	}
	if a.State == StateTerminating {
		if _, err := s.sv.journal.transition(ctx, a.ID, Change{
			To: StateTerminated, Detail: "container removed",
		}); err != nil && !errors.Is(err, ErrConflict) {
			s.sv.log.Error("mark agent terminated", logAgent, a.ID, logErr, err)
		}
	}
}

// remove keeps the tail of the container's output, then removes it; the
// removal is counted under the agent's state (a terminating one's is "terminated").
func (s *supervisor) remove(ctx context.Context, a Agent) error {
	id := a.ContainerID
	kind := string(a.State)
	if a.State == StateTerminating {
		kind = string(StateTerminated)
	}
	s.event(ctx, PhaseRemoving, kind)
	if err := s.saveLogs(ctx, id); err != nil {
		return err // keep the container (and its log) until the service answers again
	}
	callCtx, cancel := s.sv.bounded(ctx)
	defer cancel()
	t := time.Now()
	err := s.sv.sb.Remove(callCtx, id)
	if err == nil {
		s.phase(PhaseRemove, t)
	}
	if err != nil && !errors.Is(err, ErrNoContainer) {
		s.event(ctx, PhaseError, "remove: "+err.Error())
		s.sv.log.Warn("remove container", logAgent, a.ID, logContainer, id, logErr, err)
		return err
	}
	if err := s.sv.store.MarkRemoved(ctx, a.ID, s.sv.journal.now()); err != nil {
		s.sv.log.Error("mark container removed", logAgent, a.ID, logErr, err)
	}
	s.event(ctx, PhaseRemoved, "")
	if err == nil { // ErrNoContainer: something else removed it, which is not a removal of podrun's
		s.sv.journal.obs.Removed(kind)
	}
	return nil
}

// saveLogs keeps the last LogTail bytes of each stream's lines, in log order,
// for after the container is gone. An invocation keeps its stderr only: its
// stdout was its caller's answer (or its async result, kept on its own), and
// may carry what the caller sent (headers, body), which podrun never stores.
// It fails only if the container service is away.
func (s *supervisor) saveLogs(ctx context.Context, containerID string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kept := newStreamTail(s.sv.cfg.logTail)
	invocation := s.agent.Kind().Invocation()
	err := s.sv.sb.Logs(ctx, containerID, LogRead{}, func(l LogLine) error {
		if !invocation || l.Stream != Stdout {
			kept.add(l)
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrNoContainer):
		return nil
	case err != nil:
		s.sv.log.Warn("read logs before removal", logAgent, s.agent.ID, logContainer, containerID, logErr, err)
		if errors.Is(err, ErrUnavailable) {
			return err
		}
	}
	if err := s.sv.store.SaveLogs(ctx, s.agent.ID, kept.lines()); err != nil {
		s.sv.log.Warn("save logs", logAgent, s.agent.ID, logErr, err)
	}
	return nil
}
