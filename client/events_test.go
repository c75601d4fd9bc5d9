package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/podrun/podrun/api"
)

func TestFollowEventsReadsEventsThenTheEnd(t *testing.T) {
	var gotLast, gotQuery string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		gotLast, gotQuery = r.Header.Get(api.HeaderLastEventID), r.URL.RawQuery
		w.Header().Set("Content-Type", api.MediaEventStream)
		_, _ = io.WriteString(w, ": keepalive\n\n"+
			"id: 8\ndata: {\"id\":8,\"agent_id\":\"a\",\"time\":\"2025-01-02T03:04:05Z\",\"type\":\"alert\",\"name\":\"memory\"}\n\n"+
			": keepalive\n\n"+
			"id: 9\r\ndata: {\"id\":9,\"agent_id\":\"a\",\"time\":\"2025-01-02T03:04:06Z\",\"type\":\"state\",\"name\":\"failed\"}\r\n\r\n"+
			"event: end\ndata: {\"reason\":\"slow_client\",\"message\":\"m\",\"last_event_id\":9}\n\n")
	}, "")
	s, err := c.FollowEvents(context.Background(), api.EventOptions{After: 7, Types: []string{"alert", "state"}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if gotLast != "7" || gotQuery != "type=alert&type=state" {
		t.Fatalf("request carried Last-Event-ID %q and query %q", gotLast, gotQuery)
	}
	for _, want := range []int64{8, 9} {
		e, err := s.Next()
		if err != nil || e.ID != want || s.LastID != want {
			t.Fatalf("Next = %+v, %v; want event %d", e, err, want)
		}
	}
	_, err = s.Next()
	var end *StreamEndError
	if !errors.As(err, &end) || end.Reason != api.EndSlowClient || end.LastEventID != 9 {
		t.Fatalf("after the events Next = %v, want the end event", err)
	}
	if _, err := s.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("after the end Next = %v, want io.ErrUnexpectedEOF", err)
	}
}
