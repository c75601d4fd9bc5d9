package sqlite

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestUnremoved(t *testing.T) {
	s := newStore(t)
	cutoff := t0.Add(10 * time.Second)
	type fixture struct {
		state     runner.State
		container string
		finished  time.Duration // after t0; 0 = unset
		removed   bool
	}
	fixtures := []fixture{
		{runner.StateExpired, "c1", 5 * time.Second, false},   // 0: yes
		{runner.StateExpired, "c2", 2 * time.Second, false},   // 1: yes, older
		{runner.StateExpired, "c3", 5 * time.Second, true},    // 2: already removed
		{runner.StateExpired, "", 5 * time.Second, false},     // 3: never had a container
		{runner.StateExpired, "c5", 10 * time.Second, false},  // 4: not before cutoff
		{runner.StateExpired, "c6", 0, false},                 // 5: finished_at unset
		{runner.StateSucceeded, "c7", 5 * time.Second, false}, // 6: other state
	}
	var ids []string
	for i, f := range fixtures {
		a := mustCreate(t, s, testAgent(i, func(a *runner.Agent) {
			a.State, a.ContainerID = f.state, f.container
			if f.finished > 0 {
				a.FinishedAt = t0.Add(f.finished)
			}
			if f.removed {
				a.RemovedAt = a.FinishedAt
			}
		}))
		ids = append(ids, a.ID)
	}
	for _, tt := range []struct {
		state runner.State
		limit int
		want  []string
	}{
		{runner.StateExpired, 0, []string{ids[1], ids[0]}},
		{runner.StateExpired, 1, []string{ids[1]}},
		{runner.StateSucceeded, 0, []string{ids[6]}},
		{runner.StateFailed, 0, nil},
	} {
		agents, err := s.Unremoved(context.Background(), tt.state, cutoff, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range agents {
			got = append(got, a.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Unremoved(%s, limit %d) = %v, want %v", tt.state, tt.limit, got, tt.want)
		}
	}
}

func TestPruneCascades(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	cutoff := t0.Add(10 * time.Second)
	old := t0.Add(time.Second)
	type fixture struct {
		state     runner.State
		container string
		finished  time.Time
		removed   bool
		pruned    bool
	}
	fixtures := []fixture{
		{runner.StateSucceeded, "c0", old, true, true},    // container removed
		{runner.StateFailed, "", old, false, true},        // never had a container
		{runner.StateTerminated, "c2", old, false, false}, // container may still exist
		{runner.StateExpired, "c3", cutoff, true, false},  // not before cutoff
		{runner.StateTerminating, "", old, false, false},  // live
		{runner.StateRunning, "", time.Time{}, false, false},
	}
	var agents []runner.Agent
	for i, f := range fixtures {
		a := mustCreate(t, s, testAgent(i, func(a *runner.Agent) {
			a.State, a.ContainerID, a.FinishedAt = f.state, f.container, f.finished
			if f.removed {
				a.RemovedAt = f.finished
			}
		}))
		if err := s.AppendEvent(ctx, runner.Event{AgentID: a.ID, Time: t0, Type: runner.EventContainer, Name: runner.PhaseRemoved}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveLogs(ctx, a.ID, []runner.LogLine{{Seq: 1, Stream: runner.Stdout, Text: "out"}}); err != nil {
			t.Fatal(err)
		}
		mustSaveResult(t, s, runner.Result{AgentID: a.ID, Output: []byte("out"), CallbackStatus: runner.CallbackDelivered})
		agents = append(agents, a)
	}
	n, err := s.Prune(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Prune = %d, want 2", n)
	}
	for i, f := range fixtures {
		id := agents[i].ID
		_, agentErr := s.Agent(ctx, id)
		_, eventsErr := s.Events(ctx, id)
		_, logsErr := s.Logs(ctx, id)
		_, resultErr := s.Result(ctx, id)
		for what, err := range map[string]error{"agent": agentErr, "events": eventsErr, "logs": logsErr, "result": resultErr} {
			if f.pruned {
				wantErr(t, err, runner.ErrNotFound)
			} else if err != nil {
				t.Errorf("fixture %d %s: %v, want kept", i, what, err)
			}
		}
	}
	// Nothing orphaned: the cascade removed the rows, not just hid them.
	for _, table := range []string{"events", "logs", "results"} {
		var orphans int
		err := s.reader.QueryRow(`SELECT COUNT(*) FROM ` + table + ` WHERE agent_id NOT IN (SELECT id FROM agents)`).Scan(&orphans)
		if err != nil {
			t.Fatal(err)
		}
		if orphans != 0 {
			t.Errorf("%d orphaned rows in %s", orphans, table)
		}
	}
}
