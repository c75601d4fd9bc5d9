package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/podrun/podrun/runner"
)

// expiring matches the WHERE of the partial index agents_live_expires term for
// term, which is what lets SQLite use it: terminating and final agents cannot expire.
const expiring = `state IN ('pending', 'running', 'paused') AND expires_at > 0`

// fromExpiring names the index because, without ANALYZE statistics, SQLite
// prefers agents_state_id and then sorts every live agent by deadline; INDEXED BY
// also fails loudly if the query ever stops matching the index.
const fromExpiring = `FROM agents INDEXED BY agents_live_expires WHERE ` + expiring

// idling matches the partial index agents_idle_expires: only a running agent idles out.
const idling = `state = 'running' AND idle_expires_at > 0`

const fromIdling = `FROM agents INDEXED BY agents_idle_expires WHERE ` + idling

// warning matches the partial index agents_warn: "expiring" events still to send.
const warning = `state IN ('pending', 'running', 'paused') AND warn_at > 0`

const fromWarning = `FROM agents INDEXED BY agents_warn WHERE ` + warning

// nextDeadlineSQL is the earliest of the three deadlines the reaper keeps,
// each read from its own index: the hard TTL, the idle timeout and the
// "expiring" warning.
const nextDeadlineSQL = `SELECT MIN(at) FROM (
	SELECT * FROM (SELECT expires_at AS at ` + fromExpiring + ` ORDER BY expires_at LIMIT 1)
	UNION ALL SELECT * FROM (SELECT idle_expires_at ` + fromIdling + ` ORDER BY idle_expires_at LIMIT 1)
	UNION ALL SELECT * FROM (SELECT warn_at ` + fromWarning + ` ORDER BY warn_at LIMIT 1))`

// NextDeadline returns the earliest deadline of a live agent: its hard TTL
// (pending, running or paused), its idle deadline (running) or its
// "expiring" warning.
func (s *Store) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	err := s.reader.QueryRowContext(ctx, nextDeadlineSQL).Scan(&at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next deadline: %w", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(at.Int64), true, nil
}

// DueIdle returns running agents whose idle deadline is at or before now, earliest first.
func (s *Store) DueIdle(ctx context.Context, now time.Time, limit int) ([]runner.Agent, error) {
	return s.due(ctx, "idle agents", `SELECT `+agentColumns+` `+fromIdling+
		` AND idle_expires_at <= ? ORDER BY idle_expires_at, id LIMIT ?`, now, limit)
}

// DueWarnings returns live agents whose "expiring" warning is due, earliest first.
func (s *Store) DueWarnings(ctx context.Context, now time.Time, limit int) ([]runner.Agent, error) {
	return s.due(ctx, "due warnings", `SELECT `+agentColumns+` `+fromWarning+
		` AND warn_at <= ? ORDER BY warn_at, id LIMIT ?`, now, limit)
}

func (s *Store) due(ctx context.Context, what, query string, now time.Time, limit int) ([]runner.Agent, error) {
	rows, err := s.reader.QueryContext(ctx, query, nanos(now), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	agents, err := scanAgents(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return agents, nil
}

// Touch moves a running agent's idle deadline to now plus its idle timeout;
// it does nothing to an agent without one or not running.
func (s *Store) Touch(ctx context.Context, id string, now time.Time) error {
	_, err := s.writer.ExecContext(ctx, `UPDATE agents SET idle_expires_at = ? + idle_timeout
		WHERE id = ? AND state = 'running' AND idle_timeout > 0`, nanos(now), id)
	if err != nil {
		return fmt.Errorf("touch agent %s: %w", id, err)
	}
	return nil
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
