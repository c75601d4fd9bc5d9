package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
	"github.com/podrun/podrun/runner"
)

// saveResultSQL replaces every column on a second save, so a retry of the same
// invocation's bookkeeping (or a callback status update) leaves one row.
const saveResultSQL = `INSERT INTO results (` + resultColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (agent_id) DO UPDATE SET exit_code = excluded.exit_code, output = excluded.output,
		truncated = excluded.truncated, created_at = excluded.created_at, callback_url = excluded.callback_url,
		callback_status = excluded.callback_status, callback_attempts = excluded.callback_attempts`

// pendingCallbacks matches the WHERE of the partial index results_pending_callbacks,
// which is what lets SQLite use it.
const pendingCallbacks = `callback_status = '` + runner.CallbackPending + `'`

// SaveResult stores an agent's result, replacing an earlier one; an unknown agent is ErrNotFound.
func (s *Store) SaveResult(ctx context.Context, r runner.Result) error {
	_, err := s.writer.ExecContext(ctx, saveResultSQL,
		r.AgentID, r.ExitCode, nonNil(r.Output), r.Truncated, nanos(r.CreatedAt),
		r.CallbackURL, r.CallbackStatus, r.CallbackAttempts)
	if isConstraint(err, sqlite3.ErrConstraintForeignKey) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("save result of agent %s: %w", r.AgentID, err)
	}
	return nil
}

// Result returns an agent's result, or ErrNotFound if none was saved.
func (s *Store) Result(ctx context.Context, agentID string) (runner.Result, error) {
	r, err := scanResult(s.reader.QueryRowContext(ctx,
		`SELECT `+resultColumns+` FROM results WHERE agent_id = ?`, agentID))
	if errors.Is(err, sql.ErrNoRows) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return runner.Result{}, fmt.Errorf("result of agent %s: %w", agentID, err)
	}
	return r, nil
}

// PendingCallbacks returns results whose callback is still to be delivered, oldest first.
func (s *Store) PendingCallbacks(ctx context.Context) ([]runner.Result, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+resultColumns+` FROM results
		WHERE `+pendingCallbacks+` ORDER BY created_at, agent_id`)
	if err != nil {
		return nil, fmt.Errorf("pending callbacks: %w", err)
	}
	results, err := scanAll(rows, scanResult)
	if err != nil {
		return nil, fmt.Errorf("pending callbacks: %w", err)
	}
	return results, nil
}
