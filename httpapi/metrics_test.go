package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/podrun/podrun/runner"
)

// sample is one parsed line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseSample parses `name{l="v",...} value [timestamp]` strictly, as a scraper would.
func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	i := 0
	for i < len(line) && isNameByte(line[i], i == 0) {
		i++
	}
	if i == 0 {
		return s, errors.New("no metric name")
	}
	s.name, line = line[:i], line[i:]
	if strings.HasPrefix(line, "{") {
		line = line[1:]
		for !strings.HasPrefix(line, "}") {
			line = strings.TrimLeft(line, " \t") // the format allows blanks between label pairs
			j := 0
			for j < len(line) && isNameByte(line[j], j == 0) {
				j++
			}
			if j == 0 || !strings.HasPrefix(line[j:], `="`) {
				return s, fmt.Errorf("bad label name at %q", line)
			}
			key := line[:j]
			line = line[j+2:]
			var val strings.Builder
			for {
				if line == "" {
					return s, errors.New("unterminated label value")
				}
				c := line[0]
				line = line[1:]
				if c == '"' {
					break
				}
				if c == '\n' {
					return s, errors.New("raw newline in label value")
				}
				if c == '\\' {
					if line == "" {
						return s, errors.New("dangling escape")
					}
					switch line[0] {
					case '\\', '"':
						val.WriteByte(line[0])
					case 'n':
						val.WriteByte('\n')
					default:
						return s, fmt.Errorf("bad escape \\%c", line[0])
					}
					line = line[1:]
					continue
				}
				val.WriteByte(c)
			}
			if _, dup := s.labels[key]; dup {
				return s, fmt.Errorf("label %q twice", key)
			}
			s.labels[key] = val.String()
			if strings.HasPrefix(line, ",") {
				line = line[1:]
			} else if !strings.HasPrefix(line, "}") {
				return s, fmt.Errorf("want , or } at %q", line)
			}
		}
		line = line[1:]
	}
	fields := strings.Split(line, " ")
	if len(fields) < 2 || len(fields) > 3 || fields[0] != "" {
		return s, fmt.Errorf("want ' value [timestamp]', got %q", line)
	}
	v, err := strconv.ParseFloat(fields[1], 64)
	if err != nil {
		return s, fmt.Errorf("value %q: %v", fields[1], err)
	}
	if len(fields) == 3 {
		if _, err := strconv.ParseInt(fields[2], 10, 64); err != nil {
			return s, fmt.Errorf("timestamp %q: %v", fields[2], err)
		}
	}
	s.value = v
	return s, nil
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

// family strips the suffixes a histogram or summary adds to its family name.
func family(name string) string {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(name, suf); ok {
			return f
		}
	}
	return name
}

// scrape fetches /metrics and checks every line is valid, every series unique,
// every family written in one block after its # HELP (with a text) and # TYPE.
func scrape(t *testing.T, h *harness) []sample {
	t.Helper()
	rec := h.do(t, http.MethodGet, "/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("/metrics status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	body := rec.Body.String()
	if !strings.HasSuffix(body, "\n") {
		t.Error("exposition does not end with a newline")
	}
	var out []sample
	seen := map[string]bool{}
	done := map[string]bool{} // families whose block has ended
	help, typ := map[string]string{}, map[string]string{}
	prev := ""
	for n, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if meta, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(meta, " ")
			help[name] = text
			continue
		}
		if meta, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, text, _ := strings.Cut(meta, " ")
			if help[name] == "" {
				t.Errorf("line %d: # TYPE of %s before a # HELP with a text", n+1, name)
			}
			typ[name] = text
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			t.Fatalf("line %d %q: %v", n+1, line, err)
		}
		if math.IsNaN(s.value) {
			t.Errorf("line %d %q: NaN", n+1, line)
		}
		if seen[line[:strings.LastIndexByte(line, ' ')]] {
			t.Errorf("line %d: series repeated: %q", n+1, line)
		}
		seen[line[:strings.LastIndexByte(line, ' ')]] = true
		if f := family(s.name); typ[f] == "" && typ[s.name] == "" {
			t.Errorf("line %d %q: no # TYPE for its family", n+1, line)
		}
		if f := family(s.name); f != prev {
			if done[f] {
				t.Errorf("line %d: family %s is split into several blocks", n+1, f)
			}
			done[prev] = true
			prev = f
		}
		out = append(out, s)
	}
	return out
}

