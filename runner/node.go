package runner

import (
	"context"
	"slices"
	"strings"
)

// Node describes this podrun instance as one node of a fleet: who it is,
// the container host under it, what it can hold and what it holds now. A
// gateway over many hosts lists one Node per instance.
type Node struct {
	// Instance is the persistent id of this installation (its data dir), the
	// podrun.instance label of every container it creates.
	Instance string
	// Host is what the container service said at Open.
	Host Host
	// LimitsEnforced says whether agents' memory, CPU and PID limits hold on this host.
	LimitsEnforced bool
	Capacity       NodeCapacity
	InUse          NodeUse
}

// NodeCapacity is what the node may hold: the host's size and podrun's configured maxima.
type NodeCapacity struct {
	// CPUs and Memory (bytes) are the container host's, as its service reports them; 0 if unknown.
	CPUs   int
	Memory int64
	// MaxAgentLimits are the largest limits one agent may ask for.
	MaxAgentLimits Limits
	// MaxConcurrency is how many invocations run at once (0: no limit);
	// QueueLength how many may wait for a slot.
	MaxConcurrency, QueueLength int
}

// NodeUse is what the node holds now.
type NodeUse struct {
	// LiveAgents counts the agents in a live state; States counts them per state.
	LiveAgents int
	States     map[State]int
	// ReservedMemory (bytes), ReservedCPUs and ReservedPIDs sum the limits of the live agents.
	ReservedMemory int64
	ReservedCPUs   float64
	ReservedPIDs   int64
	// WarmContainers counts containers prepared for functions and not yet taken; Pools says per function.
	WarmContainers int
	Pools          []PoolFill // by function
}

// PoolFill is how full one function's warm pool is.
type PoolFill struct {
	Function string
	Ready    int // containers waiting to be taken
	Target   int // the function's warm setting
}

// Node describes this instance now; the live agents are read from the store.
func (r *Runner) Node(ctx context.Context) (Node, error) {
	live, err := r.store.LiveAgents(ctx)
	if err != nil {
		return Node{}, err
	}
	n := Node{
		Instance:       r.cfg.Instance,
		Host:           r.host,
		LimitsEnforced: r.enforced,
		Capacity: NodeCapacity{
			CPUs: r.host.CPUs, Memory: r.host.Memory, MaxAgentLimits: r.cfg.Policy.Max,
		},
		InUse: NodeUse{LiveAgents: len(live), States: map[State]int{}, Pools: r.pools.fills()},
	}
	n.Host.Controllers = slices.Clone(r.host.Controllers)
	if l := r.cfg.Limiter; l != nil {
		n.Capacity.MaxConcurrency, n.Capacity.QueueLength = l.global, l.queue
	}
	for _, st := range LiveStates {
		n.InUse.States[st] = 0
	}
	for _, a := range live {
		n.InUse.States[a.State]++
		n.InUse.ReservedMemory += a.Limits.Memory
		n.InUse.ReservedCPUs += a.Limits.CPUs
		n.InUse.ReservedPIDs += a.Limits.PIDs
	}
	for _, p := range n.InUse.Pools {
		n.InUse.WarmContainers += p.Ready
	}
	return n, nil
}

// fills reports every warm pool's fill, by function.
func (ps *warmPools) fills() []PoolFill {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]PoolFill, 0, len(ps.m))
	for name, p := range ps.m {
		out = append(out, PoolFill{Function: name, Ready: len(p.ready), Target: p.fn.Warm})
	}
	slices.SortFunc(out, func(a, b PoolFill) int { return strings.Compare(a.Function, b.Function) })
	return out
}
