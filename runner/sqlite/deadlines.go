package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/podrun/podrun/runner"
)

// expiring matches the partial index agents_live_expires word for word, which
// is what lets SQLite use it: terminating and final agents cannot expire.
const expiring = `state IN ('pending', 'running') AND expires_at > 0`

// NextDeadline returns the earliest deadline among pending and running agents.
func (s *Store) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	var at int64
	err := s.reader.QueryRowContext(ctx,
		`SELECT expires_at FROM agents WHERE `+expiring+` ORDER BY expires_at LIMIT 1`).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next deadline: %w", err)
	}
	return fromNanos(at), true, nil
}

// DueAgents returns pending and running agents whose deadline is at or before now,
// earliest first; limit <= 0 means no limit.
func (s *Store) DueAgents(ctx context.Context, now time.Time, limit int) ([]runner.Agent, error) {
	rows, err := s.reader.QueryContext(ctx,
		selectAgent+` WHERE `+expiring+` AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
		nanos(now), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("due agents: %w", err)
	}
	agents, err := scanAgents(rows)
	if err != nil {
		return nil, fmt.Errorf("due agents: %w", err)
	}
	return agents, nil
}

// Unremoved returns agents in state whose container may still exist and that
// finished before the cutoff, oldest first; limit <= 0 means no limit.
func (s *Store) Unremoved(ctx context.Context, state runner.State, finishedBefore time.Time, limit int) ([]runner.Agent, error) {
	rows, err := s.reader.QueryContext(ctx, selectAgent+` WHERE removed_at = 0 AND state = ?
		AND finished_at > 0 AND finished_at < ? AND container_id <> ''
		ORDER BY finished_at, id LIMIT ?`,
		string(state), nanos(finishedBefore), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("unremoved %s agents: %w", state, err)
	}
	agents, err := scanAgents(rows)
	if err != nil {
		return nil, fmt.Errorf("unremoved %s agents: %w", state, err)
	}
	return agents, nil
}

// Prune deletes final agents finished before the cutoff whose container is gone
// or never existed; their events and logs go by ON DELETE CASCADE.
func (s *Store) Prune(ctx context.Context, finishedBefore time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM agents WHERE finished_at > 0 AND finished_at < ?
			AND state IN (`+inList(finalStates...)+`) AND (removed_at > 0 OR container_id = '')`,
			nanos(finishedBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune agents finished before %s: %w", finishedBefore.UTC().Format(time.RFC3339), err)
	}
	return int(n), nil
}

// sqlLimit maps "no limit" to SQLite's -1.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}
