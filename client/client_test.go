package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

func newTestClient(t *testing.T, h http.HandlerFunc, token string) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewNormalisesTheAddress(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "http://" + api.DefaultAddr},
		{"127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"http://h:1/", "http://h:1"},
		{"https://example.test/podrun/", "https://example.test/podrun"},
	} {
		c, err := New(tt.in, "")
		if err != nil {
			t.Errorf("New(%q): %v", tt.in, err)
			continue
		}
		if c.BaseURL() != tt.want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", tt.in, c.BaseURL(), tt.want)
		}
	}
	for _, bad := range []string{"ftp://h", "http://", "http://h/?q=1", "%zz"} {
		if _, err := New(bad, ""); err == nil {
			t.Errorf("New(%q) accepted a bad address", bad)
		}
	}
}

func TestErrorsCarryTheAPIsCodeMessageAndField(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/agents":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":"invalid","message":"must be at least 6Mi","field":"limits.memory"}}`)
		case "/v1/functions/f/invoke":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"code":"busy","message":"too many invocations"}}`)
		default:
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>\n")
		}
	}, "")
	ctx := context.Background()

	_, err := c.CreateAgent(ctx, api.AgentRequest{Image: "x", Limits: api.LimitsRequest{Memory: "1"}})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want an *Error", err, err)
	}
	if e.Status != 400 || e.Code != api.CodeInvalid || e.Field != "limits.memory" || e.Message != "must be at least 6Mi" {
		t.Errorf("error = %+v", e)
	}
	if got, want := err.Error(), "limits.memory: must be at least 6Mi (400 invalid)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	_, err = c.Invoke(ctx, "f", nil, nil)
	if !errors.As(err, &e) || e.Code != api.CodeBusy || e.RetryAfter != 2*time.Second {
		t.Errorf("busy invocation: err = %v, %+v", err, e)
	}

	_, err = c.Agent(ctx, "abc")
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Code != "" || e.Message != "<html>bad gateway</html>" {
		t.Errorf("a proxy's error page: %+v", e)
	}
	if ErrorCode(err) != "" || ErrorCode(fmt.Errorf("wrapped: %w", &Error{Code: "x"})) != "x" {
		t.Error("ErrorCode does not find the code")
	}
}

func TestRequestsCarryTokenUserAgentAndEscapedIDs(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		fmt.Fprint(w, `{"id":"x"}`)
	}))
	defer srv.Close()
	c, err := New(srv.URL, "s3cret", WithUserAgent("podrun-test/1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Agent(context.Background(), "a/b?c"); err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("Authorization") != "Bearer s3cret" || got.Header.Get("User-Agent") != "podrun-test/1" ||
		got.Header.Get("Accept-Encoding") != "" {
		t.Errorf("headers = %v", got.Header)
	}
	if got.URL.EscapedPath() != "/v1/agents/a%2Fb%3Fc" || got.URL.RawQuery != "" {
		t.Errorf("path = %s ? %s", got.URL.EscapedPath(), got.URL.RawQuery)
	}
}

func TestAgentsFollowsTheCursor(t *testing.T) {
	pages := map[string]string{
		"":   `{"agents":[{"id":"a"},{"id":"b"}],"next_cursor":"c1"}`,
		"c1": `{"agents":[{"id":"c"}],"next_cursor":"c2"}`,
		"c2": `{"agents":[]}`,
	}
	var queries []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		fmt.Fprint(w, pages[r.URL.Query().Get("cursor")])
	}, "")
	var ids []string
	for a, err := range c.Agents(context.Background(), api.ListOptions{States: []api.State{api.StateRunning}, Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if strings.Join(ids, ",") != "a,b,c" {
		t.Errorf("ids = %v", ids)
	}
	want := []string{"limit=2&state=running", "cursor=c1&limit=2&state=running", "cursor=c2&limit=2&state=running"}
	if strings.Join(queries, " ") != strings.Join(want, " ") {
		t.Errorf("queries = %q, want %q", queries, want)
	}
	for range c.Agents(context.Background(), api.ListOptions{}) {
		break // stopping early must not panic or fetch more
	}
}

func TestPutFunctionSaysWhetherItCreated(t *testing.T) {
	status := http.StatusCreated
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/v1/functions/echo" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"name":"echo","timeout":"30s"}`)
	}, "")
	f, created, err := c.PutFunction(context.Background(), "echo", api.FunctionRequest{Image: "i"})
	if err != nil || !created || f.Name != "echo" || f.Timeout != "30s" {
		t.Errorf("first put: %+v, created %v, %v", f, created, err)
	}
	status = http.StatusOK
	if _, created, err = c.PutFunction(context.Background(), "echo", api.FunctionRequest{Image: "i"}); err != nil || created {
		t.Errorf("replace: created %v, %v", created, err)
	}
}

func TestLogsStreamsTheBody(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/agents/a1/logs" || r.URL.RawQuery != "follow=true&stream=stdout&tail=2" {
			t.Errorf("%s?%s", r.URL.Path, r.URL.RawQuery)
		}
		fmt.Fprint(w, "one\n")
		w.(http.Flusher).Flush()
		fmt.Fprint(w, "two\n")
	}, "")
	rc, err := c.Logs(context.Background(), "a1", api.LogOptions{Follow: true, Tail: 2, Stream: api.StreamStdout})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "one\ntwo\n" {
		t.Errorf("logs = %q, %v", b, err)
	}
}

func TestEmptyListsAreNeverNil(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"events":null,"functions":null}`)
	}, "")
	ev, err := c.Events(context.Background(), "a")
	if err != nil || ev == nil {
		t.Errorf("events = %#v, %v", ev, err)
	}
	fs, err := c.Functions(context.Background())
	if err != nil || fs == nil {
		t.Errorf("functions = %#v, %v", fs, err)
	}
}
