package httpapi

import "sync/atomic"

// countCall adds one finished invocation of function to its count.
func (m *Metrics) countCall(function string) {
	c, ok := m.calls.Load(function)
	if !ok {
		c, _ = m.calls.LoadOrStore(function, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}

// FunctionCalls is how many invocations of function finished since the metrics were made (the
// daemon started), as podrun_invocations_total counts them over every start and outcome.
func (m *Metrics) FunctionCalls(function string) uint64 {
	if c, ok := m.calls.Load(function); ok {
		return c.(*atomic.Uint64).Load()
	}
	return 0
}
