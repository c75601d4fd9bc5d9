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
