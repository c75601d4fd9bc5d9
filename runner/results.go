package runner

import (
	"context"
	"errors"
	"fmt"
)

// saveResult stores an asynchronous invocation's output. A container taken
// back after a restart has no live buffer, nor one whose stream broke: the
// container's log has the output.
func (s *supervisor) saveResult(ctx context.Context, code int) Result {
	a := s.agent
	buf := s.io.resultBuffer()
	if buf == nil {
		max := s.sv.maxOutput(ctx, a.Function)
		buf = NewCapped(max)
		logCtx, cancel := s.sv.bounded(ctx)
		err := s.sv.sb.Logs(logCtx, s.container, LogRead{MaxLine: int(max) + 1}, func(l LogLine) error {
			if l.Stream == Stdout { // as the process wrote it: with its newline unless it had none
				_, _ = buf.Write([]byte(l.Text))
				if !l.Partial {
					_, _ = buf.Write([]byte{'\n'})
				}
			}
			return nil
		})
		cancel()
		if err != nil {
			s.sv.log.Warn("read output of a taken-back invocation", logAgent, a.ID, logErr, err)
		}
	}
	res := Result{AgentID: a.ID, ExitCode: code, Output: buf.Bytes(), Truncated: buf.Truncated(),
		CreatedAt: s.sv.journal.now(), CallbackURL: a.CallbackURL}
	if a.CallbackURL != "" {
		res.CallbackStatus = CallbackPending
	}
	if err := s.sv.store.SaveResult(ctx, res); err != nil {
		s.sv.log.Error("save result", logAgent, a.ID, logErr, err)
		return Result{}
	}
	return res
}

// Result returns an asynchronous invocation's result; ErrConflict while it still runs.
func (r *Runner) Result(ctx context.Context, agentID string) (Result, error) {
	res, err := r.store.Result(ctx, agentID)
	if !errors.Is(err, ErrNotFound) {
		return res, err
	}
	a, err := r.store.Agent(ctx, agentID)
	if err != nil {
		return Result{}, err
	}
	if a.Kind() != KindAsync {
		return Result{}, fmt.Errorf("agent %s is not an asynchronous invocation: %w", agentID, ErrNotFound)
	}
	if a.State.Live() {
		return Result{}, fmt.Errorf("%w: agent %s is %s; its result is not ready", ErrConflict, agentID, a.State)
	}
	return Result{}, fmt.Errorf("agent %s left no result: %w", agentID, ErrNotFound)
}
