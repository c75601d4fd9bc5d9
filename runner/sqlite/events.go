package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mattn/go-sqlite3"
	"github.com/podrun/podrun/runner"
)

const insertEventSQL = `INSERT INTO events (agent_id, time, type, name, detail) VALUES (?, ?, ?, ?, ?)`

// AppendEvent adds an event to an agent's history; an unknown agent is ErrNotFound.
func (s *Store) AppendEvent(ctx context.Context, e runner.Event) error {
	err := s.write(ctx, func(tx *sql.Tx) error { return s.appendEvent(ctx, tx, e) })
	if err != nil {
		return fmt.Errorf("append event to agent %s: %w", e.AgentID, err)
	}
	return nil
}

// appendEvent inserts inside a caller's transaction so state and history change together.
func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, e runner.Event) error {
	_, err := tx.StmtContext(ctx, s.insertEv).ExecContext(ctx, e.AgentID, nanos(e.Time), e.Type, e.Name, e.Detail)
	if isConstraint(err, sqlite3.ErrConstraintForeignKey) {
		return runner.ErrNotFound
	}
	return err
}

// Events returns an agent's history, oldest first.
func (s *Store) Events(ctx context.Context, agentID string) ([]runner.Event, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT id, agent_id, time, type, name, detail FROM events WHERE agent_id = ? ORDER BY id`, agentID)
	if err != nil {
		return nil, fmt.Errorf("events of agent %s: %w", agentID, err)
	}
	defer rows.Close()
	events := []runner.Event{}
	for rows.Next() {
		var e runner.Event
		var at int64
		if err := rows.Scan(&e.ID, &e.AgentID, &at, &e.Type, &e.Name, &e.Detail); err != nil {
			return nil, fmt.Errorf("events of agent %s: %w", agentID, err)
		}
		e.Time = fromNanos(at)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events of agent %s: %w", agentID, err)
	}
	if len(events) == 0 {
		// Every agent has its "created" event, so no events usually means no agent;
		// ask to be sure rather than guess.
		if _, err := s.Agent(ctx, agentID); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
	}
	return events, nil
}
