package runner

import (
	"fmt"
	"slices"
	"time"
)

// Sample is one reading of a running container's resource use, as the
// resource monitor takes it for many containers at once (Sandbox.Sample).
// Counters are cumulative since the container started; a field the sandbox
// cannot read on its host is zero.
type Sample struct {
	MemoryUsage uint64 // bytes now
	MemoryLimit uint64 // bytes; the engine's view of the limit
	MemoryPeak  uint64 // the memory cgroup's high-water mark in bytes; 0 if unknown
	CPUNanos    uint64 // CPU time used, user and system
	PIDs        uint64 // processes and threads now, as the host's pids cgroup counts them
	// PIDsLimit is the limit the pids cgroup enforces (pids.max); 0 if
	// unknown. Under gVisor PIDs counts gVisor's own threads and processes,
	// and this limit is the agent's plus the room the sandbox gives them.
	PIDsLimit  uint64
	BlockRead  uint64 // bytes read from block devices
	BlockWrite uint64 // bytes written to block devices
	// Periods and ThrottledPeriods are the CFS scheduler's counts of
	// enforcement periods and of those in which the CPU limit throttled the
	// container (cgroup cpu.stat nr_periods and nr_throttled).
	Periods          uint64
	ThrottledPeriods uint64
	// TmpUsed and TmpSize are the bytes used and the size of the container's
	// /tmp; TmpSize is 0 if unknown.
	TmpUsed uint64
	TmpSize uint64
	// OOMKills is the kernel's count of OOM kills in the container's memory cgroup.
	OOMKills uint64
}

// Usage is what the resource monitor knows of one agent's use of resources:
// its latest sample and the peaks since it started. It is kept after the agent ends.
type Usage struct {
	AgentID   string
	SampledAt time.Time // the latest sample
	Samples   int       // how many samples were taken
	// Latest values.
	MemoryBytes uint64
	PIDs        uint64
	CPUPercent  float64 // share of one core between the last two samples (100 is a full core)
	TmpUsed     uint64
	TmpSize     uint64
	// Peaks and totals.
	MemoryPeak        uint64
	PIDsPeak          uint64
	CPUSeconds        float64
	BlockRead         uint64
	BlockWrite        uint64
	MemoryByteSeconds float64 // memory in use integrated over the time between samples
	// Periods and ThrottledPeriods are the CFS counters of the latest sample,
	// kept so the next sample can tell the share throttled in between.
	Periods          uint64
	ThrottledPeriods uint64
	// OOMKills is the kernel's count of OOM kills at the latest sample.
	OOMKills uint64
	// Alerts are the kinds (AlertMemory, ...) above their threshold now, in AlertKinds order.
	Alerts []string
}

// Alert kinds: which threshold an alert or resolved event is about (its Event.Name).
const (
	AlertMemory       = "memory"        // memory in use against the memory limit
	AlertPIDs         = "pids"          // processes and threads against the pids limit
	AlertCPUThrottled = "cpu_throttled" // CFS periods throttled against all periods since the previous sample
	AlertTmp          = "tmp"           // bytes used of the /tmp tmpfs against its size
)

// AlertKinds lists every alert kind.
var AlertKinds = []string{AlertMemory, AlertPIDs, AlertCPUThrottled, AlertTmp}

// Thresholds are the fractions (of a limit) at which the monitor raises an
// alert; 0 turns a kind off. An alert is resolved once its value falls below
// the threshold minus Hysteresis, so a value hovering at the line does not
// raise it again and again.
type Thresholds struct {
	Memory       float64 // of the memory limit
	PIDs         float64 // of the pids limit
	CPUThrottled float64 // of CFS periods throttled over the interval
	Tmp          float64 // of /tmp's size
	Hysteresis   float64
}

func (t Thresholds) of(kind string) float64 {
	switch kind {
	case AlertMemory:
		return t.Memory
	case AlertPIDs:
		return t.PIDs
	case AlertCPUThrottled:
		return t.CPUThrottled
	case AlertTmp:
		return t.Tmp
	}
	return 0
}

func (t Thresholds) validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"Thresholds.Memory", t.Memory}, {"Thresholds.PIDs", t.PIDs}, {"Thresholds.CPUThrottled", t.CPUThrottled}, {"Thresholds.Tmp", t.Tmp}} {
		if f.v < 0 || f.v > 1 {
			return invalid(f.name, "must be between 0 (off) and 1")
		}
	}
	if t.Hysteresis < 0 || t.Hysteresis >= 1 {
		return invalid("Thresholds.Hysteresis", "must be at least 0 and below 1")
	}
	return nil
}

// reading is one kind's value against its limit in one sample; ok is false
// when the sample cannot say (no limit, no periods, /tmp unknown).
type reading struct {
	value, limit float64
	ok           bool
	oom          bool // the kernel OOM-killed a process since the previous sample: the value is the limit
}

func (r reading) ratio() float64 { return r.value / r.limit }

