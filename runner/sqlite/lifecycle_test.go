package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// TestIdleDeadlinesAndWebhooksSurviveAReopen: the idle deadline a start
// sets, the "expiring" warning and the webhook outbox are in the database,
// so a store opened again (after a kill -9 of podrun) has the same next
// deadline and the same events to send.
func TestIdleDeadlinesAndWebhooksSurviveAReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "podrun.db")
	s := openTest(t, path)
	a := mustCreate(t, s, testAgent(1, func(a *runner.Agent) {
		a.ExpiresAt, a.IdleTimeout = t0.Add(time.Hour), 10*time.Second
		a.WebhookURL, a.WarnAt = "http://127.0.0.1:9/", t0.Add(time.Hour-30*time.Second)
	}))
	started := t0.Add(time.Second)
	if _, err := s.Transition(ctx, a.ID, runner.Change{To: runner.StateRunning, At: started}); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, a.ID, started.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openTest(t, path)
	idleAt := started.Add(15 * time.Second)
	if got := mustAgent(t, s, a.ID); !got.IdleExpiresAt.Equal(idleAt) || got.IdleTimeout != 10*time.Second {
		t.Fatalf("after reopen: idle deadline %v (timeout %v), want %v", got.IdleExpiresAt, got.IdleTimeout, idleAt)
	}
	if next, ok, err := s.NextDeadline(ctx); err != nil || !ok || !next.Equal(idleAt) {
		t.Fatalf("NextDeadline = %v %v %v, want the idle deadline %v", next, ok, err, idleAt)
	}
	if due, err := s.DueIdle(ctx, idleAt, 10); err != nil || len(due) != 1 || due[0].ID != a.ID {
		t.Fatalf("DueIdle at the deadline = %d agents, %v", len(due), err)
	}
	// An idle expiry loses to activity that moved the deadline.
	if err := s.Touch(ctx, a.ID, idleAt); err != nil {
		t.Fatal(err)
	}
	_, err := s.Transition(ctx, a.ID, runner.Change{To: runner.StateExpired, Reason: runner.ReasonIdle, IdleDue: idleAt})
	if !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("idle expiry after a touch = %v, want ErrConflict", err)
	}
	// Paused: no idle deadline, the TTL's warning next.
	if _, err := s.Transition(ctx, a.ID, runner.Change{To: runner.StatePaused}); err != nil {
		t.Fatal(err)
	}
	if next, _, _ := s.NextDeadline(ctx); !next.Equal(a.WarnAt) {
		t.Fatalf("NextDeadline of a paused agent = %v, want its warning %v", next, a.WarnAt)
	}
	// A new deadline moves the warning with it.
	moved, err := s.SetExpiresAt(ctx, a.ID, t0.Add(2*time.Hour))
	if err != nil || !moved.WarnAt.Equal(t0.Add(2*time.Hour-30*time.Second)) {
		t.Fatalf("SetExpiresAt: warn at %v, %v", moved.WarnAt, err)
	}
	if sent, err := s.Warn(ctx, a.ID, t0.Add(time.Hour)); err != nil || !sent {
		t.Fatalf("Warn = %v, %v", sent, err)
	}
	if sent, _ := s.Warn(ctx, a.ID, t0.Add(time.Hour)); sent {
		t.Fatal("a second Warn sent again")
	}
	evs, err := s.PendingWebhooks(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Type+":"+string(e.State))
	}
	want := []string{"state:pending", "state:running", "state:paused", "expiring:paused"}
	if len(got) != len(want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("outbox %v, want %v", got, want)
		}
	}
	evs[0].Status, evs[0].Attempts = runner.CallbackDelivered, 1
	if err := s.SaveWebhook(ctx, evs[0]); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.WebhookBacklog(ctx); err != nil || len(ids) != 1 || ids[0] != a.ID {
		t.Fatalf("backlog %v, %v", ids, err)
	}
	if left, _ := s.PendingWebhooks(ctx, a.ID); len(left) != 3 {
		t.Fatalf("%d pending after one delivery, want 3", len(left))
	}
}
