package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/podrun/podrun/runner"
)

// TestEventsSeesEveryAcknowledgedEvent: an event AppendEvent returned for is in the next Events
// of its agent, even when another write transaction took it from the held batch and has not
// committed yet (writes of other agents go on meanwhile).
func TestEventsSeesEveryAcknowledgedEvent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(0))
	before, err := s.Events(ctx, a.ID) // CreateAgent records its first state
	if err != nil {
		t.Fatal(err)
	}
	base := len(before)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // other writes, each taking the held events into its transaction
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.CreateAgent(ctx, testAgent(i)); err != nil {
				t.Errorf("CreateAgent: %v", err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 300; i++ {
		name := fmt.Sprintf("phase-%d", i)
		if err := s.AppendEvent(ctx, runner.Event{AgentID: a.ID, Time: a.CreatedAt, Type: runner.EventContainer, Name: name}); err != nil {
			t.Fatal(err)
		}
		evs, err := s.Events(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != base+i+1 || evs[len(evs)-1].Name != name {
			t.Fatalf("after AppendEvent %d, Events holds %d events (last %+v), want %d ending with %s", i, len(evs), evs[len(evs)-1:], base+i+1, name)
		}
	}
}
