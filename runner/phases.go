package runner

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Phases of a container's path, reported to Observer.Phase with the start
// (StartCold or StartWarm) so a slow start can be told apart on a
// dashboard. A cold start runs create, attach and start on the request's
// path; a warm one ran them ahead, when its pool was filled (reported then,
// under StartWarm), and hands the prepared container over instead.
const (
	PhaseCreate    = "create"     // the engine's create call
	PhaseAttach    = "attach"     // attaching the process's streams
	PhaseStart     = "start"      // the engine's start call
	PhaseHandover  = "handover"   // a warm container gets the request's streams
	PhaseFirstByte = "first_byte" // from start (or handover) to the first byte of output
	PhaseExit      = "exit"       // from the end of the output stream to the exit status known
	PhaseRemove    = "remove"     // the engine's remove call
)

// PathPhases lists every phase, in path order.
var PathPhases = []string{PhaseCreate, PhaseAttach, PhaseStart, PhaseHandover, PhaseFirstByte, PhaseExit, PhaseRemove}

// startOf is the start label of a's phases: plain agents start cold.
func startOf(a Agent) string {
	if a.Start == StartWarm {
		return StartWarm
	}
	return StartCold
}

// phase reports how long one phase of s's container took, since t.
func (s *supervisor) phase(name string, t time.Time) {
	s.sv.journal.obs.Phase(startOf(s.agent), name, time.Since(t))
}

// firstByte wraps an output writer to report the time from arm to the first
// byte written through it, once. Bytes written before arm are not timed.
type firstByte struct {
	w      io.Writer
	since  atomic.Int64 // unix nanos; 0 until armed
	once   sync.Once
	report func(time.Duration)
}

func newFirstByte(w io.Writer, report func(time.Duration)) *firstByte {
	return &firstByte{w: w, report: report}
}

func (f *firstByte) arm() { f.since.Store(time.Now().UnixNano()) }

func (f *firstByte) Write(p []byte) (int, error) {
	if len(p) > 0 {
		if since := f.since.Load(); since != 0 {
			f.once.Do(func() { f.report(time.Duration(time.Now().UnixNano() - since)) })
		}
	}
	return f.w.Write(p)
}
