package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// monitor owns the resource monitor's state: the usage of every agent it is
// watching and which alerts are up. One sample covers every running agent of
// this instance with one Sandbox.Sample call; the loop that calls it lives in
// package ttl. The usage is stored after every sample, so it outlives the
// agent and a restart of podrun (which reloads it, keeping the alerts up
// without raising them again).
type monitor struct {
	sb    Sandbox
	store Store
	j     *journal
	obs   Observer
	log   *slog.Logger
	th    Thresholds

	mu      sync.Mutex          // one pass (or exit reading) at a time
	watched map[string]*watched // by agent ID
}

// watched is the monitor's view of one running agent.
type watched struct {
	function string
	usage    Usage
}

func newMonitor(sb Sandbox, store Store, j *journal, obs Observer, log *slog.Logger, th Thresholds) *monitor {
	return &monitor{sb: sb, store: store, j: j, obs: obs, log: log, th: th, watched: map[string]*watched{}}
}

// SampleUsage takes one sample of every running agent: it stores each one's
// usage, appends an EventAlert or EventResolved event for each threshold an
// agent crossed, and returns how many agents it sampled. Calls run one at a
// time (the loop in package ttl makes them one after the other; it skips
// ticks rather than queue them).
func (r *Runner) SampleUsage(ctx context.Context) (int, error) { return r.monitor.sample(ctx) }

func (m *monitor) sample(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	start := time.Now()
	running, err := m.running(ctx)
	if err != nil {
		return 0, err
	}
	n, err := m.sampleAgents(ctx, running)
	m.obs.Sampled(time.Since(start), n)
	return n, err
}

// running returns the agents to sample and lets go of those that ended,
// reporting their memory peak.
func (m *monitor) running(ctx context.Context) ([]Agent, error) {
	live, err := m.store.LiveAgents(ctx)
	if err != nil {
		return nil, fmt.Errorf("sample usage: %w", err)
	}
	var running []Agent
	ids := map[string]bool{}
	for _, a := range live {
		if a.State == StateRunning && a.ContainerID != "" {
			running = append(running, a)
			ids[a.ID] = true
		}
	}
	for id, w := range m.watched {
		if !ids[id] {
			m.obs.MemoryPeak(w.function, w.usage.MemoryPeak)
			delete(m.watched, id)
		}
	}
	return running, nil
}

func (m *monitor) sampleAgents(ctx context.Context, running []Agent) (int, error) {
	if len(running) == 0 {
		return 0, nil
	}
	ids := make([]string, len(running))
	for i, a := range running {
		ids[i] = a.ContainerID
	}
	samples, err := m.sb.Sample(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("sample usage of %d containers: %w", len(ids), err)
	}
	now := m.j.now()
	var saves []Usage
	for _, a := range running {
		s, ok := samples[a.ContainerID]
		if !ok {
			continue // it stopped since the list: its last usage stays
		}
		w := m.watch(ctx, a)
		next, readings := w.usage.update(s, a.Limits, now)
		var changes []alertChange
		next.Alerts, changes = m.th.judge(w.usage.Alerts, readings)
		if d := next.CPUSeconds - w.usage.CPUSeconds; d > 0 {
			m.obs.UsedCPU(a.Function, d)
		}
		for _, c := range changes {
			m.j.alert(ctx, a.ID, c, now)
			if c.raised {
				m.obs.Alerted(a.Function, c.kind)
			}
		}
		w.usage = next
		saves = append(saves, next)
	}
	if err := m.store.SaveUsage(ctx, saves); err != nil {
		return len(saves), fmt.Errorf("save usage: %w", err)
	}
	return len(saves), nil
}

// atExit folds the reading the sandbox took as a's process ended into its
// usage, as its last sample. It judges no threshold: the process is gone, so
// its last alert stays the last word (an OOM-killed agent's memory alert is
// not resolved by the memory freed at its death). It waits for a pass in
// progress, so the two never write over each other. An agent no pass
// sampled has its memory peak reported here; one a pass watches, when the
// pass lets go of it.
func (m *monitor) atExit(ctx context.Context, a Agent, s Sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, watching := m.watched[a.ID]
	if !watching {
		w = &watched{function: a.Function, usage: Usage{AgentID: a.ID}}
		if u, err := m.store.Usage(ctx, a.ID); err == nil {
			w.usage = u // let go of already, its peak reported
		}
	}
	now := m.j.now()
	next, readings := w.usage.update(s, a.Limits, now)
	next.TmpUsed, next.TmpSize = w.usage.TmpUsed, w.usage.TmpSize // unreadable once the process is gone
	// An OOM kill no pass saw coming still gets its memory alert, the agent's last word.
	if r := readings[AlertMemory]; r.oom && !slices.Contains(next.Alerts, AlertMemory) {
		c := alertChange{kind: AlertMemory, raised: true, at: r, threshold: m.th.Memory}
		m.j.alert(ctx, a.ID, c, now)
		m.obs.Alerted(a.Function, AlertMemory)
		next.Alerts = append(slices.Clone(next.Alerts), AlertMemory)
	}
	if d := next.CPUSeconds - w.usage.CPUSeconds; d > 0 {
		m.obs.UsedCPU(a.Function, d)
	}
	if !watching && w.usage.Samples == 0 {
		m.obs.MemoryPeak(a.Function, next.MemoryPeak)
	}
	w.usage = next
	if err := m.store.SaveUsage(ctx, []Usage{next}); err != nil && ctx.Err() == nil {
		m.log.Warn("save usage at exit", logAgent, a.ID, logErr, err)
	}
}

// watch returns the monitor's record of a, loading what an earlier run of
// podrun stored so its peaks and alerts carry over.
func (m *monitor) watch(ctx context.Context, a Agent) *watched {
	if w := m.watched[a.ID]; w != nil {
		return w
	}
	w := &watched{function: a.Function, usage: Usage{AgentID: a.ID}}
	u, err := m.store.Usage(ctx, a.ID)
	switch {
	case err == nil:
		w.usage = u
	case !errors.Is(err, ErrNotFound):
		m.log.Warn("load usage", logAgent, a.ID, logErr, err)
	}
	m.watched[a.ID] = w
	return w
}

// alert appends an EventAlert or EventResolved event; a failure is logged, not fatal.
func (j *journal) alert(ctx context.Context, id string, c alertChange, at time.Time) {
	typ := EventResolved
	if c.raised {
		typ = EventAlert
		j.log.Warn("agent resource alert", logAgent, id, logKind, c.kind, logDetail, c.detail())
	}
	err := j.append(ctx, Event{AgentID: id, Time: at, Type: typ, Name: c.kind, Detail: c.detail()})
	if err != nil && ctx.Err() == nil {
		j.log.Warn("append event", logAgent, id, logKind, c.kind, logErr, err)
	}
}
