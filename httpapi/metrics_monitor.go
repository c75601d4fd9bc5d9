package httpapi

import (
	"time"

	"github.com/podrun/podrun/runner"
)

// memoryPeakBuckets are the upper bounds of podrun_function_memory_peak_bytes, from 1 MiB to 8 GiB.
var memoryPeakBuckets = []float64{
	1 << 20, 4 << 20, 16 << 20, 32 << 20, 64 << 20, 128 << 20, 256 << 20, 512 << 20,
	1 << 30, 2 << 30, 4 << 30, 8 << 30,
}

// initMonitor creates the resource monitor's and the paths' series at zero,
// for plain agents (function "") and every phase, so dashboards and
// absent() work from the first scrape.
func (m *Metrics) initMonitor() {
	m.set.GetOrCreatePrometheusHistogram(`podrun_monitor_sample_duration_seconds`)
	m.set.GetOrCreateGauge(`podrun_monitor_agents`, nil)
	m.set.GetOrCreatePrometheusHistogram(`podrun_admission_wait_seconds`)
	m.functionSeries("")
	for _, start := range []string{runner.StartCold, runner.StartWarm} {
		for _, p := range runner.PathPhases {
			if start == runner.StartCold && p == runner.PhaseHandover {
				continue // a cold start hands nothing over
			}
			m.phase(start, p)
		}
	}
}

// functionSeries creates a function's resource series at zero.
func (m *Metrics) functionSeries(function string) {
	f := labelValue(function)
	m.set.GetOrCreateFloatCounter(`podrun_function_cpu_seconds_total{function="` + f + `"}`)
	m.set.GetOrCreatePrometheusHistogramExt(`podrun_function_memory_peak_bytes{function="`+f+`"}`, memoryPeakBuckets)
	for _, kind := range runner.AlertKinds {
		m.alerts(function, kind)
	}
}

// Sampled records one pass of the resource monitor.
func (m *Metrics) Sampled(d time.Duration, agents int) {
	m.set.GetOrCreatePrometheusHistogram(`podrun_monitor_sample_duration_seconds`).Update(d.Seconds())
	m.set.GetOrCreateGauge(`podrun_monitor_agents`, nil).Set(float64(agents))
}

// UsedCPU adds CPU seconds used by agents of function.
func (m *Metrics) UsedCPU(function string, seconds float64) {
	m.set.GetOrCreateFloatCounter(`podrun_function_cpu_seconds_total{function="` + labelValue(function) + `"}`).Add(seconds)
}

// MemoryPeak records one agent's memory peak under its function.
func (m *Metrics) MemoryPeak(function string, bytes uint64) {
	m.set.GetOrCreatePrometheusHistogramExt(`podrun_function_memory_peak_bytes{function="`+labelValue(function)+`"}`, memoryPeakBuckets).Update(float64(bytes))
}

// Alerted counts one alert of kind raised for an agent of function.
func (m *Metrics) Alerted(function, kind string) { m.alerts(function, kind).Inc() }

// Phase records how long one phase of a container's path took.
func (m *Metrics) Phase(start, phase string, d time.Duration) {
	m.phase(start, phase).Update(d.Seconds())
}

// ObserveLimiter exposes the admission limiter's queue length and records each admitted invocation's wait.
func (m *Metrics) ObserveLimiter(l *runner.Limiter) {
	m.set.GetOrCreateGauge(`podrun_admission_queue_length`, func() float64 { return float64(l.Queued()) })
	wait := m.set.GetOrCreatePrometheusHistogram(`podrun_admission_wait_seconds`)
	l.ObserveWaits(func(d time.Duration) { wait.Update(d.Seconds()) })
}

func (m *Metrics) alerts(function, kind string) interface{ Inc() } {
	return m.set.GetOrCreateCounter(`podrun_alerts_total{function="` + labelValue(function) + `",kind="` + labelValue(kind) + `"}`)
}

func (m *Metrics) phase(start, phase string) interface{ Update(float64) } {
	return m.set.GetOrCreatePrometheusHistogram(`podrun_phase_duration_seconds{start="` + labelValue(start) + `",phase="` + labelValue(phase) + `"}`)
}
