package httpapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestLogsStreams(t *testing.T) {
	tests := []struct {
		query string
		body  string
		opts  runner.LogOptions
	}{
		{"", "out\nerr\n", runner.LogOptions{Streams: runner.BothStreams}},
		{"?stream=all&tail=5", "out\nerr\n", runner.LogOptions{Tail: 5, Streams: runner.BothStreams}},
		{"?stream=both", "out\nerr\n", runner.LogOptions{Streams: runner.BothStreams}},
		{"?stream=stdout", "out\n", runner.LogOptions{Streams: runner.Stdout}},
		{"?stream=stderr&follow=false", "err\n", runner.LogOptions{Streams: runner.Stderr}},
		{"?follow=true&tail=0", "out\nerr\n", runner.LogOptions{Follow: true, Streams: runner.BothStreams}},
		{"?timestamps=true", "2025-01-02T03:04:05Z out\n2025-01-02T03:04:06Z err\n", runner.LogOptions{Streams: runner.BothStreams}},
		{"?format=text&timestamps=false&stream=stderr", "err\n", runner.LogOptions{Streams: runner.Stderr}},
	}
	for _, tt := range tests {
		h := newHarness(t, Options{})
		rec := h.do(t, http.MethodGet, "/v1/agents/"+h.fake.add()+"/logs"+tt.query, "")
		if rec.Code != 200 || rec.Body.String() != tt.body {
			t.Errorf("%q: got %d %q, want 200 %q", tt.query, rec.Code, rec.Body, tt.body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("%q: Content-Type = %q", tt.query, ct)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%q: X-Content-Type-Options = %q", tt.query, got)
		}
		if f := h.fake; f.lastLogs != tt.opts {
			t.Errorf("%q: options %+v, want %+v", tt.query, f.lastLogs, tt.opts)
		}
	}
}

func TestLogsTextKeepsLinesAsWritten(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.logs = func(ctx context.Context, emit func(runner.LogLine) error) error {
		for _, l := range []runner.LogLine{
			{Seq: 1, Stream: runner.Stderr, Text: "<b>not html</b>"},
			{Seq: 2, Stream: runner.Stdout, Text: "cut sho", Cut: true},
			{Seq: 3, Stream: runner.Stdout, Text: "prompt: ", Partial: true},
		} {
			if err := emit(l); err != nil {
				return err
			}
		}
		return nil
	}
	id := h.fake.add()
	if rec := h.do(t, http.MethodGet, "/v1/agents/"+id+"/logs", ""); rec.Body.String() != "<b>not html</b>\ncut sho\nprompt: " {
		t.Errorf("text = %q", rec.Body)
	}
	if rec := h.do(t, http.MethodGet, "/v1/agents/"+id+"/logs?timestamps=1", ""); rec.Body.String() != "- <b>not html</b>\n- cut sho\n- prompt: " {
		t.Errorf("text with unknown times = %q", rec.Body)
	}
}

func TestLogsNDJSON(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.logs = func(ctx context.Context, emit func(runner.LogLine) error) error {
		for _, l := range []runner.LogLine{
			{Seq: 1, Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Stream: runner.Stderr, Text: "e \"q\""},
			{Seq: 2, Stream: runner.Stdout, Text: "cut", Cut: true, Partial: true},
		} {
			if err := emit(l); err != nil {
				return err
			}
		}
		return nil
	}
	rec := h.do(t, http.MethodGet, "/v1/agents/"+h.fake.add()+"/logs?format=ndjson&timestamps=true", "")
	if ct := rec.Header().Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	want := `{"seq":1,"time":"2025-01-02T03:04:05Z","stream":"stderr","text":"e \"q\""}` + "\n" +
		`{"seq":2,"stream":"stdout","text":"cut","partial":true,"cut":true}` + "\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("got %d\n%s\nwant\n%s", rec.Code, rec.Body, want)
	}
}

func TestLogsErrorBeforeOutputIsJSON(t *testing.T) {
	h := newHarness(t, Options{})
	id := runner.NewID(time.Now()) // valid, but unknown to the fake
	rec := h.do(t, http.MethodGet, "/v1/agents/"+id+"/logs", "")
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", rec.Code)
	}
	if got := apiErrorOf(t, rec); got.Code != "not_found" {
		t.Errorf("code = %q", got.Code)
	}
}

func TestLogsErrorAfterOutputEndsBody(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.logs = func(ctx context.Context, emit func(runner.LogLine) error) error {
		_ = emit(runner.LogLine{Stream: runner.Stdout, Text: "partial"})
		return errors.New("podman went away")
	}
	rec := h.do(t, http.MethodGet, "/v1/agents/"+h.fake.add()+"/logs", "")
	if rec.Code != 200 || rec.Body.String() != "partial\n" {
		t.Errorf("got %d %q, want the partial output under 200", rec.Code, rec.Body)
	}
}

// TestLogsFollow runs a real server whose write timeout is far shorter than the
// stream: the client must see the first chunk while the handler is still
// running, and the stream must survive past the write deadline.
func TestLogsFollow(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.fake.add()
	const writeTimeout = 200 * time.Millisecond
	gotFirst := make(chan struct{})
	handlerDone := make(chan struct{})
	h.fake.logs = func(ctx context.Context, emit func(runner.LogLine) error) error {
		defer close(handlerDone)
		if err := emit(runner.LogLine{Stream: runner.Stdout, Text: "first"}); err != nil {
			return err
		}
		select {
		case <-gotFirst:
		case <-time.After(10 * time.Second):
			return errors.New("client never saw the first chunk")
		}
		time.Sleep(3 * writeTimeout) // past the server's write deadline
		return emit(runner.LogLine{Stream: runner.Stderr, Text: "second"})
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = NewHTTPServer("", h.h, Timeouts{Read: writeTimeout, Write: writeTimeout, Idle: time.Second})
	ts.Start()
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/v1/agents/" + id + "/logs?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk = %q, %v", line, err)
	}
	select {
	case <-handlerDone:
		t.Fatal("the handler returned before the client read the first chunk: output was not flushed")
	default:
	}
	close(gotFirst)
	rest, err := io.ReadAll(rd)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("rest of stream = %q, %v; want \"second\\n\" (was the write deadline lifted?)", rest, err)
	}
}

// TestLogsFollowStopsWhenClientLeaves checks the request context reaches the service.
func TestLogsFollowStopsWhenClientLeaves(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.fake.add()
	stopped := make(chan error, 1)
	h.fake.logs = func(ctx context.Context, emit func(runner.LogLine) error) error {
		for i := 0; ; i++ {
			if err := emit(runner.LogLine{Stream: runner.Stdout, Text: fmt.Sprintf("line %d", i)}); err != nil {
				stopped <- err
				return err
			}
			select {
			case <-ctx.Done():
				stopped <- ctx.Err()
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	ts := httptest.NewServer(h.h)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/v1/agents/" + id + "/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the service kept streaming after the client left")
	}
}
