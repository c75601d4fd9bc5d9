package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/podrun/podrun/runner"
)

// expiring matches the WHERE of the partial index agents_live_expires term for
// term, which is what lets SQLite use it: terminating and final agents cannot expire.
const expiring = `state IN ('pending', 'running') AND expires_at > 0`

// fromExpiring names the index because, without ANALYZE statistics, SQLite
// prefers agents_state_id and then sorts every live agent by deadline; INDEXED BY
// also fails loudly if the query ever stops matching the index.
const fromExpiring = `FROM agents INDEXED BY agents_live_expires WHERE ` + expiring

// NextDeadline returns the earliest deadline among pending and running agents.
func (s *Store) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	var at int64
	err := s.reader.QueryRowContext(ctx,
		`SELECT expires_at `+fromExpiring+` ORDER BY expires_at LIMIT 1`).Scan(&at)
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
		`SELECT `+agentColumns+` `+fromExpiring+` AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
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

// sqlLimit maps "no limit" to SQLite's -1.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}
