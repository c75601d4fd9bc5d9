package sandbox

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/podrun/podrun/runner"
)

// logParser turns Podman's multiplexed log frames into numbered lines.
//
// Each frame is an 8-byte header (stream, 0, 0, 0, big-endian length) and
// one entry of the container's log: with timestamps asked for, "<RFC 3339
// time> <text>", ending in a newline if the entry ended a line. Conmon
// writes a long line (over 8 KiB) as several entries, and a line written in
// pieces as one entry per piece; stdout's and stderr's pieces can come in
// between each other. The parser joins each stream's pieces into lines and
// numbers the lines as they end, so every read of the same log from its
// start numbers them the same.
type logParser struct {
	maxLine int
	emit    func(runner.LogLine) error
	// cutoff, if set, ends the read at the first entry logged after it.
	cutoff  time.Time
	seq     int64
	pending [2]pendingLine // stdout, stderr
	order   int            // counts line starts, to flush unfinished lines in order
	scratch []byte
}

// pendingLine is a line whose newline has not been read yet.
type pendingLine struct {
	open  bool
	start int // logParser.order when it began
	line  runner.LogLine
	text  []byte
}

// errEmit marks an error returned by the emit callback, which is passed on as it is.
type errEmit struct{ err error }

func (e errEmit) Error() string { return e.err.Error() }
func (e errEmit) Unwrap() error { return e.err }

// maxTimestamp bounds the time field of an entry ("2006-01-02T15:04:05.999999999+07:00" and a space).
const maxTimestamp = 40

// read parses frames from r until its end, the cutoff, or an error.
// At the end of the stream (not at the cutoff) unfinished lines are passed
// on, marked Partial: the process wrote them without a newline (yet).
func (p *logParser) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return p.flush()
			}
			return fmt.Errorf("read log frame: %w", err)
		}
		size := int(binary.BigEndian.Uint32(hdr[4:]))
		var stream runner.LogStream
		switch hdr[0] {
		case 0, 1:
			stream = runner.Stdout
		case 2:
			stream = runner.Stderr
		case 3: // the service reports an error in the stream
			msg := make([]byte, min(size, 4096))
			_, _ = io.ReadFull(br, msg)
			return fmt.Errorf("from service in log stream: %s", bytes.TrimSpace(msg))
		default:
			return fmt.Errorf("log frame of unknown stream %d", hdr[0])
		}
		stop, err := p.frame(br, stream, size)
		if err != nil || stop {
			return err
		}
	}
}

// frame reads one entry of size bytes; stop is true once past the cutoff.
func (p *logParser) frame(br *bufio.Reader, stream runner.LogStream, size int) (stop bool, err error) {
	at, n := p.timestamp(br, size)
	if !p.cutoff.IsZero() && at.After(p.cutoff) {
		return true, nil
	}
	size -= n
	pl := &p.pending[stream>>1]
	if !pl.open {
		p.order++
		*pl = pendingLine{open: true, start: p.order, line: runner.LogLine{Time: at, Stream: stream}, text: pl.text[:0]}
	}
	// The text, without its last byte, which says whether the line ends here.
	for size > 1 {
		chunk := min(size-1, 32<<10)
		if cap(p.scratch) < chunk {
			p.scratch = make([]byte, chunk)
		}
		b := p.scratch[:chunk]
		if _, err := io.ReadFull(br, b); err != nil {
			return false, fmt.Errorf("read log entry: %w", err)
		}
		p.appendText(pl, b)
		size -= chunk
	}
	if size == 0 {
		return false, nil // an empty piece
	}
	last, err := br.ReadByte()
	if err != nil {
		return false, fmt.Errorf("read log entry: %w", err)
	}
	if last != '\n' {
		p.appendText(pl, []byte{last})
		return false, nil
	}
	return false, p.end(pl, false)
}

// timestamp reads the entry's time and the space after it, if the entry
// starts with one, and returns how many bytes it read.
func (p *logParser) timestamp(br *bufio.Reader, size int) (time.Time, int) {
	head, _ := br.Peek(min(size, maxTimestamp))
	sp := bytes.IndexByte(head, ' ')
	if sp < 0 {
		return time.Time{}, 0
	}
	at, err := time.Parse(time.RFC3339Nano, string(head[:sp]))
	if err != nil {
		return time.Time{}, 0
	}
	_, _ = br.Discard(sp + 1)
	return at.UTC(), sp + 1
}

// appendText adds b to the line, cutting it at maxLine.
func (p *logParser) appendText(pl *pendingLine, b []byte) {
	if room := p.maxLine - len(pl.text); len(b) > room {
		b, pl.line.Cut = b[:max(room, 0)], true
	}
	pl.text = append(pl.text, b...)
}

// end numbers and passes on a finished (or, at the end, unfinished) line.
func (p *logParser) end(pl *pendingLine, partial bool) error {
	p.seq++
	l := pl.line
	l.Seq, l.Text, l.Partial = p.seq, string(pl.text), partial
	pl.open = false
	if err := p.emit(l); err != nil {
		return errEmit{err}
	}
	return nil
}

// flush passes on the unfinished lines, the one begun first first.
func (p *logParser) flush() error {
	out, errs := &p.pending[0], &p.pending[1]
	first, second := out, errs
	if errs.open && (!out.open || errs.start < out.start) {
		first, second = errs, out
	}
	for _, pl := range []*pendingLine{first, second} {
		if pl.open {
			if err := p.end(pl, true); err != nil {
				return err
			}
		}
	}
	return nil
}