// update folds sample s, taken at now, into the agent's usage u (zero for its
// first sample) and returns the new usage with the readings alerts judge.
func (u Usage) update(s Sample, limits Limits, now time.Time) (Usage, map[string]reading) {
	next := u
	next.Samples++
	next.SampledAt = now
	next.MemoryBytes, next.PIDs = s.MemoryUsage, s.PIDs
	next.TmpUsed, next.TmpSize = s.TmpUsed, s.TmpSize
	next.MemoryPeak = max(u.MemoryPeak, s.MemoryUsage, s.MemoryPeak)
	next.PIDsPeak = max(u.PIDsPeak, s.PIDs)
	next.CPUSeconds = max(u.CPUSeconds, float64(s.CPUNanos)/1e9)
	next.BlockRead, next.BlockWrite = max(u.BlockRead, s.BlockRead), max(u.BlockWrite, s.BlockWrite)
	next.Periods, next.ThrottledPeriods = s.Periods, s.ThrottledPeriods
	next.OOMKills = max(u.OOMKills, s.OOMKills)
	next.CPUPercent = 0
	if !u.SampledAt.IsZero() && now.After(u.SampledAt) {
		gap := now.Sub(u.SampledAt).Seconds()
		next.CPUPercent = (next.CPUSeconds - u.CPUSeconds) / gap * 100
		next.MemoryByteSeconds += float64(u.MemoryBytes+s.MemoryUsage) / 2 * gap
	}
	memLimit := float64(limits.Memory)
	if memLimit <= 0 {
		memLimit = float64(s.MemoryLimit)
	}
	pidsLimit := float64(limits.PIDs)
	if s.PIDsLimit > 0 {
		pidsLimit = float64(s.PIDsLimit) // what the kernel counts PIDs against
	}
	r := map[string]reading{
		AlertMemory: {value: float64(s.MemoryUsage), limit: memLimit, ok: memLimit > 0},
		AlertPIDs:   {value: float64(s.PIDs), limit: pidsLimit, ok: pidsLimit > 0},
		AlertTmp:    {value: float64(s.TmpUsed), limit: float64(s.TmpSize), ok: s.TmpSize > 0},
	}
	// Memory an OOM kill freed says nothing of restraint: the agent reached its limit.
	if s.OOMKills > u.OOMKills && memLimit > 0 {
		r[AlertMemory] = reading{value: memLimit, limit: memLimit, ok: true, oom: true}
	}
	// Throttling is judged over the interval, so the first sample has nothing to compare with.
	if u.Samples > 0 && s.Periods > u.Periods && s.ThrottledPeriods >= u.ThrottledPeriods {
		r[AlertCPUThrottled] = reading{value: float64(s.ThrottledPeriods - u.ThrottledPeriods), limit: float64(s.Periods - u.Periods), ok: true}
	}
	return next, r
}

// alertChange is one alert raised or resolved by a sample.
type alertChange struct {
	kind      string
	raised    bool // false: resolved
	at        reading
	threshold float64
}

// judge compares the readings with the thresholds, given the kinds alerting
// before, and returns the kinds alerting now and what changed. A kind with
// no reading keeps its state.
func (t Thresholds) judge(before []string, readings map[string]reading) (now []string, changes []alertChange) {
	for _, kind := range AlertKinds {
		was := slices.Contains(before, kind)
		th := t.of(kind)
		r, ok := readings[kind]
		is := was
		switch {
		case th <= 0:
			is = false
		case !ok || !r.ok:
		case was:
			is = r.ratio() >= th-t.Hysteresis
		default:
			is = r.ratio() >= th
		}
		if is {
			now = append(now, kind)
		}
		if is != was && (ok && r.ok) {
			changes = append(changes, alertChange{kind: kind, raised: is, at: r, threshold: th})
		}
	}
	return now, changes
}

// detail is an alert or resolved event's Detail: the value, the limit and the threshold.
func (c alertChange) detail() string {
	pct := func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }
	var what string
	switch c.kind {
	case AlertMemory:
		what = fmt.Sprintf("memory %s of %s limit", mib(int64(c.at.value)), mib(int64(c.at.limit)))
		if c.at.oom {
			what = fmt.Sprintf("memory at its %s limit: the kernel OOM-killed a process", mib(int64(c.at.limit)))
		}
	case AlertPIDs:
		what = fmt.Sprintf("pids %.0f of %.0f limit", c.at.value, c.at.limit)
	case AlertCPUThrottled:
		what = fmt.Sprintf("cpu throttled in %.0f of %.0f periods", c.at.value, c.at.limit)
	case AlertTmp:
		what = fmt.Sprintf("/tmp %s of %s used", mib(int64(c.at.value)), mib(int64(c.at.limit)))
	}
	verb := "at or above"
	if !c.raised {
		verb = "below"
	}
	return fmt.Sprintf("%s (%s), %s threshold %s; value=%.0f limit=%.0f", what, pct(c.at.ratio()), verb, pct(c.threshold), c.at.value, c.at.limit)
}

// mib renders a byte count in MiB with one decimal, for event details.
func mib(n int64) string { return fmt.Sprintf("%.1fMi", float64(n)/(1<<20)) }
