package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// frame is one multiplexed log frame as Podman sends it.
func frame(stream byte, payload string) []byte {
	b := []byte{stream, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	return append(b, payload...)
}

func parse(t *testing.T, p *logParser, frames ...[]byte) ([]runner.LogLine, error) {
	t.Helper()
	var got []runner.LogLine
	p.emit = func(l runner.LogLine) error {
		got = append(got, l)
		return nil
	}
	return got, p.read(bytes.NewReader(slices.Concat(frames...)))
}

func TestLogParserJoinsPiecesPerStream(t *testing.T) {
	const t1, t2 = "2026-11-30T22:46:36Z", "2026-11-30T22:46:37.5+01:00"
	at1 := time.Date(2026, 11, 30, 22, 46, 36, 0, time.UTC)
	at2 := time.Date(2026, 11, 30, 21, 46, 37, 5e8, time.UTC)
	got, err := parse(t, &logParser{maxLine: 8},
		frame(1, t1+" out1\n"),
		frame(2, t1+" err1\n"),
		frame(1, t1+" long-"),            // a piece of a long stdout line...
		frame(2, t2+" err2\n"),           // ...with stderr in between
		frame(1, t2+" line-ends-here\n"), // ...and its end: cut at 8 bytes
		frame(1, t2+" \n"),               // an empty line
		frame(1, "no timestamp\n"),
		frame(2, t2+" unfinished"),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []runner.LogLine{
		{Seq: 1, Time: at1, Stream: runner.Stdout, Text: "out1"},
		{Seq: 2, Time: at1, Stream: runner.Stderr, Text: "err1"},
		{Seq: 3, Time: at2, Stream: runner.Stderr, Text: "err2"},
		{Seq: 4, Time: at1, Stream: runner.Stdout, Text: "long-lin", Cut: true},
		{Seq: 5, Time: at2, Stream: runner.Stdout, Text: ""},
		{Seq: 6, Stream: runner.Stdout, Text: "no times"[:8], Cut: true},
		{Seq: 7, Time: at2, Stream: runner.Stderr, Text: "unfinish", Cut: true, Partial: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLogParserStopsAtTheCutoff(t *testing.T) {
	p := &logParser{maxLine: 100, cutoff: time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)}
	got, err := parse(t, p,
		frame(1, "2026-01-01T00:00:00Z a\n"),
		frame(2, "2026-01-01T00:00:01Z half "), // unfinished at the cutoff: left out
		frame(1, "2026-01-01T00:00:01Z b\n"),
		frame(1, "2026-01-01T00:00:02Z after\n"),
		frame(1, "2026-01-01T00:00:00Z never read\n"),
	)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range got {
		texts = append(texts, l.Text)
	}
	if !slices.Equal(texts, []string{"a", "b"}) {
		t.Errorf("read %q, want a and b", texts)
	}
}

func TestLogParserErrors(t *testing.T) {
	if _, err := parse(t, &logParser{maxLine: 10}, frame(3, "container gone")); err == nil || !strings.Contains(err.Error(), "container gone") {
		t.Errorf("service error frame: %v", err)
	}
	if _, err := parse(t, &logParser{maxLine: 10}, frame(1, "2026-01-01T00:00:00Z abc\n")[:12]); err == nil {
		t.Error("a frame cut short read without error")
	}
	stop := errors.New("client gone")
	p := &logParser{maxLine: 10}
	p.emit = func(runner.LogLine) error { return stop }
	if err := p.read(bytes.NewReader(frame(1, "x\n"))); !errors.Is(err, stop) {
		t.Errorf("emit's error came back as %v", err)
	}
}

// TestLogsOfLongLines reads a line far over conmon's 8 KiB entries, which
// Podman 4.3 sends as several frames: it comes back whole, or cut at MaxLine.
// TestLogsOfLongLines: the pause lets conmon drain the long line before
// "short" is written: lines of two streams are in the order conmon logged
// them, and a line still in the stdout pipe can be overtaken by stderr.
func TestLogsOfLongLines(t *testing.T) {
	p := newPodman(t)
	id := runnertest.Create(t, p, runnertest.Spec(labels, "sh", "-c", `head -c 200000 /dev/zero | tr '\0' x; echo; sleep 0.5; echo short >&2; printf end`))
	runnertest.RunCreated(t, p, id, nil)
	long := strings.Repeat("x", 200000)
	got := runnertest.ReadLogs(t, p, id, runner.LogRead{MaxLine: 1 << 20})
	if len(got) != 3 || got[0].Text != long || got[0].Cut || got[1].Text != "short" || got[1].Stream != runner.Stderr ||
		got[2].Text != "end" || !got[2].Partial || got[2].Seq != 3 {
		t.Errorf("lines: %s", describe(got))
	}
	got = runnertest.ReadLogs(t, p, id, runner.LogRead{})
	if len(got) != 3 || got[0].Text != long[:runner.MaxLogLine] || !got[0].Cut {
		t.Errorf("with the default cap: %s", describe(got))
	}
}

// TestLogsOfAFloodEnd reads the log of a container that writes without
// pause: Podman's reader chases a growing file for ever, so the read must
// stop by itself, at lines logged about a second after it began.
//
// The flood (about 40 MB/s here) fills sandbox.log_max_size several times a
// second, and each time conmon replaces the file with an empty one: a read
// that opens it in that moment ends at once with no line, which is what
// Podman serves. Such reads are counted, not failed; the test needs two
// reads that return lines, and fails if eight reads do not give them.
func TestLogsOfAFloodEnd(t *testing.T) {
	p := newPodman(t)
	id := runnertest.StartDetached(t, p, runnertest.Spec(labels, "sh", "-c", `while true; do echo a-short-line; echo err >&2; done`))
	time.Sleep(time.Second)
	withLines, empty := 0, 0
	for i := 0; i < 8 && withLines < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		start := time.Now()
		var n int
		var last runner.LogLine
		err := p.Logs(ctx, id, runner.LogRead{}, func(l runner.LogLine) error {
			n, last = n+1, l
			return nil
		})
		cancel()
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		t.Logf("read %d: %d lines in %v", i, n, time.Since(start))
		if n == 0 {
			empty++
			time.Sleep(100 * time.Millisecond)
			continue
		}
		withLines++
		if last.Time.After(start.Add(3 * time.Second)) {
			t.Errorf("read %d: the last of %d lines was logged at %v, %v after the read began", i, n, last.Time, last.Time.Sub(start))
		}
	}
	if withLines < 2 {
		t.Errorf("%d reads returned lines, %d none; want 2 with lines", withLines, empty)
	}
}

func describe(lines []runner.LogLine) string {
	var b strings.Builder
	for _, l := range lines {
		text := l.Text
		if len(text) > 20 {
			text = text[:20] + "..."
		}
		b.WriteString("\n\t")
		b.WriteString(strings.Join([]string{l.Stream.String(), text}, " "))
		if l.Cut {
			b.WriteString(" (cut)")
		}
		if l.Partial {
			b.WriteString(" (partial)")
		}
	}
	return b.String()
}
