package runner

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"
)

// What a usage summary groups agents by (UsageQuery.GroupBy).
const (
	GroupByFunction = "function" // the function's name; "" for agents created with POST /v1/agents
	GroupByState    = "state"    // the agent's state now
	GroupByLabel    = "label:"   // followed by a label key: that label's value, "" for agents without it
)

// DefaultUsageWindow is how far back a summary reaches when its query sets no Since.
const DefaultUsageWindow = 24 * time.Hour

// UsageQuery selects the agents a usage summary counts: those created in [Since, Until).
type UsageQuery struct {
	Since, Until time.Time
	// GroupBy is GroupByFunction, GroupByState or GroupByLabel+key; "" is GroupByFunction.
	GroupBy string
}

// LabelKey is the label a GroupByLabel query groups by, or "".
func (q UsageQuery) LabelKey() string {
	key, _ := strings.CutPrefix(q.GroupBy, GroupByLabel)
	if key == q.GroupBy {
		return ""
	}
	return key
}

// validate fills in the defaults relative to now and names the first bad field.
func (q *UsageQuery) validate(now time.Time) error {
	if q.Until.IsZero() {
		q.Until = now
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-DefaultUsageWindow)
	}
	if !q.Since.Before(q.Until) {
		return invalid("since", "must be before until")
	}
	switch {
	case q.GroupBy == "":
		q.GroupBy = GroupByFunction
	case q.GroupBy == GroupByFunction, q.GroupBy == GroupByState:
	case strings.HasPrefix(q.GroupBy, GroupByLabel) && q.LabelKey() != "":
	default:
		return invalid("group_by", "must be function, state or label:KEY")
	}
	return nil
}

// UsageCell counts the agents of one group that share a state, a reason and
// a start: the store's aggregate, from which SummarizeUsage builds a group.
type UsageCell struct {
	Key        string // the group under the query's GroupBy
	Invocation bool   // the agents invoked a function
	State      State
	Reason     string
	Start      string // StartCold or StartWarm for invocations
	Agents     int
	// Runs counts the agents that started and ended; RunTime sums their run
	// times, ReservedCPUSeconds and ReservedMemorySeconds their limits held over them.
	Runs                  int
	RunTime               time.Duration
	ReservedCPUSeconds    float64
	ReservedMemorySeconds float64
	// CPUSeconds, MemoryPeak (bytes, the largest) and MemorySeconds
	// (byte-seconds) aggregate the resource monitor's measures; nil when it sampled none of the agents.
	CPUSeconds    *float64
	MemoryPeak    *int64
	MemorySeconds *float64
}

// UsageTally is what the store answers for a usage summary: the cells, and
// per group the nearest-rank 50th and 99th percentiles of the run times.
type UsageTally struct {
	Cells    []UsageCell
	P50, P99 map[string]time.Duration
}

// UsageSummary is a summary of the agents created in [Since, Until), by group.
type UsageSummary struct {
	Since, Until time.Time
	GroupBy      string
	Groups       []UsageGroup // by Key
}

// UsageGroup sums up the agents of one group.
type UsageGroup struct {
	Key    string
	Agents int
	// States counts the group's agents by their state now (final, or live for those still running).
	States map[State]int
	// Invocations counts the agents that invoked a function, by how their
	// container was prepared and how they ended (Outcome; live ones are not in Outcomes).
	Invocations, Cold, Warm int
	Outcomes                map[string]int
	// Durations is the run time (start to end) of the agents that started and ended.
	Durations DurationSummary
	// ReservedCPUSeconds and ReservedMemorySeconds are the limits held over
	// those run times: CPUs × seconds and bytes × seconds.
	ReservedCPUSeconds    float64
	ReservedMemorySeconds float64
	// CPUSeconds, MemoryPeak and MemorySeconds sum (peak: maximum) the
	// monitor's measures; nil when no agent of the group was sampled.
	CPUSeconds    *float64
	MemoryPeak    *int64
	MemorySeconds *float64
}

// DurationSummary describes a set of run times; P50 and P99 are nearest-rank percentiles.
type DurationSummary struct {
	Count           int
	Total, P50, P99 time.Duration
}

// Usage summarizes the agents created in the query's window, per group.
func (r *Runner) Usage(ctx context.Context, q UsageQuery) (UsageSummary, error) {
	if err := q.validate(r.now()); err != nil {
		return UsageSummary{}, err
	}
	return SummarizeUsage(ctx, r.store, q)
}

// SummarizeUsage asks store for q's tally and builds the groups; q must be valid.
func SummarizeUsage(ctx context.Context, store Store, q UsageQuery) (UsageSummary, error) {
	tally, err := store.UsageTally(ctx, q)
	if err != nil {
		return UsageSummary{}, err
	}
	groups := map[string]*UsageGroup{}
	for _, c := range tally.Cells {
		g := groups[c.Key]
		if g == nil {
			g = &UsageGroup{Key: c.Key, States: map[State]int{}, Outcomes: map[string]int{}}
			groups[c.Key] = g
		}
		g.add(c)
	}
	u := UsageSummary{Since: q.Since, Until: q.Until, GroupBy: q.GroupBy, Groups: make([]UsageGroup, 0, len(groups))}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		g := groups[key]
		g.Durations.P50, g.Durations.P99 = tally.P50[key], tally.P99[key]
		u.Groups = append(u.Groups, *g)
	}
	return u, nil
}

// add counts one cell into its group.
func (g *UsageGroup) add(c UsageCell) {
	g.Agents += c.Agents
	g.States[c.State] += c.Agents
	if c.Invocation {
		g.Invocations += c.Agents
		switch c.Start {
		case StartWarm:
			g.Warm += c.Agents
		case StartCold:
			g.Cold += c.Agents
		}
		if o := Outcome(Agent{State: c.State, Reason: c.Reason}); o != "" && !c.State.Live() {
			g.Outcomes[o] += c.Agents
		}
	}
	g.Durations.Count += c.Runs
	g.Durations.Total += c.RunTime
	g.ReservedCPUSeconds += c.ReservedCPUSeconds
	g.ReservedMemorySeconds += c.ReservedMemorySeconds
	if c.CPUSeconds != nil {
		g.CPUSeconds = ptrTo(deref(g.CPUSeconds) + *c.CPUSeconds)
	}
	if c.MemoryPeak != nil && (g.MemoryPeak == nil || *c.MemoryPeak > *g.MemoryPeak) {
		g.MemoryPeak = ptrTo(*c.MemoryPeak)
	}
	if c.MemorySeconds != nil {
		g.MemorySeconds = ptrTo(deref(g.MemorySeconds) + *c.MemorySeconds)
	}
}

func ptrTo[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
