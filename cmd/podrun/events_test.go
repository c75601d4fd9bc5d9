package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

// streamReader reads an event stream in the background, so a test can wait for an event.
type streamReader struct {
	s      *client.EventStream
	events chan api.Event
	err    chan error
}

func readStream(t *testing.T, s *client.EventStream) *streamReader {
	r := &streamReader{s: s, events: make(chan api.Event, 1024), err: make(chan error, 1)}
	go func() {
		for {
			e, err := s.Next()
			if err != nil {
				r.err <- err
				close(r.events)
				return
			}
			r.events <- e
		}
	}()
	return r
}

// until collects events until one matches, failing after timeout.
func (r *streamReader) until(t *testing.T, timeout time.Duration, match func(api.Event) bool) []api.Event {
	t.Helper()
	var got []api.Event
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-r.events:
			if !ok {
				t.Fatalf("stream ended (%v) after %d events before the awaited one", <-r.err, len(got))
			}
			got = append(got, e)
			if match(e) {
				return got
			}
		case <-deadline:
			t.Fatalf("no awaited event within %s; got %d events", timeout, len(got))
		}
	}
}

func finalStateOf(id string) func(api.Event) bool {
	return func(e api.Event) bool {
		return e.AgentID == id && e.Type == api.EventState && !api.State(e.Name).Live()
	}
}

func eventKeys(events []api.Event) []string {
	keys := make([]string, len(events))
	for i, e := range events {
		keys[i] = fmt.Sprintf("%d/%s/%s/%s", e.ID, e.AgentID, e.Type, e.Name)
	}
	return keys
}

// allEvents pages through GET /v1/events from the start.
func allEvents(t *testing.T, c *client.Client) []api.Event {
	t.Helper()
	var all []api.Event
	opts := api.EventOptions{Limit: 7} // small pages: the cursor is exercised too
	for {
		page, err := c.ListEvents(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Events...)
		if page.NextCursor == "" {
			return all
		}
		opts.After = page.Events[len(page.Events)-1].ID
	}
}

// TestEventStreamResumesAfterKill9 follows the host-wide stream, kills podrun
// with SIGKILL mid-stream, and resumes after the last event received: what the
// two streams delivered together is exactly the events stored, each once, in order.
func TestEventStreamResumesAfterKill9(t *testing.T) {
	dataDir := t.TempDir()
	p := startProcess(t, dataDir)
	c := p.client(t)
	s, err := c.api.FollowEvents(context.Background(), api.EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := readStream(t, s)
	long := c.create(t, api.AgentRequest{Command: []string{"sleep", "600"}, TTL: "1h"})
	done := c.create(t, api.AgentRequest{Command: []string{"echo", "before"}})
	// Both, in whichever order they come: done's end and long's start.
	doneEnded, longRunning := false, false
	got := first.until(t, 30*time.Second, func(e api.Event) bool {
		doneEnded = doneEnded || finalStateOf(done.ID)(e)
		longRunning = longRunning || e.AgentID == long.ID && e.Type == api.EventState && e.Name == string(api.StateRunning)
		return doneEnded && longRunning
	})
	// More events while the stream is read, some of them cut by the kill.
	quick := c.create(t, api.AgentRequest{Command: []string{"sh", "-c", "sleep 1; echo while down"}})
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	for e := range first.events {
		got = append(got, e)
	}
	if err := <-first.err; !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("the stream of the killed podrun ended with %v, want an unexpected EOF", err)
	}
	last := got[len(got)-1].ID

	p = startProcess(t, dataDir)
	defer func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}()
	c = p.client(t)
	s, err = c.api.FollowEvents(context.Background(), api.EventOptions{After: last})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	second := readStream(t, s)
	after := c.create(t, api.AgentRequest{Command: []string{"echo", "after"}})
	got = append(got, second.until(t, 30*time.Second, finalStateOf(after.ID))...)
	c.await(t, quick.ID, 30*time.Second, api.StateSucceeded)
	c.delete(t, long.ID)
	got = append(got, second.until(t, 30*time.Second, finalStateOf(long.ID))...)
	if !slices.ContainsFunc(got, finalStateOf(quick.ID)) {
		t.Fatal("the agent that ended while podrun was down has no final state event in the streams")
	}

	// Everything stored up to the last event received, once each and in order.
	stored := allEvents(t, c.api)
	var upTo []api.Event
	for _, e := range stored {
		if e.ID <= got[len(got)-1].ID {
			upTo = append(upTo, e)
		}
	}
	if fmt.Sprint(eventKeys(got)) != fmt.Sprint(eventKeys(upTo)) {
		t.Fatalf("the streams delivered\n%v\nthe store holds\n%v", eventKeys(got), eventKeys(upTo))
	}
	for _, a := range []api.Agent{done, quick, after, long} {
		c.delete(t, a.ID)
		containerGone(t, c.get(t, a.ID).ContainerID, 30*time.Second)
	}
}