func TestMetricsExposition(t *testing.T) {
	m := NewMetrics()
	h := newHarness(t, Options{Metrics: m})
	h.fake.counts = map[runner.State]int{runner.StateRunning: 3, runner.StateFailed: 1}

	// Some traffic and some runner events.
	id := h.fake.add()
	h.do(t, http.MethodGet, "/v1/agents/"+id, "")
	h.do(t, http.MethodGet, "/v1/agents/"+runner.NewID(time.Now()), "")
	h.do(t, http.MethodGet, "/nope", "")
	h.do(t, http.MethodPost, "/v1/agents", `{"image":"busybox"}`)
	m.AgentCreated()
	m.Transitioned(runner.StateRunning)
	m.Transitioned(`we"ird\state`) // must be escaped, not break the format
	m.Expired()
	m.Removed("orphan")
	m.ObservePodman("create", 120*time.Millisecond)
	m.ObservePodman("inspect", 3*time.Millisecond)

	samples := scrape(t, h)
	has := map[string]bool{}
	find := func(name string, labels map[string]string) (float64, bool) {
		for _, s := range samples {
			if s.name != name {
				continue
			}
			match := true
			for k, v := range labels {
				match = match && s.labels[k] == v
			}
			if match {
				return s.value, true
			}
		}
		return 0, false
	}
	for _, s := range samples {
		has[family(s.name)] = true
	}
	for _, f := range []string{
		"podrun_agents_created_total", "podrun_agent_transitions_total", "podrun_ttl_expired_total",
		"podrun_sweeper_removed_total", "podrun_podman_request_duration_seconds",
		"podrun_http_requests_total", "podrun_http_request_duration_seconds", "podrun_agents",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if !has[f] {
			t.Errorf("family %s missing", f)
		}
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"podrun_agents_created_total", nil, 1},
		{"podrun_agent_transitions_total", map[string]string{"to": "running"}, 1},
		{"podrun_agent_transitions_total", map[string]string{"to": "expired"}, 0},
		{"podrun_agent_transitions_total", map[string]string{"to": `we"ird\state`}, 1},
		{"podrun_ttl_expired_total", nil, 1},
		{"podrun_sweeper_removed_total", map[string]string{"kind": "orphan"}, 1},
		{"podrun_sweeper_removed_total", map[string]string{"kind": "expired"}, 0},
		{"podrun_podman_request_duration_seconds_count", map[string]string{"op": "create"}, 1},
		{"podrun_http_requests_total", map[string]string{"route": "/v1/agents/:id", "code": "200"}, 1},
		{"podrun_http_requests_total", map[string]string{"route": "/v1/agents/:id", "code": "404"}, 1},
		{"podrun_http_requests_total", map[string]string{"route": "/v1/agents", "code": "201"}, 1},
		{"podrun_http_requests_total", map[string]string{"route": unmatchedRoute, "code": "404"}, 1},
		{"podrun_http_request_duration_seconds_count", map[string]string{"route": "/v1/agents/:id"}, 2},
		{"podrun_agents", map[string]string{"state": "running"}, 3},
		{"podrun_agents", map[string]string{"state": "pending"}, 0},
		{"podrun_agents", map[string]string{"state": "terminating"}, 0},
	}
	for _, c := range checks {
		got, ok := find(c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, s := range samples {
		if r, ok := s.labels["route"]; ok && strings.Contains(r, id) {
			t.Errorf("raw path in route label: %v", s.labels)
		}
	}
	states := 0
	for _, s := range samples {
		if s.name == "podrun_agents" {
			states++
		}
	}
	if states != len(runner.LiveStates) {
		t.Errorf("podrun_agents has %d series, want one per live state (%d): finished agents are history, not load", states, len(runner.LiveStates))
	}
	if n := h.fake.called("CountByState"); n != 1 {
		t.Errorf("CountByState called %d times per scrape, want 1", n)
	}
}

func TestMetricsSurviveStoreFailure(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.errs["CountByState"] = errors.New("database is locked")
	for _, s := range scrape(t, h) {
		if s.name == "podrun_agents" {
			t.Fatalf("podrun_agents written despite the failure: %v", s)
		}
	}
}

func TestMetricsSetsAreIndependent(t *testing.T) {
	a, b := NewMetrics(), NewMetrics()
	a.AgentCreated()
	if a.created.Get() != 1 || b.created.Get() != 0 {
		t.Errorf("created: a=%d b=%d, want 1 and 0", a.created.Get(), b.created.Get())
	}
}

// TestMetricsFamiliesCoverTheLibrary: every family the library can write is
// documented in families or deliberately left out, so a new one in a library
// upgrade is noticed here rather than exposed without help.
func TestMetricsFamiliesCoverTheLibrary(t *testing.T) {
	m := NewMetrics()
	m.AgentCreated()
	m.Invoked("fn", runner.StartCold, runner.OutcomeSucceeded, time.Second)
	m.PoolSize("fn", 1)
	m.PoolTaken("fn", true)
	m.ObservePodman("create", time.Millisecond)
	m.observeHTTP("/v1/agents", 200, time.Millisecond)
	m.ObserveLimiter(runner.NewLimiter(1, 1, 0))
	var buf bytes.Buffer
	m.set.WritePrometheus(&buf)
	writeAgents(&buf, nil)
	metrics.WriteProcessMetrics(&buf)
	metrics.WriteFDMetrics(&buf)
	written := map[string]bool{}
	for _, line := range strings.Split(buf.String(), "\n") {
		if meta, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ := strings.Cut(meta, " ")
			written[name] = true
			if _, ok := families[name]; !ok && !leftOut[name] {
				t.Errorf("the library writes %s, which families does not describe", name)
			}
		}
	}
	for name := range families {
		if strings.HasPrefix(name, "podrun_") && !written[name] {
			t.Errorf("families describes %s, which podrun never writes", name)
		}
	}
}

// TestREADMEMetricsTableMatches keeps the README's metrics table and the
// exposition in agreement: the same podrun families, with the same types,
// and every invocation outcome listed.
func TestREADMEMetricsTableMatches(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(raw), "\n## Metrics\n")
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string]string{}
	outcomes := ""
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`podrun_") {
			continue
		}
		for _, name := range strings.Split(cells[1], ",") {
			documented[strings.Trim(strings.TrimSpace(name), "`")] = strings.TrimSpace(cells[2])
		}
		if strings.Contains(cells[1], "podrun_invocations_total") {
			outcomes = cells[3]
		}
	}
	for name, f := range families {
		if !strings.HasPrefix(name, "podrun_") {
			continue
		}
		if typ, ok := documented[name]; !ok || typ != f.typ {
			t.Errorf("README documents %s as %q (present %v), /metrics says %s", name, typ, ok, f.typ)
		}
	}
	for name := range documented {
		if _, ok := families[name]; !ok {
			t.Errorf("README documents %s, which /metrics does not have", name)
		}
	}
	for _, o := range runner.Outcomes {
		if !strings.Contains(outcomes, "`"+o+"`") {
			t.Errorf("README's podrun_invocations_total row does not list the outcome %s", o)
		}
	}
}
