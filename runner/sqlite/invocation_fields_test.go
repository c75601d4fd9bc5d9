package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// TestAgentInvocationFieldsOnEveryReadPath checks that async, callback_url and start
// come back from every query that returns agents, since each lists its columns.
func TestAgentInvocationFieldsOnEveryReadPath(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	invocation := func(a *runner.Agent) {
		a.Function, a.Async, a.CallbackURL, a.Start = "fn", true, "https://cb.example/done?x=1&y=2", runner.StartWarm
	}
	live := mustCreate(t, s, testAgent(1, invocation))
	done := mustCreate(t, s, testAgent(2, invocation, func(a *runner.Agent) {
		a.State, a.ContainerID, a.FinishedAt = runner.StateExpired, "c0ffee", t0.Add(time.Second)
	}))
	one := func(a runner.Agent, err error) ([]runner.Agent, error) { return []runner.Agent{a}, err }
	for _, tt := range []struct {
		name   string
		call   func() ([]runner.Agent, error)
		wantID string
	}{
		{"Agent", func() ([]runner.Agent, error) { return one(s.Agent(ctx, live.ID)) }, live.ID},
		{"ListAgents", func() ([]runner.Agent, error) {
			page, err := s.ListAgents(ctx, runner.AgentFilter{Function: "fn", States: []runner.State{runner.StatePending}})
			return page.Agents, err
		}, live.ID},
		{"LiveAgents", func() ([]runner.Agent, error) { return s.LiveAgents(ctx) }, live.ID},
		{"DueAgents", func() ([]runner.Agent, error) { return s.DueAgents(ctx, live.ExpiresAt, 0) }, live.ID},
		{"Unremoved", func() ([]runner.Agent, error) {
			return s.Unremoved(ctx, runner.StateExpired, t0.Add(time.Minute), 0)
		}, done.ID},
		{"SetExpiresAt", func() ([]runner.Agent, error) {
			return one(s.SetExpiresAt(ctx, live.ID, live.ExpiresAt.Add(time.Second)))
		}, live.ID},
		{"Transition", func() ([]runner.Agent, error) {
			return one(s.Transition(ctx, live.ID, runner.Change{
				To: runner.StateRunning, At: t0,
			}))
		}, live.ID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			agents, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if len(agents) != 1 || agents[0].ID != tt.wantID {
				t.Fatalf("got %d agents (%+v), want only %s", len(agents), agents, tt.wantID)
			}
			got := agents[0]
			if !got.Async || got.CallbackURL != live.CallbackURL || got.Start != runner.StartWarm {
				t.Errorf("Async %v, CallbackURL %q, Start %q; want true, %q, %q",
					got.Async, got.CallbackURL, got.Start, live.CallbackURL, runner.StartWarm)
			}
		})
	}
}
