package runner

import (
	"context"
	"errors"
	"time"
)

// saveResult stores an asynchronous invocation's output. A container taken
// back after a restart has no live buffer: its log has the output.
func (r *Runner) saveResult(ctx context.Context, a Agent, code int, aio *agentIO) Result {
	var buf *Capped
	if aio != nil && aio.result != nil {
		buf = aio.result
	} else {
		max := r.maxOutput(a.Function)
		buf = NewCapped(max)
		logCtx, cancel := r.bounded(ctx)
		err := r.sb.Logs(logCtx, a.ContainerID, LogRead{MaxLine: int(max) + 1}, func(l LogLine) error {
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
			r.log.Warn("read output of a taken-back invocation", "agent", a.ID, "err", err)
		}
	}
	res := Result{AgentID: a.ID, ExitCode: code, Output: buf.Bytes(), Truncated: buf.Truncated(), CreatedAt: r.now(), CallbackURL: a.CallbackURL}
	if a.CallbackURL != "" {
		res.CallbackStatus = CallbackPending
	}
	if err := r.store.SaveResult(ctx, res); err != nil {
		r.log.Error("save result", "agent", a.ID, "err", err)
		return Result{}
	}
	return res
}

// maxOutput is the function's output cap, or the default for a function since deleted.
func (r *Runner) maxOutput(function string) int64 {
	if f, err := r.store.Function(r.ctx, function); err == nil {
		return f.MaxOutput
	}
	return r.cfg.FunctionPolicy.DefaultMaxOutput
}

// goDeliver posts a result to its callback URL with bounded retries and backoff,
// recording every attempt so a restart resumes where it stopped.
func (r *Runner) goDeliver(a Agent, res Result) {
	if r.cfg.Notifier == nil {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		backoff := r.cfg.CallbackBackoff
		for res.CallbackAttempts < r.cfg.CallbackAttempts {
			res.CallbackAttempts++
			err := r.cfg.Notifier.Notify(r.ctx, res.CallbackURL, a, res)
			if r.ctx.Err() != nil {
				return // shutting down: the attempt is retried after restart
			}
			switch {
			case err == nil:
				res.CallbackStatus = CallbackDelivered
			case res.CallbackAttempts >= r.cfg.CallbackAttempts:
				res.CallbackStatus = CallbackFailed
				r.log.Warn("callback failed for good", "agent", a.ID, "attempts", res.CallbackAttempts, "err", err)
			default:
				r.log.Info("callback failed, will retry", "agent", a.ID, "attempt", res.CallbackAttempts, "err", err)
			}
			if err := r.store.SaveResult(r.ctx, res); err != nil {
				r.log.Error("record callback attempt", "agent", a.ID, "err", err)
			}
			if res.CallbackStatus != CallbackPending {
				return
			}
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff *= 2
		}
	}()
}

// resumeCallbacks restarts the deliveries a previous run did not finish.
func (r *Runner) resumeCallbacks(ctx context.Context) error {
	pending, err := r.store.PendingCallbacks(ctx)
	if err != nil {
		return err
	}
	for _, res := range pending {
		a, err := r.store.Agent(ctx, res.AgentID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		r.goDeliver(a, res)
	}
	return nil
}
