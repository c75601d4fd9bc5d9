package runner

import (
	"io"
	"sync"
)

// Capped is podrun's one bounded buffer for output that must not grow
// without limit: it passes on, or keeps, the first max bytes written to it
// and drops the rest, noting that it did. Write never fails, so the stream
// feeding it keeps draining, and the process's exit at its end is still
// seen, whatever the cap or the reader do. It is safe for concurrent use.
//
// The runner caps a synchronous invocation's answer and an asynchronous
// one's Result with it; sandboxes cap an exec's streams (ExecSpec.MaxOutput).
type Capped struct {
	mu        sync.Mutex
	w         io.Writer // nil: the bytes are kept, for Bytes
	kept      []byte
	limit     int64 // <= 0: no cap
	left      int64
	over      func()
	truncated bool
}

// NewCapped returns a Capped that keeps the first max bytes written to it
// (every byte if max <= 0), for Bytes.
func NewCapped(max int64) *Capped { return &Capped{limit: max, left: max} }

// NewCappedWriter returns a Capped that passes the first max bytes on to w
// (every byte if max <= 0) and calls over, if not nil, once, after the first
// write that went past max. A nil w discards; a w that fails is dropped:
// later bytes are discarded as if past the cap.
func NewCappedWriter(w io.Writer, max int64, over func()) *Capped {
	if w == nil {
		w = io.Discard
	}
	return &Capped{w: w, limit: max, left: max, over: over}
}

// Write takes what fits under the cap and reports all of p written.
func (c *Capped) Write(p []byte) (int, error) {
	n := len(p)
	c.mu.Lock()
	first := false
	if c.limit > 0 && int64(len(p)) > c.left {
		p = p[:max(c.left, 0)]
		first = !c.truncated
		c.truncated = true
	}
	c.left -= int64(len(p))
	switch {
	case len(p) == 0:
	case c.w == nil:
		c.kept = append(c.kept, p...)
	default:
		if _, err := c.w.Write(p); err != nil {
			c.w = io.Discard // the reader is gone; whoever owns it ends the stream
		}
	}
	c.mu.Unlock()
	if first && c.over != nil {
		c.over()
	}
	return n, nil
}

// Bytes returns what a Capped made by NewCapped kept.
func (c *Capped) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kept
}

// String returns Bytes as a string.
func (c *Capped) String() string { return string(c.Bytes()) }

// Truncated reports whether any byte was dropped at the cap.
func (c *Capped) Truncated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.truncated
}
