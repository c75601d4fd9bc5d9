package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

// lockedBuffer is written by the command and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func sseEvent(id int) string {
	return fmt.Sprintf("id: %d\ndata: {\"id\":%d,\"agent_id\":\"a\",\"time\":\"2025-01-02T03:04:05Z\",\"type\":\"state\",\"name\":\"s%d\"}\n\n", id, id, id)
}

func TestFollowResumesAfterTheLastEventPrinted(t *testing.T) {
	var mu sync.Mutex
	var lastIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastIDs = append(lastIDs, r.Header.Get(api.HeaderLastEventID))
		n := len(lastIDs)
		mu.Unlock()
		w.Header().Set("Content-Type", api.MediaEventStream)
		if n == 1 {
			// Two events, then the server ends the stream, as it does for a slow client.
			_, _ = io.WriteString(w, sseEvent(1)+sseEvent(2)+"event: end\ndata: {\"reason\":\"slow_client\",\"message\":\"m\",\"last_event_id\":2}\n\n")
			return
		}
		_, _ = io.WriteString(w, sseEvent(3))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	cl, err := client.New(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	a := &app{env: Env{Stdout: out, Stderr: errOut}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.followEvents(ctx, cl, api.EventOptions{Types: []string{"state"}}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "\ts3\t") {
		if time.Now().After(deadline) {
			t.Fatalf("event 3 never printed; stdout %q, stderr %q", out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("an interrupted follow returned %v", err)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		ids = append(ids, strings.Split(line, "\t")[0])
	}
	if fmt.Sprint(ids) != "[1 2 3]" || fmt.Sprint(lastIDs) != "[ 2]" {
		t.Fatalf("printed %v with Last-Event-IDs %q; want 1 2 3, resuming after 2", ids, lastIDs)
	}
	if !strings.Contains(errOut.String(), "slow_client") || !strings.Contains(errOut.String(), "resuming after event 2") {
		t.Fatalf("stderr = %q", errOut)
	}
}

func TestParseEventFilters(t *testing.T) {
	got, err := parseEventFilters([]string{"type=alert", "type=invocation", "function=f", "agent=x", "label=a=b"})
	if err != nil || fmt.Sprint(got.Types) != "[alert invocation]" || got.Function != "f" || got.Agent != "x" || got.Labels["a"] != "b" {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range []string{"type", "label=x", "state=running"} {
		if _, err := parseEventFilters([]string{bad}); err == nil {
			t.Errorf("filter %q was accepted", bad)
		}
	}
}
