package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	id, event, data string
}

// readSSE parses events from r until it ends or n events were read (n < 0: all).
func readSSE(t testing.TB, r io.Reader, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	for n < 0 || len(out) < n {
		if !sc.Scan() {
			break
		}
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	return out
}

// ids are the ids of events, checking each event's data carries the same id.
func sseIDs(t testing.TB, events []sseEvent) []int64 {
	t.Helper()
	var ids []int64
	for _, e := range events {
		if e.event != "" {
			continue
		}
		var ev api.Event
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			t.Fatalf("event data %q: %v", e.data, err)
		}
		if strconv.FormatInt(ev.ID, 10) != e.id {
			t.Fatalf("SSE id %q carries event %d", e.id, ev.ID)
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

func seq(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func testEvents(n int, agent string) []runner.Event {
	events := make([]runner.Event, n)
	for i := range events {
		events[i] = runner.Event{AgentID: agent, Type: runner.EventContainer, Name: fmt.Sprintf("phase-%d", i)}
	}
	return events
}

func TestEventsListFiltersAndPagesByCursor(t *testing.T) {
	h := newHarness(t, Options{})
	a, b := h.fake.add(), h.fake.add()
	h.fake.publish(
		runner.Event{AgentID: a, Type: runner.EventState, Name: "pending"},
		runner.Event{AgentID: b, Type: runner.EventState, Name: "pending"},
		runner.Event{AgentID: a, Type: "alert", Name: "memory", Detail: "95% of 64Mi"},
		runner.Event{AgentID: b, Type: runner.EventContainer, Name: "created"},
		runner.Event{AgentID: a, Type: runner.EventState, Name: "running"},
	)
	page := func(target string) api.EventPage {
		t.Helper()
		rec := h.do(t, http.MethodGet, target, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", target, rec.Code, rec.Body)
		}
		var p api.EventPage
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var got []int64
	cursor := ""
	for i := 0; ; i++ {
		p := page("/v1/events?limit=2" + cursor)
		for _, e := range p.Events {
			got = append(got, e.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = "&cursor=" + p.NextCursor
		if i > 5 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(seq(1, 5)) {
		t.Fatalf("pages read events %v, want 1 to 5 once each", got)
	}
	if p := page("/v1/events?type=alert&agent=" + a); len(p.Events) != 1 || p.Events[0].Name != "memory" || p.Events[0].Detail != "95% of 64Mi" {
		t.Fatalf("alerts of %s = %+v", a, p.Events)
	}
	if p := page("/v1/events?tail=2"); len(p.Events) != 2 || p.Events[0].ID != 4 || p.Events[1].ID != 5 || p.NextCursor != "" {
		t.Fatalf("tail of 2: %+v", p)
	}
	if p := page("/v1/events?cursor=4"); len(p.Events) != 1 || p.Events[0].ID != 5 || p.NextCursor != "" {
		t.Fatalf("after cursor 4: %+v", p)
	}
	for _, tc := range []struct{ target, field string }{
		{"/v1/events?cursor=x", "cursor"},
		{"/v1/events?cursor=-1", "cursor"},
		{"/v1/events?limit=0", "limit"},
		{"/v1/events?limit=1001", "limit"},
		{"/v1/events?tail=0", "tail"},
		{"/v1/events?tail=2&limit=2", "tail"},
		{"/v1/events?label=nokey", "label"},
		{"/v1/events?agent=not-an-id", "agent"},
		{"/v1/events?function=Bad_Name", "function"},
	} {
		rec := h.do(t, http.MethodGet, tc.target, "")
		if e := apiErrorOf(t, rec); rec.Code != http.StatusBadRequest || e.Field != tc.field {
			t.Errorf("GET %s = %d field %q, want 400 naming %s", tc.target, rec.Code, e.Field, tc.field)
		}
	}
	rec := h.do(t, http.MethodGet, "/v1/events", "", "Accept", api.MediaEventStream, api.HeaderLastEventID, "soon")
	if e := apiErrorOf(t, rec); rec.Code != http.StatusBadRequest || e.Field != api.HeaderLastEventID {
		t.Errorf("stream with a bad Last-Event-ID = %d %+v", rec.Code, e)
	}
}

func TestEventStreamFollowsAndResumesAfterLastEventID(t *testing.T) {
	fake := newFake()
	srv := httptest.NewServer(newServer(t, fake, Options{}).Handler())
	defer srv.Close()
	agent := fake.add()
	fake.publish(testEvents(3, agent)...)

	open := func(lastID string) (*http.Response, *bufio.Reader) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/events?type=container", nil)
		req.Header.Set("Accept", api.MediaEventStream)
		if lastID != "" {
			req.Header.Set(api.HeaderLastEventID, lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != api.MediaEventStream {
			t.Fatalf("stream answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp, bufio.NewReader(resp.Body)
	}
	resp, rd := open("")
	if got := sseIDs(t, readSSE(t, rd, 3)); fmt.Sprint(got) != fmt.Sprint(seq(1, 3)) {
		t.Fatalf("first read %v, want 1 to 3", got)
	}
	// New events reach the open stream as they are published; a state event is filtered out.
	fake.publish(runner.Event{AgentID: agent, Type: runner.EventState, Name: "running"})
	fake.publish(testEvents(2, agent)...)
	if got := sseIDs(t, readSSE(t, rd, 2)); fmt.Sprint(got) != "[5 6]" {
		t.Fatalf("followed %v, want [5 6]", got)
	}
	resp.Body.Close()

	// A client that saw up to 5 resumes at 6, and follows on.
	fake.publish(testEvents(1, agent)...)
	resp, rd = open("5")
	defer resp.Body.Close()
	if got := sseIDs(t, readSSE(t, rd, 2)); fmt.Sprint(got) != "[6 7]" {
		t.Fatalf("resumed after 5 with %v, want [6 7]", got)
	}
}

// blockedWriter is a client that reads nothing: Write blocks until released.
type blockedWriter struct {
	header  http.Header
	release chan struct{}
	mu      sync.Mutex
	body    strings.Builder
	status  int
}

func (w *blockedWriter) Header() http.Header  { return w.header }
func (w *blockedWriter) WriteHeader(code int) { w.status = code }
func (w *blockedWriter) Flush()               {}
func (w *blockedWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(p)
}

func TestSlowEventClientIsCutOffWithoutHoldingUpWriters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := newFake()
		const buffer, slowAfter = 4, 2 * time.Second
		s := newServer(t, fake, Options{EventBuffer: buffer, EventSlowAfter: slowAfter})
		agent := fake.add()
		w := &blockedWriter{header: http.Header{}, release: make(chan struct{})}
		req := httptest.NewRequest(http.MethodGet, "/v1/events", nil)
		req.Header.Set("Accept", api.MediaEventStream)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.Handler().ServeHTTP(w, req)
		}()
		synctest.Wait() // the stream is open and waiting for events

		// A burst far larger than the buffer: publishing returns at once, the client reading nothing.
		fake.publish(testEvents(100, agent)...)
		synctest.Wait()
		time.Sleep(slowAfter + time.Second) // the buffer stayed full: the pump gives up
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("handler returned while its client had read nothing")
		default:
		}
		close(w.release) // the client reads again: it gets what was buffered, then why it was cut off
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("the stream of a client that read nothing was never cut off")
		}

		events := readSSE(t, strings.NewReader(w.body.String()), -1)
		ids := sseIDs(t, events)
		// One event in the blocked write, the buffer full behind it.
		if want := seq(1, buffer+1); fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("slow client got events %v, want %v", ids, want)
		}
		last := events[len(events)-1]
		var end api.StreamEnd
		if err := json.Unmarshal([]byte(last.data), &end); err != nil || last.event != api.SSEEnd || last.id != "" {
			t.Fatalf("last event = %+v, want an end event without id", last)
		}
		if end.Reason != api.EndSlowClient || end.LastEventID != buffer+1 || !strings.Contains(end.Message, "Last-Event-ID") {
			t.Fatalf("end = %+v, want slow_client after %d", end, buffer+1)
		}
		if fake.watchers() != 0 {
			t.Fatal("the cut-off stream still watches for events")
		}

		// Resuming after the end's last_event_id reads the rest, none twice.
		w2 := &blockedWriter{header: http.Header{}, release: make(chan struct{})}
		close(w2.release)
		ctx, cancel := context.WithCancel(context.Background())
		req = httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/events", nil)
		req.Header.Set("Accept", api.MediaEventStream)
		req.Header.Set(api.HeaderLastEventID, strconv.FormatInt(end.LastEventID, 10))
		done = make(chan struct{})
		go func() {
			defer close(done)
			s.Handler().ServeHTTP(w2, req)
		}()
		synctest.Wait()
		cancel()
		<-done
		if got := sseIDs(t, readSSE(t, strings.NewReader(w2.body.String()), -1)); fmt.Sprint(got) != fmt.Sprint(seq(buffer+2, 100)) {
			t.Fatalf("resumed stream read %v, want %d to 100", got, buffer+2)
		}
	})
}

func TestEventStreamEndsWhenTheServerStops(t *testing.T) {
	fake := newFake()
	s := newServer(t, fake, Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	fake.publish(testEvents(2, fake.add())...)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/events", nil)
	req.Header.Set("Accept", api.MediaEventStream)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if got := sseIDs(t, readSSE(t, rd, 2)); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("read %v", got)
	}
	s.StopStreams()
	rest := readSSE(t, rd, -1) // to the end of the body: the stream must end by itself
	var end api.StreamEnd
	if len(rest) != 1 || rest[0].event != api.SSEEnd || json.Unmarshal([]byte(rest[0].data), &end) != nil ||
		end.Reason != api.EndShutdown || end.LastEventID != 2 {
		t.Fatalf("after StopStreams the stream sent %+v, want one end event: shutdown after 2", rest)
	}
}
