package httpapi

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/podrun/podrun/runner"
)

// Metrics holds podrun's metrics in a set of its own, so tests and embedders can make several.
type Metrics struct {
	set     *metrics.Set
	created *metrics.Counter
	expired *metrics.Counter
	// calls counts finished invocations per function (*atomic.Uint64 by
	// name), whatever the outcome: the OpenFaaS invocationCount.
	calls sync.Map
}

var _ runner.Observer = (*Metrics)(nil)

// removalKinds are the kinds the runner reports to Removed; they are created up front so every series exists from the first scrape.
var removalKinds = []string{"expired", "terminated", "succeeded", "failed", "orphan"}

// NewMetrics returns an empty metrics set with the runner's counters at zero.
func NewMetrics() *Metrics {
	m := &Metrics{set: metrics.NewSet()}
	m.created = m.set.NewCounter("podrun_agents_created_total")
	m.expired = m.set.NewCounter("podrun_ttl_expired_total")
	// Zero-valued series make rate() and absent() behave from the start.
	for _, st := range runner.States {
		m.transitions(st)
	}
	for _, kind := range removalKinds {
		m.removed(kind)
	}
	for _, name := range []string{`podrun_egress_decisions_total{decision="allowed"}`, `podrun_egress_decisions_total{decision="denied"}`,
		`podrun_egress_bytes_total{direction="sent"}`, `podrun_egress_bytes_total{direction="received"}`} {
		m.set.GetOrCreateCounter(name)
	}
	m.initMonitor()
	return m
}

// Egress counts one decision of the egress proxy and the bytes an allowed
// connection carried each way (see package egress).
func (m *Metrics) Egress(allowed bool, sent, received int64) {
	decision := "denied"
	if allowed {
		decision = "allowed"
	}
	m.set.GetOrCreateCounter(`podrun_egress_decisions_total{decision="` + decision + `"}`).Inc()
	m.set.GetOrCreateCounter(`podrun_egress_bytes_total{direction="sent"}`).AddInt64(sent)
	m.set.GetOrCreateCounter(`podrun_egress_bytes_total{direction="received"}`).AddInt64(received)
}

// AgentCreated counts one accepted agent.
func (m *Metrics) AgentCreated() { m.created.Inc() }

// Transitioned counts one state transition.
func (m *Metrics) Transitioned(to runner.State) { m.transitions(to).Inc() }

// Expired counts one agent killed at its deadline.
func (m *Metrics) Expired() { m.expired.Inc() }

// Removed counts one container removed by cleanup.
func (m *Metrics) Removed(kind string) { m.removed(kind).Inc() }

// Invoked counts one finished invocation and records its duration by start
// kind; outcome is one of runner.Outcomes.
func (m *Metrics) Invoked(function, start, outcome string, d time.Duration) {
	m.countCall(function)
	m.set.GetOrCreateCounter(`podrun_invocations_total{function="` + labelValue(function) + `",start="` + labelValue(start) + `",outcome="` + labelValue(outcome) + `"}`).Inc()
	m.set.GetOrCreatePrometheusHistogram(`podrun_invocation_duration_seconds{start="` + labelValue(start) + `"}`).Update(d.Seconds())
}

// PoolTaken counts one invocation that found a warm container (hit) or had to start one (miss).
func (m *Metrics) PoolTaken(function string, hit bool) {
	name := "podrun_pool_misses_total"
	if hit {
		name = "podrun_pool_hits_total"
	}
	m.set.GetOrCreateCounter(name + `{function="` + labelValue(function) + `"}`).Inc()
}

// PoolSize records how many prepared containers a function's pool holds now.
// The runner reports it for every function when it is set up, warm or not, so
// the function's hit and miss counters are created here too, at zero.
func (m *Metrics) PoolSize(function string, n int) {
	f := labelValue(function)
	m.set.GetOrCreateGauge(`podrun_pool_size{function="`+f+`"}`, nil).Set(float64(n))
	m.set.GetOrCreateCounter(`podrun_pool_hits_total{function="` + f + `"}`)
	m.set.GetOrCreateCounter(`podrun_pool_misses_total{function="` + f + `"}`)
	m.functionSeries(function)
}

// ObservePodman records how long one Podman API call took.
func (m *Metrics) ObservePodman(op string, d time.Duration) {
	m.set.GetOrCreatePrometheusHistogram(`podrun_podman_request_duration_seconds{op="` + labelValue(op) + `"}`).Update(d.Seconds())
}

func (m *Metrics) transitions(to runner.State) *metrics.Counter {
	return m.set.GetOrCreateCounter(`podrun_agent_transitions_total{to="` + labelValue(string(to)) + `"}`)
}

func (m *Metrics) removed(kind string) *metrics.Counter {
	return m.set.GetOrCreateCounter(`podrun_sweeper_removed_total{kind="` + labelValue(kind) + `"}`)
}

// observeHTTP records one served request; route is a pattern, never a raw path, to bound cardinality.
func (m *Metrics) observeHTTP(route string, code int, d time.Duration) {
	r := labelValue(route)
	m.set.GetOrCreateCounter(`podrun_http_requests_total{route="` + r + `",code="` + strconv.Itoa(code) + `"}`).Inc()
	m.set.GetOrCreatePrometheusHistogram(`podrun_http_request_duration_seconds{route="` + r + `"}`).Update(d.Seconds())
}

// writeAgents writes the podrun_agents gauge for every live state, zero
// included. Finished agents are left out: their rows stay for
// cleanup.retention (days), so their count says how long podrun keeps history,
// not what it is doing; podrun_agent_transitions_total counts how agents end.
func writeAgents(w io.Writer, counts map[runner.State]int) {
	metrics.WriteMetadataIfNeeded(w, "podrun_agents", "gauge")
	for _, st := range runner.LiveStates {
		fmt.Fprintf(w, "podrun_agents{state=\"%s\"} %d\n", labelValue(string(st)), counts[st])
	}
}

// labelEscaper applies the exposition format's escapes; Go's %q would emit \u sequences scrapers reject.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func labelValue(s string) string { return labelEscaper.Replace(s) }
