package runner_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// follower reads the event stream the way GET /v1/events does: it reads
// only when WatchEvents signals, so an event written without a signal stays unseen.
func follow(t *testing.T, r *runner.Runner) (seen func() []runner.Event, stop func()) {
	t.Helper()
	wake, unwatch := r.WatchEvents()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan []runner.Event, 1)
	got <- nil
	done := make(chan struct{})
	go func() {
		defer close(done)
		var after int64
		for {
			page, err := r.ListEvents(ctx, runner.EventFilter{After: after})
			if err != nil {
				return
			}
			events := <-got
			events = append(events, page.Events...)
			got <- events
			if n := len(page.Events); n > 0 {
				after = page.Events[n-1].ID
			}
			if page.More {
				continue
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	seen = func() []runner.Event {
		events := <-got
		got <- events
		return events
	}
	return seen, func() { cancel(); unwatch(); <-done }
}

func TestEveryJournalWriteWakesEventFollowers(t *testing.T) {
	h := newHarness(t, nil)
	seen, stop := follow(t, h.r)
	defer stop()
	a := h.create(t, runner.AgentRequest{Command: []string{"echo", "hi"}})
	h.awaitState(t, a.ID, runner.StateSucceeded)
	b := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	h.awaitState(t, b.ID, runner.StateRunning)
	if _, err := h.r.DeleteAgent(context.Background(), b.ID); err != nil {
		t.Fatal(err)
	}
	h.awaitState(t, b.ID, runner.StateTerminated)

	histories := func() []string {
		var want []string
		for _, id := range []string{a.ID, b.ID} {
			events, err := h.store.Events(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				want = append(want, fmt.Sprint(e.ID, e.Type, e.Name))
			}
		}
		return want
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		want := histories()
		var got []string
		for _, e := range seen() {
			got = append(got, fmt.Sprint(e.ID, e.Type, e.Name))
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the follower saw\n%v\nthe histories hold\n%v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUsageAndNodeOfTheRunner(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create(t, runner.AgentRequest{Command: []string{"echo", "hi"}, Labels: map[string]string{"team": "x"}})
	h.awaitState(t, a.ID, runner.StateSucceeded)
	half := 0.5
	b := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, Limits: runner.LimitsRequest{CPUs: &half}})
	h.awaitState(t, b.ID, runner.StateRunning)

	h.clock.Advance(time.Second) // the window ends now, after both were created
	u, err := h.r.Usage(context.Background(), runner.UsageQuery{GroupBy: "label:team"})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Groups) != 2 || u.Groups[0].Key != "" || u.Groups[1].Key != "x" || u.Groups[1].States[runner.StateSucceeded] != 1 ||
		u.Groups[1].Durations.Count != 1 || u.Groups[0].States[runner.StateRunning] != 1 || !u.Until.After(u.Since) {
		t.Fatalf("usage by team = %+v", u)
	}
	for _, q := range []runner.UsageQuery{{GroupBy: "label:"}, {GroupBy: "image"}, {Since: time.Now(), Until: time.Now().Add(-time.Hour)}} {
		if _, err := h.r.Usage(context.Background(), q); !errors.Is(err, runner.ErrInvalid) {
			t.Errorf("Usage(%+v) = %v, want ErrInvalid", q, err)
		}
	}

	n, err := h.r.Node(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n.Instance != "test-instance" || n.InUse.LiveAgents != 1 || n.InUse.States[runner.StateRunning] != 1 ||
		n.InUse.ReservedCPUs != 0.5 || n.InUse.ReservedMemory != 256<<20 || n.Capacity.MaxAgentLimits.PIDs != 1024 {
		t.Fatalf("node = %+v", n)
	}
	if _, err := h.r.DeleteAgent(context.Background(), b.ID); err != nil {
		t.Fatal(err)
	}
	h.awaitRemoved(t, b.ID)
}
