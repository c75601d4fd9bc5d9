package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestEventsOldestFirst(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(1))
	other := mustCreate(t, s, testAgent(2))
	phases := []string{runner.PhaseCreating, runner.PhaseCreated, runner.PhaseStarting}
	for i, p := range phases {
		e := runner.Event{AgentID: a.ID, Time: t0.Add(time.Duration(i) * time.Second), Type: runner.EventContainer, Name: p, Detail: "d"}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvent(ctx, runner.Event{AgentID: other.ID, Type: runner.EventContainer, Name: "noise"}); err != nil {
			t.Fatal(err)
		}
	}
	events, err := s.Events(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{string(runner.StatePending)}, phases...)
	if len(events) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(events), len(want), events)
	}
	for i, e := range events {
		if e.Name != want[i] || e.AgentID != a.ID {
			t.Errorf("event %d = %+v, want %s of %s", i, e, want[i], a.ID)
		}
		if i > 0 && e.ID <= events[i-1].ID {
			t.Errorf("event IDs not increasing: %d after %d", e.ID, events[i-1].ID)
		}
	}
	if got := events[2].Time; !got.Equal(t0.Add(time.Second)) || got.Location() != time.UTC {
		t.Errorf("event time = %v, want %v in UTC", got, t0.Add(time.Second))
	}
}

// writtenEvents counts an agent's events on disk, without Events' flush.
func writtenEvents(t *testing.T, s *Store, agentID string) []string {
	t.Helper()
	rows, err := s.reader.Query(`SELECT name FROM events WHERE agent_id = ? ORDER BY id`, agentID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func TestHeldEventsRideOnTheNextWriteInOrder(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(1))
	if err := s.AppendEvent(ctx, runner.Event{AgentID: a.ID, Time: t0, Type: runner.EventContainer, Name: runner.PhaseCreated}); err != nil {
		t.Fatal(err)
	}
	if got := writtenEvents(t, s, a.ID); len(got) != 1 {
		t.Fatalf("before any write: %v on disk, want only the creation (the phase is held)", got)
	}
	if _, err := s.Transition(ctx, a.ID, runner.Change{To: runner.StateRunning}); err != nil {
		t.Fatal(err)
	}
	want := []string{string(runner.StatePending), runner.PhaseCreated, string(runner.StateRunning)}
	if got := writtenEvents(t, s, a.ID); !slices.Equal(got, want) {
		t.Fatalf("after a transition: %v on disk, want %v", got, want)
	}
}

func TestHeldEventsAreWrittenWithinTheFlushDelay(t *testing.T) {
	s := newStore(t)
	a := mustCreate(t, s, testAgent(1))
	if err := s.AppendEvent(context.Background(), runner.Event{AgentID: a.ID, Time: t0, Type: runner.EventContainer, Name: runner.PhaseRemoved}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(writtenEvents(t, s, a.ID)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("held event not written after 5 s (flush delay %v)", eventFlushDelay)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHeldEventsSurviveClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podrun.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := mustCreate(t, s, testAgent(1))
	if err := s.AppendEvent(context.Background(), runner.Event{AgentID: a.ID, Time: t0, Type: runner.EventContainer, Name: runner.PhaseStopped}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	if got := writtenEvents(t, s, a.ID); !slices.Equal(got, []string{string(runner.StatePending), runner.PhaseStopped}) {
		t.Fatalf("after Close and Open: %v", got)
	}
}

func TestHeldEventOfAPrunedAgentIsDropped(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	gone := mustCreate(t, s, testAgent(1, func(a *runner.Agent) { a.State, a.FinishedAt = runner.StateSucceeded, t0 }))
	kept := mustCreate(t, s, testAgent(2))
	if err := s.AppendEvent(ctx, runner.Event{AgentID: gone.ID, Time: t0, Type: runner.EventContainer, Name: "late"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	// The next write carries the held event of an agent that no longer exists: it must not fail.
	if _, err := s.Transition(ctx, kept.ID, runner.Change{To: runner.StateRunning}); err != nil {
		t.Fatalf("a write after the prune: %v", err)
	}
	if got := writtenEvents(t, s, gone.ID); len(got) != 0 {
		t.Errorf("pruned agent has events %v", got)
	}
}
