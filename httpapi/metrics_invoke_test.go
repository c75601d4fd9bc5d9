package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestMetricsInvocations(t *testing.T) {
	m := NewMetrics()
	h := newHarness(t, Options{Metrics: m})
	h.fake.addFunction("echo")
	h.doRaw(t, http.MethodPost, "/function/echo/x", "hi")
	m.Invoked("echo", runner.StartCold, "succeeded", 300*time.Millisecond)
	m.Invoked("echo", runner.StartWarm, "succeeded", 20*time.Millisecond)
	m.Invoked("echo", runner.StartWarm, runner.ReasonOutputLimit, 10*time.Millisecond)
	m.PoolTaken("echo", true)
	m.PoolTaken("echo", true)
	m.PoolTaken("echo", false)
	m.PoolSize("echo", 3)
	m.PoolSize("echo", 1)
	m.PoolSize("resize", 0)

	samples := scrape(t, h)
	find := func(name string, labels map[string]string) (float64, bool) {
		for _, s := range samples {
			match := s.name == name && len(s.labels) >= len(labels)
			for k, v := range labels {
				match = match && s.labels[k] == v
			}
			if match {
				return s.value, true
			}
		}
		return 0, false
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"podrun_invocations_total", map[string]string{"function": "echo", "start": "warm", "outcome": "succeeded"}, 1},
		{"podrun_invocations_total", map[string]string{"function": "echo", "start": "warm", "outcome": "output_limit"}, 1},
		{"podrun_invocations_total", map[string]string{"function": "echo", "start": "cold", "outcome": "succeeded"}, 1},
		{"podrun_invocation_duration_seconds_count", map[string]string{"start": "warm"}, 2},
		{"podrun_invocation_duration_seconds_count", map[string]string{"start": "cold"}, 1},
		{"podrun_pool_hits_total", map[string]string{"function": "echo"}, 2},
		{"podrun_pool_misses_total", map[string]string{"function": "echo"}, 1},
		{"podrun_pool_size", map[string]string{"function": "echo"}, 1},
		{"podrun_pool_size", map[string]string{"function": "resize"}, 0},
		{"podrun_http_requests_total", map[string]string{"route": "/function/:name/*path", "code": "200"}, 1},
	}
	for _, c := range checks {
		got, ok := find(c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
}
