package sqlite

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func mustSaveResult(t *testing.T, s *Store, r runner.Result) {
	t.Helper()
	if err := s.SaveResult(context.Background(), r); err != nil {
		t.Fatalf("SaveResult %s: %v", r.AgentID, err)
	}
}

func TestResultRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(1))
	for _, tt := range []struct {
		name string
		in   runner.Result
		want func(runner.Result) runner.Result
	}{
		{
			name: "every field, binary output",
			in: runner.Result{
				AgentID: a.ID, ExitCode: -1, Output: []byte("a\x00b\xff\xfe\x00"), Truncated: true,
				CreatedAt: t0.In(time.FixedZone("X", 3600)), CallbackURL: "https://cb.example/done?id=1",
				CallbackStatus: runner.CallbackPending, CallbackAttempts: 3,
			},
			want: func(r runner.Result) runner.Result {
				r.CreatedAt = r.CreatedAt.UTC()
				return r
			},
		},
		{
			// The second save replaces the first entirely: nothing of it may linger.
			name: "replace, without output or callback",
			in:   runner.Result{AgentID: a.ID, CreatedAt: t0.Add(time.Second)},
			want: func(r runner.Result) runner.Result {
				r.Output = []byte{}
				return r
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustSaveResult(t, s, tt.in)
			got, err := s.Result(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want(tt.in); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestResultUnknownAgent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const id = "0000000000000000000000none"
	wantErr(t, s.SaveResult(ctx, runner.Result{AgentID: id, Output: []byte("x")}), runner.ErrNotFound)
	_, err := s.Result(ctx, id)
	wantErr(t, err, runner.ErrNotFound)
	// An agent without a saved result is not found either.
	a := mustCreate(t, s, testAgent(1))
	_, err = s.Result(ctx, a.ID)
	wantErr(t, err, runner.ErrNotFound)
}

func TestPendingCallbacks(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	fixtures := []struct {
		status  string
		created time.Duration // after t0
	}{
		{runner.CallbackPending, 3 * time.Second},   // 0: yes, newer
		{runner.CallbackDelivered, 1 * time.Second}, // 1: done
		{runner.CallbackFailed, 1 * time.Second},    // 2: given up
		{"", 1 * time.Second},                       // 3: no callback asked for
		{runner.CallbackPending, 2 * time.Second},   // 4: yes, older
	}
	var results []runner.Result
	for i, f := range fixtures {
		a := mustCreate(t, s, testAgent(i))
		r := runner.Result{AgentID: a.ID, Output: []byte{byte(i), 0}, CreatedAt: t0.Add(f.created), CallbackStatus: f.status}
		if f.status != "" {
			r.CallbackURL = "https://cb.example/" + a.ID
		}
		mustSaveResult(t, s, r)
		results = append(results, r)
	}
	pending := func() []runner.Result {
		t.Helper()
		got, err := s.PendingCallbacks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			t.Fatal("PendingCallbacks is nil, want an empty slice")
		}
		return got
	}
	if got, want := pending(), []runner.Result{results[4], results[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("PendingCallbacks = %+v\nwant %+v", got, want)
	}
	// Delivery is recorded by saving the result again; it then leaves the backlog.
	delivered := results[4]
	delivered.CallbackStatus, delivered.CallbackAttempts = runner.CallbackDelivered, 1
	mustSaveResult(t, s, delivered)
	var got []string
	for _, r := range pending() {
		got = append(got, r.AgentID)
	}
	if want := []string{results[0].AgentID}; !slices.Equal(got, want) {
		t.Errorf("after delivery PendingCallbacks = %v, want %v", got, want)
	}
}
