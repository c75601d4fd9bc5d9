package sqlite

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func intPtr(n int) *int { return &n }

func TestTransition(t *testing.T) {
	at := t0.Add(5 * time.Second)
	earlier := t0.Add(time.Second)
	for _, tt := range []struct {
		name     string
		start    func(*runner.Agent)
		change   runner.Change
		wantErr  error
		wantEdit func(*runner.Agent) // applied to the stored agent to get the expected one
	}{
		{
			name:   "pending to running sets started_at",
			change: runner.Change{To: runner.StateRunning, At: at, Detail: "started"},
			wantEdit: func(a *runner.Agent) {
				a.State, a.StartedAt = runner.StateRunning, at
			},
		},
		{
			name:     "running again is not a transition: a conflict that keeps started_at",
			start:    func(a *runner.Agent) { a.State, a.StartedAt = runner.StateRunning, earlier },
			change:   runner.Change{To: runner.StateRunning, At: at},
			wantErr:  runner.ErrConflict,
			wantEdit: func(*runner.Agent) {},
		},
		{
			name:  "running to succeeded sets finished_at, reason and exit code",
			start: func(a *runner.Agent) { a.State, a.StartedAt = runner.StateRunning, earlier },
			change: runner.Change{
				To:     runner.StateSucceeded,
				Reason: runner.ReasonExit, ExitCode: intPtr(0), At: at,
			},
			wantEdit: func(a *runner.Agent) {
				a.State, a.Reason, a.ExitCode, a.FinishedAt = runner.StateSucceeded, runner.ReasonExit, intPtr(0), at
			},
		},
		{
			name:  "a message is kept with the reason",
			start: func(a *runner.Agent) { a.State = runner.StateRunning },
			change: runner.Change{
				To:     runner.StateFailed,
				Reason: runner.ReasonExit, Message: "exited with code 3", ExitCode: intPtr(3), At: at,
			},
			wantEdit: func(a *runner.Agent) {
				a.State, a.Reason, a.Message, a.ExitCode, a.FinishedAt = runner.StateFailed, runner.ReasonExit, "exited with code 3", intPtr(3), at
			},
		},
		{
			name: "an empty message keeps the old one",
			start: func(a *runner.Agent) {
				a.State, a.Reason, a.Message = runner.StateTerminating, runner.ReasonDeleted, "deleted by request"
			},
			change: runner.Change{To: runner.StateTerminated, At: at},
			wantEdit: func(a *runner.Agent) {
				a.State, a.FinishedAt = runner.StateTerminated, at
			},
		},
		{
			name:   "terminating is live: no finished_at",
			start:  func(a *runner.Agent) { a.State = runner.StateRunning },
			change: runner.Change{To: runner.StateTerminating, Reason: runner.ReasonDeleted, At: at},
			wantEdit: func(a *runner.Agent) {
				a.State, a.Reason = runner.StateTerminating, runner.ReasonDeleted
			},
		},
		{
			name: "empty reason and nil exit code keep the old ones",
			start: func(a *runner.Agent) {
				a.State, a.Reason, a.ExitCode = runner.StateTerminating, runner.ReasonDeleted, intPtr(137)
			},
			change: runner.Change{To: runner.StateTerminated, At: at},
			wantEdit: func(a *runner.Agent) {
				a.State, a.FinishedAt = runner.StateTerminated, at
			},
		},
		{
			name:     "a final state is never left",
			start:    func(a *runner.Agent) { a.State = runner.StateFailed },
			change:   runner.Change{To: runner.StateExpired, At: at},
			wantErr:  runner.ErrConflict,
			wantEdit: func(*runner.Agent) {},
		},
		{
			name:    "no state may move to pending",
			change:  runner.Change{To: runner.StatePending, At: at},
			wantErr: runner.ErrInvalid,
		},
		{
			name:    "unknown target state is invalid",
			change:  runner.Change{To: "sleeping", At: at},
			wantErr: runner.ErrInvalid,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			a := mustCreate(t, s, testAgent(1, func(a *runner.Agent) {
				if tt.start != nil {
					tt.start(a)
				}
			}))
			before := mustAgent(t, s, a.ID)

			got, err := s.Transition(ctx, a.ID, tt.change)
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr)
			} else if err != nil {
				t.Fatalf("Transition: %v", err)
			}
			if tt.wantEdit == nil {
				return
			}
			want := before
			tt.wantEdit(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("returned %+v\nwant     %+v", got, want)
			}
			if stored := mustAgent(t, s, a.ID); !reflect.DeepEqual(stored, want) {
				t.Errorf("stored %+v\nwant   %+v", stored, want)
			}
			events, err := s.Events(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantEvents := 2
			if tt.wantErr != nil {
				wantEvents = 1 // a conflict writes nothing
			}
			if len(events) != wantEvents {
				t.Fatalf("events = %+v, want %d", events, wantEvents)
			}
			if tt.wantErr == nil {
				last := events[len(events)-1]
				wantEvent := runner.Event{ID: last.ID, AgentID: a.ID, Time: at, Type: runner.EventState,
					Name: string(tt.change.To), Detail: tt.change.Detail}
				if last != wantEvent {
					t.Errorf("event = %+v, want %+v", last, wantEvent)
				}
			}
		})
	}
}

