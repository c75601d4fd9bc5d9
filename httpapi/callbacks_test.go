package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

var (
	callbackAgent  = runner.Agent{ID: "01HZX0000000000000000000AA", Function: "resize"}
	callbackResult = runner.Result{AgentID: "01HZX0000000000000000000AA", ExitCode: 3, Output: []byte("the output"), Truncated: true}
)

func TestCallbackDelivered(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if err := NewCallbacks(0).Notify(context.Background(), srv.URL+"/hook?k=v", callbackAgent, callbackResult); err != nil {
		t.Fatalf("Notify = %v, want delivered", err)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/hook" || got.URL.RawQuery != "k=v" || string(body) != "the output" {
		t.Errorf("callback %s %s %q", got.Method, got.URL, body)
	}
	want := map[string]string{
		"Content-Type":  "application/octet-stream",
		headerAgentID:   callbackAgent.ID,
		headerExitCode:  "3",
		headerFunction:  "resize",
		headerTruncated: "true",
	}
	for k, v := range want {
		if g := got.Header.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
}

func TestCallbackFailures(t *testing.T) {
	var redirected atomic.Int32
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)

	tests := []struct {
		path, want string
		timeout    time.Duration
	}{
		{"/fail?secret=s3", "500", 0},
		{"/moved?secret=s3", "307", 0},
		{"/slow?secret=s3", "Timeout", 50 * time.Millisecond},
	}
	for _, tt := range tests {
		err := NewCallbacks(tt.timeout).Notify(context.Background(), srv.URL+tt.path, callbackAgent, callbackResult)
		if err == nil {
			t.Errorf("%s: Notify = nil, want an error", tt.path)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), callbackAgent.ID) {
			t.Errorf("%s: error %q does not name %q and the agent", tt.path, err, tt.want)
		}
		if strings.Contains(err.Error(), "s3") {
			t.Errorf("%s: error %q repeats the URL's query", tt.path, err)
		}
	}
	if n := redirected.Load(); n != 0 {
		t.Errorf("redirect followed %d times", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewCallbacks(0).Notify(ctx, srv.URL+"/fail", callbackAgent, callbackResult); err == nil {
		t.Error("Notify with a canceled context = nil")
	}
}
