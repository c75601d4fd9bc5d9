package httpapi

import (
	"net/http"
	"net/url"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// usage answers GET /v1/usage: the agents created in [since, until), summed up per group.
func (s *Server) usage(w http.ResponseWriter, r *http.Request) {
	q, err := usageQueryIn(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	u, err := s.svc.Usage(r.Context(), q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, usageSummaryOut(u))
}

// usageQueryIn reads since, until (an RFC 3339 time, or a duration meaning
// that long before now) and group_by; the runner fills in the defaults and
// judges the values.
func usageQueryIn(q url.Values, now time.Time) (runner.UsageQuery, error) {
	out := runner.UsageQuery{GroupBy: q.Get(api.QueryGroupBy)}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{api.QuerySince, &out.Since}, {api.QueryUntil, &out.Until}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			*p.dst = t.UTC()
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return out, &runner.FieldError{Field: p.name, Message: `must be an RFC 3339 time or a duration before now, like "1h"`}
		}
		*p.dst = now.Add(-d).UTC()
	}
	return out, nil
}

func usageSummaryOut(u runner.UsageSummary) api.UsageSummary {
	out := api.UsageSummary{Since: api.Time(u.Since), Until: api.Time(u.Until), GroupBy: u.GroupBy, Groups: make([]api.UsageGroup, len(u.Groups))}
	for i, g := range u.Groups {
		states := make(map[api.State]int, len(g.States))
		for st, n := range g.States {
			states[api.State(st)] = n
		}
		outcomes := make(map[string]int, len(g.Outcomes))
		for o, n := range g.Outcomes {
			outcomes[o] = n
		}
		out.Groups[i] = api.UsageGroup{
			Key: g.Key, Agents: g.Agents, States: states,
			Invocations: api.InvocationCounts{Total: g.Invocations, Cold: g.Cold, Warm: g.Warm, Outcomes: outcomes},
			Duration: api.DurationSummary{
				Count: g.Durations.Count, TotalSeconds: g.Durations.Total.Seconds(),
				P50Seconds: g.Durations.P50.Seconds(), P99Seconds: g.Durations.P99.Seconds(),
			},
			ReservedCPUSeconds: g.ReservedCPUSeconds, ReservedMemoryByteSeconds: g.ReservedMemorySeconds,
			CPUSeconds: g.CPUSeconds, MemoryPeak: g.MemoryPeak, MemoryByteSeconds: g.MemorySeconds,
		}
	}
	return out
}

// node answers GET /v1/node.
func (s *Server) node(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.Node(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, nodeOut(n))
}

func nodeOut(n runner.Node) api.Node {
	states := make(map[api.State]int, len(n.InUse.States))
	for st, c := range n.InUse.States {
		states[api.State(st)] = c
	}
	pools := make([]api.PoolFill, len(n.InUse.Pools))
	for i, p := range n.InUse.Pools {
		pools[i] = api.PoolFill{Function: p.Function, Ready: p.Ready, Target: p.Target}
	}
	return api.Node{
		Instance: n.Instance,
		Host: api.NodeHost{
			PodmanVersion: n.Host.Version, OCIRuntime: n.Host.Runtime, CgroupVersion: n.Host.CgroupVersion,
			Controllers: orEmpty(n.Host.Controllers), Rootless: n.Host.Rootless, LimitsEnforced: n.LimitsEnforced,
		},
		Capacity: api.Capacity{
			CPUs: n.Capacity.CPUs, Memory: n.Capacity.Memory,
			MaxAgentLimits: api.Limits{Memory: n.Capacity.MaxAgentLimits.Memory, CPUs: n.Capacity.MaxAgentLimits.CPUs, PIDs: n.Capacity.MaxAgentLimits.PIDs},
			MaxConcurrency: n.Capacity.MaxConcurrency, QueueLength: n.Capacity.QueueLength,
		},
		InUse: api.NodeUse{
			LiveAgents: n.InUse.LiveAgents, States: states,
			Reserved:       api.Limits{Memory: n.InUse.ReservedMemory, CPUs: n.InUse.ReservedCPUs, PIDs: n.InUse.ReservedPIDs},
			WarmContainers: n.InUse.WarmContainers, Pools: pools,
		},
	}
}
