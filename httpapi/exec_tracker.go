package httpapi

import (
	"context"
	"sync"
	"time"
)

// execTracker lets the server end its exec sessions when it shuts down: their connections are
// hijacked, so http.Server.Shutdown neither waits for nor cancels them.
type execTracker struct {
	ctx    context.Context // ended by EndExecs
	cancel context.CancelFunc

	mu     sync.Mutex
	n      int           // sessions running
	closed bool          // EndExecs was called: no new session
	idle   chan struct{} // closed when n falls to 0 after EndExecs
}

func newExecTracker() *execTracker {
	ctx, cancel := context.WithCancel(context.Background())
	return &execTracker{ctx: ctx, cancel: cancel, idle: make(chan struct{})}
}

// begin counts a new session in; false once the server is shutting down.
func (t *execTracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.n++
	return true
}

func (t *execTracker) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 && t.closed {
		close(t.idle)
	}
}

// EndExecs ends every exec WebSocket (killing their commands' trees), refuses new ones with
// 503, and waits for them, at most for grace; it reports whether they all ended in time.
// Later calls only wait.
func (s *Server) EndExecs(grace time.Duration) bool {
	t := s.execs
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		if t.n == 0 {
			close(t.idle)
		}
	}
	t.mu.Unlock()
	t.cancel()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-t.idle:
		return true
	case <-timer.C:
		return false
	}
}