// TestTransitionFollowsTheTable: the store's compare-and-set moves an agent
// exactly along runner's transition table, from every state to every state.
func TestTransitionFollowsTheTable(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	i := 0
	for _, from := range runner.States {
		for _, to := range runner.States {
			i++
			a := mustCreate(t, s, testAgent(i, func(a *runner.Agent) { a.State = from }))
			got, err := s.Transition(ctx, a.ID, runner.Change{To: to, At: t0})
			legal := runner.CanTransition(from, to)
			switch {
			case legal && (err != nil || got.State != to):
				t.Errorf("%s -> %s is legal: got %s, %v", from, to, got.State, err)
			case !legal && to == runner.StatePending && !errors.Is(err, runner.ErrInvalid):
				t.Errorf("%s -> %s: err = %v, want ErrInvalid (nothing moves to pending)", from, to, err)
			case !legal && to != runner.StatePending && (!errors.Is(err, runner.ErrConflict) || got.State != from):
				t.Errorf("%s -> %s is illegal: got %s, %v; want a conflict reporting %s", from, to, got.State, err, from)
			}
			if stored := mustAgent(t, s, a.ID); !legal && stored.State != from {
				t.Errorf("%s -> %s is illegal, yet the agent is now %s", from, to, stored.State)
			}
		}
	}
}

func TestTransitionIsCompareAndSet(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(1))
	const callers = 16
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		wins      int
		conflicts int
	)
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			got, err := s.Transition(ctx, a.ID, runner.Change{
				To: runner.StateRunning,
				At: t0.Add(time.Duration(i+1) * time.Second),
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, runner.ErrConflict) && got.State == runner.StateRunning:
				conflicts++ // the loser sees the winner's agent
			default:
				t.Errorf("caller %d: agent %+v, err %v", i, got, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins != 1 || conflicts != callers-1 {
		t.Errorf("wins = %d, conflicts = %d; want 1 and %d", wins, conflicts, callers-1)
	}
	events, err := s.Events(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Errorf("%d events, want created + one transition", len(events))
	}
}

func TestSetContainerAndMarkRemoved(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(1))
	if err := s.SetContainer(ctx, a.ID, "c0ffee"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRemoved(ctx, a.ID, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// A second removal keeps the first time: the container went away once.
	if err := s.MarkRemoved(ctx, a.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := mustAgent(t, s, a.ID)
	if got.ContainerID != "c0ffee" || !got.RemovedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("container %q removed %v; want c0ffee at %v", got.ContainerID, got.RemovedAt, t0.Add(time.Second))
	}
	wantErr(t, s.MarkRemoved(ctx, a.ID, time.Time{}), runner.ErrInvalid)
}

func TestSetExitCode(t *testing.T) {
	// Terminating matters most: a container that exits while podrun deletes it
	// loses the Transition race, and its code is kept through SetExitCode.
	for _, state := range []runner.State{runner.StateTerminating, runner.StateExpired, runner.StateFailed} {
		t.Run(string(state), func(t *testing.T) {
			s := newStore(t)
			a := mustCreate(t, s, testAgent(1, func(a *runner.Agent) { a.State = state }))
			if err := s.SetExitCode(context.Background(), a.ID, 137); err != nil {
				t.Fatal(err)
			}
			got := mustAgent(t, s, a.ID)
			if got.ExitCode == nil || *got.ExitCode != 137 || got.State != state {
				t.Errorf("exit code %v, state %s; want 137 and %s", got.ExitCode, got.State, state)
			}
		})
	}
}

func TestSetExpiresAt(t *testing.T) {
	later := t0.Add(time.Hour)
	for _, tt := range []struct {
		state   runner.State
		wantErr error
	}{
		{runner.StatePending, nil},
		{runner.StateRunning, nil},
		{runner.StateTerminating, nil},
		{runner.StateSucceeded, runner.ErrConflict},
		{runner.StateExpired, runner.ErrConflict},
	} {
		t.Run(string(tt.state), func(t *testing.T) {
			s := newStore(t)
			a := mustCreate(t, s, testAgent(1, func(a *runner.Agent) { a.State = tt.state }))
			got, err := s.SetExpiresAt(context.Background(), a.ID, later)
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr)
				if got.ID != a.ID || !got.ExpiresAt.Equal(a.ExpiresAt) {
					t.Errorf("conflict returned %+v, want the unchanged agent", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.ExpiresAt.Equal(later) || !mustAgent(t, s, a.ID).ExpiresAt.Equal(later) {
				t.Errorf("expires_at = %v, want %v", got.ExpiresAt, later)
			}
		})
	}
}
