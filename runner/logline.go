package runner

import (
	"fmt"
	"time"
)

// MaxLogLine caps one line of output as podrun hands it out, in bytes: a
// longer line is cut to its first MaxLogLine bytes and marked Cut, so a
// tail of N lines is at most N times this, however long the lines written.
const MaxLogLine = 64 << 10

// LogStream names an output stream of a container's process, or a set of them.
type LogStream uint8

// The streams; Stdout|Stderr selects both.
const (
	Stdout LogStream = 1 << iota
	Stderr

	BothStreams = Stdout | Stderr
)

// String is "stdout", "stderr" or "both".
func (s LogStream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	case BothStreams:
		return "both"
	}
	return fmt.Sprintf("LogStream(%d)", uint8(s))
}

// ParseLogStreams reads the stream selection of a logs request: "stdout",
// "stderr", or "both" ("all" and "" mean both too).
func ParseLogStreams(v string) (LogStream, error) {
	switch v {
	case "", "all", "both":
		return BothStreams, nil
	case "stdout":
		return Stdout, nil
	case "stderr":
		return Stderr, nil
	}
	return 0, invalid("stream", "must be stdout, stderr or both")
}

// LogLine is one line of a container's output.
type LogLine struct {
	// Seq is the line's position in the container's log, from 1, counting
	// both streams; 0 for output saved by a podrun that did not number lines.
	Seq int64
	// Time is when the engine logged the line (Podman 4.3 gives whole
	// seconds); zero for output saved by a podrun that did not keep it.
	Time   time.Time
	Stream LogStream
	// Text is the line without its newline.
	Text string
	// Partial says the output ended without a newline after Text: the
	// process had not finished the line (or never did).
	Partial bool
	// Cut says Text is only the start of a longer line (see MaxLogLine).
	Cut bool
}

// LogOptions select what Runner.Logs passes on.
type LogOptions struct {
	// Follow keeps passing lines as they are logged until the process's
	// output ends (every line it wrote included) or ctx is done.
	Follow bool
	// Tail limits the output to the last Tail lines of the selected streams,
	// counted together; 0 means all. With Follow, new lines follow them.
	Tail int
	// Streams selects stdout, stderr or both; zero means both.
	Streams LogStream
}

// LogRead says how Sandbox.Logs reads a container's log.
type LogRead struct {
	// Follow keeps reading until the container has ended; without it the
	// read stops at the end of the log, or at lines logged more than about a
	// second after the read began, so a container writing without pause
	// cannot make it last for ever.
	Follow bool
	// MaxLine cuts longer lines (marking them Cut); 0 means MaxLogLine.
	MaxLine int
}
