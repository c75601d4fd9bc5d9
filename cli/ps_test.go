package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestPsListsInOneRequest: ps asks for the live states in one request (the state parameter
// repeats), and a page of agents costs one request whatever the filters.
func TestPsListsInOneRequest(t *testing.T) {
	var (
		mu      sync.Mutex
		queries []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/agents" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"agents":[{"id":"a1","image":"img","command":[],"env":{},"labels":{},"state":"running","reason":"","created_at":"2026-01-02T03:04:05Z"}]}`)
	}))
	defer srv.Close()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"ps", "-q"}, "limit=1000&state=pending&state=running&state=paused&state=terminating"},
		{[]string{"ps", "-q", "-a"}, "limit=1000"},
		{[]string{"ps", "-q", "--filter", "state=failed", "--filter", "status=expired"}, "limit=1000&state=failed&state=expired"},
	} {
		mu.Lock()
		queries = nil
		mu.Unlock()
		var stdout, stderr bytes.Buffer
		env := Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
		if code := Main(append([]string{"--addr", srv.URL}, tt.args...), env); code != 0 || stdout.String() != "a1\n" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tt.args, code, stdout.String(), stderr.String())
		}
		mu.Lock()
		got := slices.Clone(queries)
		mu.Unlock()
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%v: requests %q, want one: %q", tt.args, got, tt.want)
		}
	}
}
