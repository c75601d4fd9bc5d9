package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// memResults is a resultStore in memory.
type memResults struct {
	mu      sync.Mutex
	results map[string]Result
}

func (m *memResults) SaveResult(_ context.Context, r Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.results[r.AgentID] = r
	return nil
}

func (m *memResults) PendingCallbacks(context.Context) ([]Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Result
	for _, r := range m.results {
		if r.CallbackStatus == CallbackPending {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memResults) Agent(_ context.Context, id string) (Agent, error) { return Agent{ID: id}, nil }

func (m *memResults) WebhookBacklog(context.Context) ([]string, error) { return nil, nil }

func (m *memResults) PendingWebhooks(context.Context, string) ([]WebhookEvent, error) {
	return nil, nil
}

func (m *memResults) SaveWebhook(context.Context, WebhookEvent) error { return nil }

func (m *memResults) get(id string) Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.results[id]
}

// flakyNotifier fails every delivery until ok is set.
type flakyNotifier struct {
	mu sync.Mutex
	ok bool
}

func (n *flakyNotifier) Notify(context.Context, string, Agent, Result) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.ok {
		return errors.New("503")
	}
	return nil
}

// TestDeliveriesResumeWhereTheyStopped: a deliverer closed between attempts
// leaves the result pending with its attempts counted; the next one's Open
// carries on from there, within the same attempt budget.
func TestDeliveriesResumeWhereTheyStopped(t *testing.T) {
	store := &memResults{results: map[string]Result{}}
	res := Result{AgentID: "a1", CallbackURL: "http://127.0.0.1:1/", CallbackStatus: CallbackPending}
	_ = store.SaveResult(t.Context(), res)
	n := &flakyNotifier{}
	log := slog.New(slog.DiscardHandler)

	first := newDeliverer(n, nil, store, 3, time.Hour, log) // one attempt, then a long backoff
	if err := first.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); store.get("a1").CallbackAttempts == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no attempt was made")
		}
	}
	first.Close() // during the backoff
	first.Deliver(Agent{ID: "a1"}, store.get("a1"))
	if got := store.get("a1"); got.CallbackStatus != CallbackPending || got.CallbackAttempts != 1 {
		t.Fatalf("after Close: %s after %d attempts, want pending after 1", got.CallbackStatus, got.CallbackAttempts)
	}

	n.mu.Lock()
	n.ok = true
	n.mu.Unlock()
	second := newDeliverer(n, nil, store, 3, time.Millisecond, log)
	if err := second.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for deadline := time.Now().Add(10 * time.Second); store.get("a1").CallbackStatus == CallbackPending; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the resumed delivery never finished")
		}
	}
	if got := store.get("a1"); got.CallbackStatus != CallbackDelivered || got.CallbackAttempts != 2 {
		t.Errorf("resumed: %s after %d attempts, want delivered after 2", got.CallbackStatus, got.CallbackAttempts)
	}
}
