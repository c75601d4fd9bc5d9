package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/podrun/podrun/runner"
)

// transitionSQL is a compare-and-set: the WHERE clause re-checks the state
// inside the same statement that changes it, so of many concurrent callers
// exactly one sees a row come back. @from is the runner's transition table
// read backwards (runner.TransitionSources), so the store moves an agent only
// along a legal transition. started_at keeps its first value. Entering
// running (start or resume) starts the idle clock afresh; any other state
// stops it. @idle_due guards an idle expiry against activity that moved the
// idle deadline since the reaper read it.
const transitionSQL = `UPDATE agents SET
	state = @to,
	reason = CASE WHEN @reason <> '' THEN @reason ELSE reason END,
	message = CASE WHEN @message <> '' THEN @message ELSE message END,
	exit_code = COALESCE(@exit_code, exit_code),
	started_at = CASE WHEN @running AND started_at = 0 THEN @at ELSE started_at END,
	finished_at = CASE WHEN @final THEN @at ELSE finished_at END,
	idle_expires_at = CASE WHEN @running AND idle_timeout > 0 THEN @at + idle_timeout ELSE 0 END
WHERE id = @id AND state IN (SELECT value FROM json_each(@from))
	AND (@idle_due = 0 OR (idle_expires_at > 0 AND idle_expires_at <= @idle_due))
RETURNING ` + agentColumns

// fromJSON holds, for each state an agent may move to, the states it may
// move from (runner.TransitionSources) as transitionSQL binds them.
var fromJSON = func() map[runner.State]string {
	m := map[runner.State]string{}
	for _, to := range runner.States {
		if from := runner.TransitionSources(to); len(from) > 0 {
			m[to] = statesJSON(from)
		}
	}
	return m
}()

// Transition moves the agent to c.To if the runner's transition table allows
// it from the agent's state, and records the event.
func (s *Store) Transition(ctx context.Context, id string, c runner.Change) (runner.Agent, error) {
	from, ok := fromJSON[c.To]
	if !ok {
		err := &runner.FieldError{Field: "to", Message: fmt.Sprintf("no state may move to %q", c.To)}
		return runner.Agent{}, fmt.Errorf("transition agent %s: %w", id, err)
	}
	var a runner.Agent
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAgent(tx.StmtContext(ctx, s.transit).QueryRowContext(ctx,
			sql.Named("to", string(c.To)),
			sql.Named("reason", c.Reason),
			sql.Named("message", c.Message),
			sql.Named("exit_code", exitCodeArg(c.ExitCode)),
			sql.Named("running", c.To == runner.StateRunning),
			sql.Named("final", !c.To.Live()),
			sql.Named("at", nanos(c.At)),
			sql.Named("id", id),
			sql.Named("from", from),
			sql.Named("idle_due", nanos(c.IdleDue)),
		))
		if errors.Is(err, sql.ErrNoRows) {
			if a, err = agentTx(ctx, tx, id); err != nil {
				return err
			}
			if !c.IdleDue.IsZero() && runner.CanTransition(a.State, c.To) {
				return fmt.Errorf("its idle deadline moved to %s: %w", a.IdleExpiresAt.Format(time.RFC3339Nano), runner.ErrConflict)
			}
			return fmt.Errorf("state is %s, which may not move to %s: %w", a.State, c.To, runner.ErrConflict)
		}
		if err != nil {
			return err
		}
		if err := addWebhook(ctx, tx, a, runner.WebhookState, c.At); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, runner.Event{
			AgentID: id, Time: c.At, Type: runner.EventState, Name: string(c.To), Detail: c.Detail,
		})
	})
	if errors.Is(err, runner.ErrConflict) {
		return a, fmt.Errorf("transition agent %s to %s: %w", id, c.To, err)
	}
	if err != nil {
		return runner.Agent{}, fmt.Errorf("transition agent %s to %s: %w", id, c.To, err)
	}
	return a, nil
}

// SetContainer records the agent's container ID.
func (s *Store) SetContainer(ctx context.Context, id, containerID string) error {
	res, err := s.writer.ExecContext(ctx, `UPDATE agents SET container_id = ? WHERE id = ?`, containerID, id)
	if err := foundIfChanged(res, err); err != nil {
		return fmt.Errorf("set container of agent %s: %w", id, err)
	}
	return nil
}

// SetExitCode records an agent's exit code whatever its state: the runner calls
// it after losing a transition race (the agent was already terminating or
// expired), and the code is still worth keeping then.
func (s *Store) SetExitCode(ctx context.Context, id string, code int) error {
	res, err := s.writer.ExecContext(ctx, `UPDATE agents SET exit_code = ? WHERE id = ?`, code, id)
	if err := foundIfChanged(res, err); err != nil {
		return fmt.Errorf("set exit code of agent %s: %w", id, err)
	}
	return nil
}

// SetExpiresAt moves a live agent's deadline and returns the agent; a final agent
// is a conflict (returned with the agent) since nothing is left to expire.
func (s *Store) SetExpiresAt(ctx context.Context, id string, at time.Time) (runner.Agent, error) {
	var a runner.Agent
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAgent(tx.QueryRowContext(ctx, `UPDATE agents SET expires_at = @at,
				warn_at = CASE WHEN warn_before > 0 THEN @at - warn_before ELSE 0 END
			WHERE id = @id AND state IN (`+inList(runner.LiveStates...)+`) RETURNING `+agentColumns,
			sql.Named("at", nanos(at)), sql.Named("id", id)))
		if errors.Is(err, sql.ErrNoRows) {
			if a, err = agentTx(ctx, tx, id); err != nil {
				return err
			}
			return fmt.Errorf("state is %s, not live: %w", a.State, runner.ErrConflict)
		}
		return err
	})
	if errors.Is(err, runner.ErrConflict) {
		return a, fmt.Errorf("set deadline of agent %s: %w", id, err)
	}
	if err != nil {
		return runner.Agent{}, fmt.Errorf("set deadline of agent %s: %w", id, err)
	}
	return a, nil
}

// MarkRemoved records when the agent's container was removed; a second call keeps the first time.
func (s *Store) MarkRemoved(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		// removed_at = 0 means "not removed", so a zero time would record nothing.
		err := &runner.FieldError{Field: "at", Message: "must be set"}
		return fmt.Errorf("mark container of agent %s removed: %w", id, err)
	}
	res, err := s.writer.ExecContext(ctx,
		`UPDATE agents SET removed_at = CASE WHEN removed_at = 0 THEN ? ELSE removed_at END WHERE id = ?`,
		nanos(at), id)
	if err := foundIfChanged(res, err); err != nil {
		return fmt.Errorf("mark container of agent %s removed: %w", id, err)
	}
	return nil
}

// foundIfChanged turns "no row matched" into ErrNotFound.
func foundIfChanged(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return runner.ErrNotFound
	}
	return nil
}
