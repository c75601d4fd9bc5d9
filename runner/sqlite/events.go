package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/podrun/podrun/runner"
)

const insertEventSQL = `INSERT INTO events (agent_id, time, type, name, detail) VALUES (?, ?, ?, ?, ?)`

// insertHeldEventSQL writes a held event unless its agent was pruned meanwhile.
const insertHeldEventSQL = `INSERT INTO events (agent_id, time, type, name, detail)
	SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM agents WHERE id = ?)`

// eventFlushDelay bounds how long an appended event waits for a write to ride on.
const eventFlushDelay = 50 * time.Millisecond

// AppendEvent adds an event to an agent's history; an unknown agent is
// ErrNotFound. The event is held and written with the next write transaction,
// or within eventFlushDelay, so a container phase costs no fsync of its own on
// an invocation's path; Events and Close write held events first.
func (s *Store) AppendEvent(ctx context.Context, e runner.Event) error {
	var one int
	if err := s.agentExists.QueryRowContext(ctx, e.AgentID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = runner.ErrNotFound
		}
		return fmt.Errorf("append event to agent %s: %w", e.AgentID, err)
	}
	s.held.Lock()
	defer s.held.Unlock()
	if s.closed {
		return fmt.Errorf("append event to agent %s: store is closed", e.AgentID)
	}
	s.heldEvents = append(s.heldEvents, e)
	s.armFlushLocked()
	return nil
}

// armFlushLocked makes sure held events are written within eventFlushDelay; s.held is held.
func (s *Store) armFlushLocked() {
	if s.flushTimer == nil && !s.closed {
		s.flushTimer = time.AfterFunc(eventFlushDelay, s.flushEvents)
	}
}

// flushEvents writes the held events in a transaction of their own; if that
// fails, write puts them back for the next write.
func (s *Store) flushEvents() { _ = s.write(context.Background(), noWrite) }

func noWrite(*sql.Tx) error { return nil }

// takeHeld hands the held events to a write transaction.
func (s *Store) takeHeld() []runner.Event {
	s.held.Lock()
	defer s.held.Unlock()
	events := s.heldEvents
	s.heldEvents = nil
	if len(events) > 0 {
		// Until they are committed, taken events still count as held (hasHeld), so a
		// reader that must see them waits for this transaction instead of missing them.
		s.heldWriting.Add(1)
	}
	if s.flushTimer != nil {
		s.flushTimer.Stop()
		s.flushTimer = nil
	}
	return events
}

// returnHeld puts back the events of a transaction that rolled back, ahead of newer ones.
func (s *Store) returnHeld(events []runner.Event) {
	if len(events) == 0 {
		return
	}
	s.held.Lock()
	defer s.held.Unlock()
	s.heldEvents = append(events, s.heldEvents...)
	s.armFlushLocked()
}

// hasHeld reports whether events were appended that a reader may not see yet:
// held, or taken by a write transaction that has not committed them.
func (s *Store) hasHeld() bool {
	if s.heldWriting.Load() > 0 {
		return true
	}
	s.held.Lock()
	defer s.held.Unlock()
	return len(s.heldEvents) > 0
}

// writeHeld inserts held events at the start of a write transaction.
func (s *Store) writeHeld(ctx context.Context, tx *sql.Tx, events []runner.Event) error {
	if len(events) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, s.insertHeld)
	for _, e := range events {
		if _, err := st.ExecContext(ctx, e.AgentID, nanos(e.Time), e.Type, e.Name, e.Detail, e.AgentID); err != nil {
			return fmt.Errorf("write held event of agent %s: %w", e.AgentID, err)
		}
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
	if s.hasHeld() {
		if err := s.write(ctx, noWrite); err != nil {
			return nil, fmt.Errorf("events of agent %s: write held events: %w", agentID, err)
		}
	}
	rows, err := s.reader.QueryContext(ctx,
		`SELECT id, agent_id, time, type, name, detail FROM events WHERE agent_id = ? ORDER BY id`, agentID)
	if err != nil {
		return nil, fmt.Errorf("events of agent %s: %w", agentID, err)
	}
	events, err := scanAll(rows, scanEvent)
	if err != nil {
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

// scanEvent reads one row of id, agent_id, time, type, name, detail.
func scanEvent(row scanner) (runner.Event, error) {
	var e runner.Event
	var at int64
	err := row.Scan(&e.ID, &e.AgentID, &at, &e.Type, &e.Name, &e.Detail)
	e.Time = fromNanos(at)
	return e, err
}
