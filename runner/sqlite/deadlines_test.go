package sqlite

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestNextDeadline(t *testing.T) {
	for _, tt := range []struct {
		name   string
		agents []runner.Agent
		want   time.Time
		wantOK bool
	}{
		{name: "empty store"},
		{
			name: "ignores final, terminating and unset deadlines",
			agents: []runner.Agent{
				testAgent(1, func(a *runner.Agent) { a.State, a.ExpiresAt = runner.StateSucceeded, t0.Add(time.Second) }),
				testAgent(2, func(a *runner.Agent) { a.State, a.ExpiresAt = runner.StateTerminating, t0.Add(2*time.Second) }),
				testAgent(3, func(a *runner.Agent) { a.State, a.ExpiresAt = runner.StateExpired, t0.Add(3*time.Second) }),
				testAgent(4, func(a *runner.Agent) { a.ExpiresAt = time.Time{} }),
			},
		},
		{
			name: "earliest of pending and running",
			agents: []runner.Agent{
				testAgent(1, func(a *runner.Agent) { a.State, a.ExpiresAt = runner.StateFailed, t0.Add(time.Second) }),
				testAgent(2, func(a *runner.Agent) { a.ExpiresAt = t0.Add(9 * time.Second) }),
				testAgent(3, func(a *runner.Agent) { a.State, a.ExpiresAt = runner.StateRunning, t0.Add(5*time.Second) }),
				testAgent(4, func(a *runner.Agent) { a.ExpiresAt = t0.Add(7 * time.Second) }),
			},
			want: t0.Add(5 * time.Second), wantOK: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for _, a := range tt.agents {
				mustCreate(t, s, a)
			}
			got, ok, err := s.NextDeadline(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("NextDeadline = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestDueAgents(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	deadlines := []struct {
		state runner.State
		after time.Duration
	}{
		{runner.StateRunning, 3 * time.Second},  // 0: due third
		{runner.StatePending, 1 * time.Second},  // 1: due first
		{runner.StateRunning, 2 * time.Second},  // 2: due second
		{runner.StateTerminating, 0},            // 3: not expirable
		{runner.StateSucceeded, 0},              // 4: final
		{runner.StatePending, 10 * time.Second}, // 5: not yet due
	}
	var ids []string
	for i, d := range deadlines {
		a := mustCreate(t, s, testAgent(i, func(a *runner.Agent) { a.State, a.ExpiresAt = d.state, t0.Add(d.after) }))
		ids = append(ids, a.ID)
	}
	now := t0.Add(3 * time.Second) // "at or before now" includes agent 0
	for _, tt := range []struct {
		limit int
		want  []string
	}{
		{0, []string{ids[1], ids[2], ids[0]}},
		{2, []string{ids[1], ids[2]}},
	} {
		due, err := s.DueAgents(ctx, now, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range due {
			got = append(got, a.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("limit %d: due = %v, want %v", tt.limit, got, tt.want)
		}
	}
}
