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
	// Invoked counts one finished synchronous or asynchronous invocation; start is StartCold or
	// StartWarm, outcome the agent's final state or reason ("succeeded", "failed", "expired",
	// "oom", "output_limit", "client_gone", ...), d the time from request to exit.
	Invoked(function, start, outcome string, d time.Duration)
	// PoolTaken counts one invocation served by a warm container (hit) or not (miss).
	PoolTaken(function string, hit bool)
	// PoolSize reports how many prepared containers a function's pool holds now.
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
