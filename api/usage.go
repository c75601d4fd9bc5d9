package api

import (
	"net/url"
)

// Query parameters of GET /v1/usage.
const (
	QuerySince   = "since"    // RFC 3339 time, or a Go duration meaning that long before now; 24h before until by default
	QueryUntil   = "until"    // RFC 3339 time, or a duration before now; now by default
	QueryGroupBy = "group_by" // GroupByFunction (the default), GroupByState, or GroupByLabel followed by a label key
)

// Values of QueryGroupBy.
const (
	GroupByFunction = "function"
	GroupByState    = "state"
	GroupByLabel    = "label:"
)

// UsageOptions select GET /v1/usage; every field is optional.
type UsageOptions struct {
	Since, Until string // as QuerySince and QueryUntil
	GroupBy      string
}

// Query encodes the options as query parameters.
func (o UsageOptions) Query() url.Values {
	q := url.Values{}
	set(q, QuerySince, o.Since)
	set(q, QueryUntil, o.Until)
	set(q, QueryGroupBy, o.GroupBy)
	return q
}

// UsageSummary is the answer of GET /v1/usage: the agents created in [Since, Until), summed up per group.
type UsageSummary struct {
	Since   Time         `json:"since"`
	Until   Time         `json:"until"`
	GroupBy string       `json:"group_by"`
	Groups  []UsageGroup `json:"groups"` // by key; [] when no agent was created in the window
}

// UsageGroup sums up the agents of one group.
type UsageGroup struct {
	// Key is the function's name, the state, or the label's value; "" for agents without a
	// function (grouped by function) or without the label.
	Key string `json:"key"`
	// Agents counts the group's agents; States counts them by their state now.
	Agents int           `json:"agents"`
	States map[State]int `json:"states"`
	// Invocations counts the function invocations among them.
	Invocations InvocationCounts `json:"invocations"`
	// Duration describes the run times (start to end) of the agents that started and ended.
	Duration DurationSummary `json:"duration"`
	// ReservedCPUSeconds and ReservedMemoryByteSeconds are the limits held over those run times:
	// CPUs × seconds and bytes × seconds.
	ReservedCPUSeconds        float64 `json:"reserved_cpu_seconds"`
	ReservedMemoryByteSeconds float64 `json:"reserved_memory_byte_seconds"`
	// CPUSeconds, MemoryPeak (bytes, the largest of any agent) and MemoryByteSeconds come from
	// the resource monitor's samples; absent when it sampled none of the group's agents.
	CPUSeconds        *float64 `json:"cpu_seconds,omitempty"`
	MemoryPeak        *int64   `json:"memory_peak,omitempty"`
	MemoryByteSeconds *float64 `json:"memory_byte_seconds,omitempty"`
}

// InvocationCounts count a group's invocations by how their container was prepared and how they ended.
type InvocationCounts struct {
	Total int `json:"total"`
	Cold  int `json:"cold"`
	Warm  int `json:"warm"`
	// Outcomes counts ended invocations by outcome (succeeded, failed, expired, oom, ...).
	Outcomes map[string]int `json:"outcomes"`
}

// DurationSummary describes a set of run times, in seconds; P50 and P99 are nearest-rank percentiles.
type DurationSummary struct {
	Count        int     `json:"count"`
	TotalSeconds float64 `json:"total_seconds"`
	P50Seconds   float64 `json:"p50_seconds"`
	P99Seconds   float64 `json:"p99_seconds"`
}
