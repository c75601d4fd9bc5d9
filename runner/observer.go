package runner

import "time"

// Observer is told about what the runner does, for metrics. Methods must not block.
type Observer interface {
	// AgentCreated counts one accepted agent.
	AgentCreated()
	// Transitioned counts one state transition.
	Transitioned(to State)
	// Expired counts one agent killed at its deadline.
	Expired()
	// Removed counts one container removed by cleanup; kind is "expired", "terminated", "succeeded", "failed" or "orphan".
	Removed(kind string)
	// Invoked counts one finished synchronous or asynchronous invocation, once; start is
	// StartCold or StartWarm, outcome one of Outcomes (see Outcome), d the time from the
	// request (an asynchronous invocation's acceptance) to the end.
	Invoked(function, start, outcome string, d time.Duration)
	// PoolTaken counts one synchronous invocation served by a warm container (hit) or
	// not (miss, also every one of a function without a pool).
	PoolTaken(function string, hit bool)
	// PoolSize reports how many prepared containers a function's pool holds now; it is
	// reported for every function when it is set up, 0 for one without a pool.
	PoolSize(function string, n int)
	// Sampled reports one pass of the resource monitor: how long it took and how many agents it sampled.
	Sampled(d time.Duration, agents int)
	// UsedCPU adds CPU seconds an agent of function ("" for a plain agent) used since its previous sample.
	UsedCPU(function string, seconds float64)
	// MemoryPeak reports an agent's memory peak in bytes once, when the monitor stops watching it.
	MemoryPeak(function string, bytes uint64)
	// Alerted counts one alert raised for an agent of function; kind is one of AlertKinds.
	Alerted(function, kind string)
	// Phase reports how long one phase (PathPhases) of a container's path took; start is
	// StartCold or StartWarm (a warm pool's create, attach and start run when it fills).
	Phase(start, phase string, d time.Duration)
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) AgentCreated()                                 {}
func (NopObserver) Transitioned(State)                            {}
func (NopObserver) Expired()                                      {}
func (NopObserver) Removed(string)                                {}
func (NopObserver) Invoked(string, string, string, time.Duration) {}
func (NopObserver) PoolTaken(string, bool)                        {}
func (NopObserver) PoolSize(string, int)                          {}
func (NopObserver) Sampled(time.Duration, int)                    {}
func (NopObserver) UsedCPU(string, float64)                       {}
func (NopObserver) MemoryPeak(string, uint64)                     {}
func (NopObserver) Alerted(string, string)                        {}
func (NopObserver) Phase(string, string, time.Duration)           {}
