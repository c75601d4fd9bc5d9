package sqlite

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestCreateAgentRoundTrip(t *testing.T) {
	code := 3
	for _, tt := range []struct {
		name string
		in   runner.Agent
		want func(runner.Agent) runner.Agent // the agent read back
	}{
		{
			name: "every field",
			in: testAgent(1, func(a *runner.Agent) {
				a.State = runner.StateFailed
				a.Reason = runner.ReasonExit
				a.ExitCode = &code
				a.ContainerID = "c0ffee"
				a.LimitsEnforced = true
				a.StartedAt = t0.Add(time.Second)
				a.FinishedAt = t0.Add(2 * time.Second)
				a.RemovedAt = t0.Add(3 * time.Second)
				a.Labels = map[string]string{`we"ird.key`: "v", "team": "a"}
				a.Async, a.CallbackURL, a.Start = true, "https://cb.example/x", runner.StartCold
				a.KeepAlive = true
			}),
			want: func(a runner.Agent) runner.Agent { return a },
		},
		{
			name: "nil collections come back empty",
			in: testAgent(2, func(a *runner.Agent) {
				a.Command, a.Env, a.Labels, a.Stdin = nil, nil, nil, nil
			}),
			want: func(a runner.Agent) runner.Agent {
				a.Command, a.Env, a.Labels = []string{}, map[string]string{}, map[string]string{}
				return a
			},
		},
		{
			name: "local times come back in UTC",
			in: testAgent(3, func(a *runner.Agent) {
				a.CreatedAt = a.CreatedAt.In(time.FixedZone("X", 3600))
			}),
			want: func(a runner.Agent) runner.Agent {
				a.CreatedAt = a.CreatedAt.UTC()
				return a
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			mustCreate(t, s, tt.in)
			got, want := mustAgent(t, s, tt.in.ID), tt.want(tt.in)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			events, err := s.Events(context.Background(), tt.in.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantEvents := []runner.Event{{
				ID: events[0].ID, AgentID: tt.in.ID, Time: tt.in.CreatedAt.UTC(),
				Type: runner.EventState, Name: string(tt.in.State), Detail: "created",
			}}
			if !reflect.DeepEqual(events, wantEvents) {
				t.Errorf("events = %+v, want %+v", events, wantEvents)
			}
		})
	}
}

// TestEmptyCollectionsReadBackEmpty: an agent stored without command, env or labels reads back
// with empty, non-nil ones, so no reader has to tell nil from empty.
func TestEmptyCollectionsReadBackEmpty(t *testing.T) {
	s := newStore(t)
	a := mustCreate(t, s, testAgent(1, func(a *runner.Agent) { a.Command, a.Env, a.Labels = nil, nil, nil }))
	got := mustAgent(t, s, a.ID)
	if got.Command == nil || len(got.Command) != 0 || got.Env == nil || len(got.Env) != 0 || got.Labels == nil || len(got.Labels) != 0 {
		t.Errorf("command %#v, env %#v, labels %#v; want empty and not nil", got.Command, got.Env, got.Labels)
	}
}

func TestCreateAgentErrors(t *testing.T) {
	s := newStore(t)
	a := mustCreate(t, s, testAgent(1))
	wantErr(t, s.CreateAgent(context.Background(), a), runner.ErrConflict)
	wantErr(t, s.CreateAgent(context.Background(), runner.Agent{Image: "x"}), runner.ErrInvalid)
}

func TestNotFound(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const id = "0000000000000000000000none"
	for name, call := range map[string]func() error{
		"Agent":        func() error { _, err := s.Agent(ctx, id); return err },
		"Transition":   func() error { _, err := s.Transition(ctx, id, runner.Change{To: runner.StateRunning}); return err },
		"SetContainer": func() error { return s.SetContainer(ctx, id, "c") },
		"SetExitCode":  func() error { return s.SetExitCode(ctx, id, 1) },
		"SetExpiresAt": func() error { _, err := s.SetExpiresAt(ctx, id, t0); return err },
		"MarkRemoved":  func() error { return s.MarkRemoved(ctx, id, t0) },
		"AppendEvent":  func() error { return s.AppendEvent(ctx, runner.Event{AgentID: id, Type: "container", Name: "x"}) },
		"Events":       func() error { _, err := s.Events(ctx, id); return err },
		"SaveLogs":     func() error { return s.SaveLogs(ctx, id, nil) },
		"Logs":         func() error { _, err := s.Logs(ctx, id); return err },
		"Result":       func() error { _, err := s.Result(ctx, id); return err },
		"SaveResult":   func() error { return s.SaveResult(ctx, runner.Result{AgentID: id}) },
	} {
		t.Run(name, func(t *testing.T) { wantErr(t, call(), runner.ErrNotFound) })
	}
}

func TestListAgents(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	// 25 agents: even ones run function "even" with label parity=even, every third is running, and
	// of the others those with i%5 == 1 have succeeded.
	var all []runner.Agent
	for i := range 25 {
		all = append(all, mustCreate(t, s, testAgent(i, func(a *runner.Agent) {
			a.Function, a.Labels = "odd", map[string]string{"parity": "odd", "team": "a"}
			if i%2 == 0 {
				a.Function, a.Labels = "even", map[string]string{"parity": "even", "team": "a"}
			}
			switch {
			case i%3 == 0:
				a.State = runner.StateRunning
			case i%5 == 1:
				a.State = runner.StateSucceeded
			}
		})))
	}
	newestFirst := func(keep func(i int, a runner.Agent) bool) []string {
		var ids []string
		for i, a := range slices.Backward(all) {
			if keep(i, a) {
				ids = append(ids, a.ID)
			}
		}
		return ids
	}
	for _, tt := range []struct {
		name   string
		filter runner.AgentFilter
		want   []string
	}{
		{"all", runner.AgentFilter{Limit: 10}, newestFirst(func(int, runner.Agent) bool { return true })},
		{"state", runner.AgentFilter{Limit: 3, States: []runner.State{runner.StateRunning}},
			newestFirst(func(i int, _ runner.Agent) bool { return i%3 == 0 })},
		{"any of two states", runner.AgentFilter{Limit: 4, States: []runner.State{runner.StateSucceeded, runner.StateRunning}},
			newestFirst(func(i int, _ runner.Agent) bool { return i%3 == 0 || i%5 == 1 })},
		{"function", runner.AgentFilter{Limit: 5, Function: "even"},
			newestFirst(func(i int, _ runner.Agent) bool { return i%2 == 0 })},
		{"labels", runner.AgentFilter{Limit: 4, Labels: map[string]string{"parity": "odd", "team": "a"}},
			newestFirst(func(i int, _ runner.Agent) bool { return i%2 == 1 })},
		{"state and label", runner.AgentFilter{Limit: 2, States: []runner.State{runner.StateRunning}, Labels: map[string]string{"parity": "even"}},
			newestFirst(func(i int, _ runner.Agent) bool { return i%6 == 0 })},
		{"label mismatch", runner.AgentFilter{Labels: map[string]string{"team": "b"}}, nil},
		{"label key absent", runner.AgentFilter{Labels: map[string]string{"nope": "a"}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			pages := 0
			f := tt.filter
			for {
				page, err := s.ListAgents(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if page.Agents == nil {
					t.Fatal("Agents is nil, want an empty slice")
				}
				for _, a := range page.Agents {
					got = append(got, a.ID)
				}
				if page.Next == "" {
					break
				}
				if len(page.Agents) != f.Limit {
					t.Fatalf("page %d has %d agents and a next cursor, want %d", pages, len(page.Agents), f.Limit)
				}
				f.Cursor = page.Next
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
			limit := max(tt.filter.Limit, 1)
			if wantPages := max(1, (len(tt.want)+limit-1)/limit); pages != wantPages {
				t.Errorf("pages = %d, want %d", pages, wantPages)
			}
		})
	}
}

func TestListAgentsPageSize(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	seed(t, s, 1005, func(int, *runner.Agent) {})
	for _, tt := range []struct {
		limit, want int
	}{{0, DefaultPageSize}, {-1, DefaultPageSize}, {7, 7}, {5000, MaxPageSize}} {
		page, err := s.ListAgents(ctx, runner.AgentFilter{Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Agents) != tt.want || page.Next == "" {
			t.Errorf("Limit %d: got %d agents (next %q), want %d and a cursor", tt.limit, len(page.Agents), page.Next, tt.want)
		}
	}
	// Exactly a full last page: no cursor, since no row follows.
	page, err := s.ListAgents(ctx, runner.AgentFilter{Limit: 1005})
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.ListAgents(ctx, runner.AgentFilter{Limit: 5, Cursor: encodeCursor(page.Agents[999].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(last.Agents) != 5 || last.Next != "" {
		t.Errorf("last page: %d agents, next %q; want 5 and no cursor", len(last.Agents), last.Next)
	}
}

func TestListAgentsLabelKeysAreData(t *testing.T) {
	s := newStore(t)
	// Keys that would be JSON path syntax must match only themselves.
	quoted := mustCreate(t, s, testAgent(1, func(a *runner.Agent) { a.Labels = map[string]string{`a"b`: "1"} }))
	dotted := mustCreate(t, s, testAgent(2, func(a *runner.Agent) { a.Labels = map[string]string{"a.b": "1"} }))
	mustCreate(t, s, testAgent(3, func(a *runner.Agent) { a.Labels = map[string]string{"a": `{"b":"1"}`} }))
	for _, tt := range []struct {
		key, want string
	}{{`a"b`, quoted.ID}, {"a.b", dotted.ID}} {
		page, err := s.ListAgents(context.Background(), runner.AgentFilter{Labels: map[string]string{tt.key: "1"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Agents) != 1 || page.Agents[0].ID != tt.want {
			t.Errorf("label %q: got %d agents, want only %s", tt.key, len(page.Agents), tt.want)
		}
	}
}

func TestListAgentsMalformedCursor(t *testing.T) {
	s := newStore(t)
	for _, cursor := range []string{"!!!", "a", "__8", "=="} {
		_, err := s.ListAgents(context.Background(), runner.AgentFilter{Cursor: cursor})
		wantErr(t, err, runner.ErrInvalid)
		var fe *runner.FieldError
		if !errors.As(err, &fe) || fe.Field != "cursor" {
			t.Errorf("cursor %q: err = %v, want a FieldError on cursor", cursor, err)
		}
	}
}

func TestLiveAgentsAndCountByState(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for i, st := range []runner.State{
		runner.StatePending, runner.StateRunning, runner.StateRunning, runner.StateTerminating,
		runner.StateSucceeded, runner.StateFailed, runner.StateExpired,
	} {
		mustCreate(t, s, testAgent(i, func(a *runner.Agent) { a.State = st }))
	}
	live, err := s.LiveAgents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []runner.State
	for _, a := range live {
		got = append(got, a.State)
	}
	want := []runner.State{runner.StatePending, runner.StateRunning, runner.StateRunning, runner.StateTerminating}
	if !slices.Equal(got, want) {
		t.Errorf("live states = %v, want %v", got, want)
	}

	counts, err := s.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := map[runner.State]int{
		runner.StatePending: 1, runner.StateRunning: 2, runner.StateTerminating: 1,
		runner.StateSucceeded: 1, runner.StateFailed: 1, runner.StateExpired: 1, runner.StateTerminated: 0, runner.StatePaused: 0,
	}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("counts = %v, want %v", counts, wantCounts)
	}
}
