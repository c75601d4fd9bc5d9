package runner

import (
	"bytes"
	"io"
)

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

// Write keeps at most the last max bytes, so a huge log costs bounded memory.
func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// Bytes returns the kept tail.
func (t *tailBuffer) Bytes() []byte { return t.buf }

// writeSavedLogs writes saved output, applying the tail option by lines.
func writeSavedLogs(opts LogOptions, stdout, stderr []byte, wout, werr io.Writer) error {
	for _, s := range []struct {
		data []byte
		w    io.Writer
	}{{stdout, wout}, {stderr, werr}} {
		if s.w == nil || len(s.data) == 0 {
			continue
		}
		if _, err := s.w.Write(lastLines(s.data, opts.Tail)); err != nil {
			return err
		}
	}
	return nil
}

// lastLines returns the last n lines of data, or all of it when n <= 0.
func lastLines(data []byte, n int) []byte {
	if n <= 0 {
		return data
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := 0; i < n; i++ {
		j := bytes.LastIndexByte(data[:end], '\n')
		if j < 0 {
			return data
		}
		end = j
	}
	return data[end+1:]
}
