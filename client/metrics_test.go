package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestParseMetricsKeepsSeriesAsWritten(t *testing.T) {
	page := []byte(`# HELP podrun_pool_size Warm containers.
# TYPE podrun_pool_size gauge
podrun_pool_size{function="f",x="a b"} 2
podrun_podman_request_duration_seconds_sum{op="create"} 0.03

go_goroutines 1.5e+01
`)
	m, err := ParseMetrics(page)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{`podrun_pool_size{function="f",x="a b"}`: 2, `podrun_podman_request_duration_seconds_sum{op="create"}`: 0.03, "go_goroutines": 15}
	if len(m) != len(want) {
		t.Errorf("series = %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, err := ParseMetrics([]byte("podrun_x 1\nbroken\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a line without a value: %v, want an error naming line 2", err)
	}
}

func TestGetRawCopiesTheBodyAndSendsTheToken(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/v1/agents" && r.URL.RawQuery == "limit=100" {
			w.Write([]byte(`{"agents":[]}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"not_found","message":"no such agent"}}`))
	}, "tok")
	var buf bytes.Buffer
	if err := c.GetRaw(context.Background(), "/v1/agents", url.Values{"limit": {"100"}}, &buf); err != nil || buf.String() != `{"agents":[]}` {
		t.Errorf("GetRaw = %q, %v", buf.String(), err)
	}
	if err := c.GetRaw(context.Background(), "/v1/agents/x", nil, &buf); ErrorCode(err) != "not_found" {
		t.Errorf("GetRaw of a missing agent = %v, want a not_found *Error", err)
	}
}
