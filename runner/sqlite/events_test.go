package sqlite

import (
	"bytes"
	"context"
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

func TestLogs(t *testing.T) {
	for _, tt := range []struct {
		name           string
		saves          [][2][]byte
		stdout, stderr []byte
	}{
		{"one save", [][2][]byte{{[]byte("out\x00"), []byte("err")}}, []byte("out\x00"), []byte("err")},
		{"later save replaces", [][2][]byte{{[]byte("a"), []byte("b")}, {[]byte("c"), nil}}, []byte("c"), []byte{}},
		{"nil streams", [][2][]byte{{nil, nil}}, []byte{}, []byte{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			a := mustCreate(t, s, testAgent(1))
			_, _, err := s.Logs(ctx, a.ID)
			wantErr(t, err, runner.ErrNotFound) // nothing saved yet
			for _, save := range tt.saves {
				if err := s.SaveLogs(ctx, a.ID, save[0], save[1]); err != nil {
					t.Fatal(err)
				}
			}
			stdout, stderr, err := s.Logs(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(stdout, tt.stdout) || !bytes.Equal(stderr, tt.stderr) || stdout == nil || stderr == nil {
				t.Errorf("Logs = %q, %q; want %q, %q (non-nil)", stdout, stderr, tt.stdout, tt.stderr)
			}
		})
	}
}
