package runner

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
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) AgentCreated()      {}
func (NopObserver) Transitioned(State) {}
func (NopObserver) Expired()           {}
func (NopObserver) Removed(string)     {}
