package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/podrun/podrun/runner"
)

// linesFormat is the first byte of an encoded lines blob. After it, each
// line is: uvarint Seq, varint Time in unix nanoseconds (0: unknown), one
// flags byte (the stream's bit, then flagPartial and flagCut), uvarint
// length of the text, the text.
const linesFormat = 1

const (
	flagPartial = 1 << 2
	flagCut     = 1 << 3
)

// encodeLines packs lines compactly; the text is kept byte for byte.
func encodeLines(lines []runner.LogLine) ([]byte, error) {
	size := 1
	for _, l := range lines {
		size += len(l.Text) + 2*binary.MaxVarintLen64 + 1 + binary.MaxVarintLen32
	}
	b := make([]byte, 1, size)
	b[0] = linesFormat
	for _, l := range lines {
		if l.Stream != runner.Stdout && l.Stream != runner.Stderr {
			return nil, fmt.Errorf("line %d has stream %v, want stdout or stderr", l.Seq, l.Stream)
		}
		if l.Seq < 0 {
			return nil, fmt.Errorf("line has a negative Seq %d", l.Seq)
		}
		var at int64
		if !l.Time.IsZero() {
			at = l.Time.UnixNano()
		}
		flags := byte(l.Stream)
		if l.Partial {
			flags |= flagPartial
		}
		if l.Cut {
			flags |= flagCut
		}
		b = binary.AppendUvarint(b, uint64(l.Seq))
		b = binary.AppendVarint(b, at)
		b = append(b, flags)
		b = binary.AppendUvarint(b, uint64(len(l.Text)))
		b = append(b, l.Text...)
	}
	return b, nil
}

var errCorruptLines = errors.New("saved log lines are corrupt")

// decodeLines reads what encodeLines wrote; times come back in UTC.
func decodeLines(b []byte) ([]runner.LogLine, error) {
	if len(b) == 0 || b[0] != linesFormat {
		return nil, fmt.Errorf("%w: unknown format", errCorruptLines)
	}
	b = b[1:]
	var out []runner.LogLine
	for len(b) > 0 {
		seq, n := binary.Uvarint(b)
		if n <= 0 || seq > 1<<62 {
			return nil, errCorruptLines
		}
		b = b[n:]
		at, n := binary.Varint(b)
		if n <= 0 || len(b) < n+1 {
			return nil, errCorruptLines
		}
		flags := b[n]
		b = b[n+1:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, errCorruptLines
		}
		b = b[n:]
		l := runner.LogLine{
			Seq:     int64(seq),
			Stream:  runner.LogStream(flags & byte(runner.BothStreams)),
			Text:    string(b[:size]),
			Partial: flags&flagPartial != 0,
			Cut:     flags&flagCut != 0,
		}
		if l.Stream != runner.Stdout && l.Stream != runner.Stderr {
			return nil, errCorruptLines
		}
		if at != 0 {
			l.Time = time.Unix(0, at).UTC()
		}
		out = append(out, l)
		b = b[size:]
	}
	return out, nil
}

// legacyLines reads a tail saved as two blobs: their order across streams
// is lost, so stdout's lines come first; a last line without its newline
// is partial.
func legacyLines(stdout, stderr []byte) []runner.LogLine {
	var out []runner.LogLine
	for _, s := range []struct {
		data   []byte
		stream runner.LogStream
	}{{stdout, runner.Stdout}, {stderr, runner.Stderr}} {
		rest := string(s.data)
		for rest != "" {
			text, after, done := strings.Cut(rest, "\n")
			out = append(out, runner.LogLine{Stream: s.stream, Text: text, Partial: !done})
			rest = after
		}
	}
	return out
}
