package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// logLines parses the JSON log output.
func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, incoming string
		keep           bool
	}{
		{"accepted", "req-123_abc.DEF:9", true},
		{"generated when absent", "", false},
		{"too long", strings.Repeat("a", maxRequestIDLen+1), false},
		{"with space", "a b", false},
		{"non-ascii", "ïd", false},
		{"control byte", "a\x01b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.fake.errs["Agent"] = errorForLog // forces an error log line besides the access log
			rec := h.do(t, http.MethodGet, "/v1/agents/"+h.fake.add(), "", requestIDHeader, tt.incoming)
			got := rec.Header().Get(requestIDHeader)
			if tt.keep && got != tt.incoming {
				t.Errorf("echoed id = %q, want %q", got, tt.incoming)
			}
			if !tt.keep && (got == tt.incoming || !validRequestID(got)) {
				t.Errorf("id = %q, want a fresh valid one", got)
			}
			lines := logLines(t, h.logs.String())
			if len(lines) < 2 {
				t.Fatalf("want an error line and an access line, got %d", len(lines))
			}
			for _, l := range lines {
				if l["request_id"] != got {
					t.Errorf("log line %v has request_id %v, want %q", l["msg"], l["request_id"], got)
				}
			}
		})
	}
}

var errorForLog = errors.New("forced failure")

func TestAccessLogFields(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.fake.add()
	h.do(t, http.MethodGet, "/v1/agents/"+id, "")
	lines := logLines(t, h.logs.String())
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1", len(lines))
	}
	l := lines[0]
	for key, want := range map[string]any{"method": "GET", "route": "/v1/agents/:id", "status": float64(200), "path": "/v1/agents/" + id} {
		if l[key] != want {
			t.Errorf("%s = %v, want %v", key, l[key], want)
		}
	}
	for _, key := range []string{"bytes", "duration", "request_id"} {
		if _, ok := l[key]; !ok {
			t.Errorf("access log lacks %q: %v", key, l)
		}
	}
}

func TestPanicBecomes500(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.panicIn = "Stats"
	rec := h.do(t, http.MethodGet, "/v1/agents/"+h.fake.add()+"/stats", "")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	if got := apiErrorOf(t, rec); got.Code != "internal" || strings.Contains(got.Message, "boom") {
		t.Errorf("error = %+v, want a generic internal error", got)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "handler panic") || !strings.Contains(logs, "boom in Stats") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
	if !strings.Contains(logs, `"status":500`) {
		t.Errorf("access log does not record the 500:\n%s", logs)
	}
	// The server keeps serving.
	if rec := h.do(t, http.MethodGet, "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz after panic = %d", rec.Code)
	}
}

// ctxService captures the request id the service sees.
func TestPanicAfterOutputAbortsResponse(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.logs = func(ctx context.Context, emit func(runner.LogLine) error) error {
		_ = emit(runner.LogLine{Stream: runner.Stdout, Text: "partial"})
		panic("boom mid-stream")
	}
	ts := httptest.NewServer(h.h)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/v1/agents/" + h.fake.add() + "/logs?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("the body ended cleanly; the client cannot tell the output is cut short")
	}
	waitFor(t, func() bool { return strings.Contains(h.logs.String(), `"status":500`) })
}

// waitFor polls cond with a generous bound: it checks that something happens, not how fast.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
	}
}

// TestProbesAndScrapesLogAtDebug: health checks and metric scrapes come
// thousands of times a day; at info level they must not log, other routes must.
func TestProbesAndScrapesLogAtDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		logs := &syncBuffer{}
		h := newHarness(t, Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))})
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			if rec := h.do(t, http.MethodGet, path, ""); rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d", path, rec.Code)
			}
		}
		h.do(t, http.MethodGet, "/v1/agents", "")
		got := map[string]string{}
		for _, l := range logLines(t, logs.String()) {
			got[l["route"].(string)] = l["level"].(string)
		}
		want := map[string]string{"/v1/agents": "INFO"}
		if level == slog.LevelDebug {
			want = map[string]string{"/v1/agents": "INFO", "/healthz": "DEBUG", "/readyz": "DEBUG", "/metrics": "DEBUG"}
		}
		if !maps.Equal(got, want) {
			t.Errorf("at %s, access lines (route: level) = %v, want %v", level, got, want)
		}
	}
}

// TestAccessLogNamesTheAgentAndFunction: an invocation's line names the agent
// the runner made for it, an agent route's line the agent in its path.
func TestAccessLogNamesTheAgentAndFunction(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	h.fake.onInvoke(answer("out", runner.StateSucceeded, 0))
	rec := h.doRaw(t, http.MethodPost, "/v1/functions/fn/invoke", "in")
	invoked := rec.Header().Get(headerAgentID)
	if rec.Code != http.StatusOK || invoked == "" {
		t.Fatalf("invoke = %d, agent %q", rec.Code, invoked)
	}
	id := h.fake.add()
	h.do(t, http.MethodGet, "/v1/agents/"+id, "")
	lines := logLines(t, h.logs.String())
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want 2: %v", len(lines), lines)
	}
	for i, want := range []map[string]any{
		{"route": "/v1/functions/:name/invoke", "agent": invoked, "function": "fn"},
		{"route": "/v1/agents/:id", "agent": id},
	} {
		for k, v := range want {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v (%v)", i, k, lines[i][k], v, lines[i])
			}
		}
	}
}
