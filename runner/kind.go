package runner

// Kind is what an agent was created for; it decides how its container is
// run and what happens when it ends.
type Kind uint8

// The kinds of agent.
const (
	// KindPlain is an agent created by CreateAgent: its command runs as given,
	// and its container is kept for a grace period after it ends.
	KindPlain Kind = iota
	// KindSync is a synchronous invocation of a function: its caller streams
	// the body in and the output out, and waits for the end.
	KindSync
	// KindAsync is an asynchronous invocation of a function: accepted with its
	// body stored, run when a slot is free, its output kept as a Result.
	KindAsync
)

// Kind tells what the agent is for, from its Function and Async fields.
func (a Agent) Kind() Kind {
	switch {
	case a.Function == "":
		return KindPlain
	case a.Async:
		return KindAsync
	default:
		return KindSync
	}
}

// Invocation reports whether agents of this kind invoke a function: their
// command runs under podrun's shim, and their container serves that one
// request and is removed as soon as it ends.
func (k Kind) Invocation() bool { return k != KindPlain }

// String is "plain", "sync" or "async".
func (k Kind) String() string {
	switch k {
	case KindPlain:
		return "plain"
	case KindSync:
		return "sync"
	case KindAsync:
		return "async"
	}
	return "unknown"
}
