package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
)

// interleaved writes to both streams, half a second apart, so the true order is beyond doubt.
const interleaved = `echo err1 >&2; sleep 0.5; echo out1; sleep 0.5; echo err2 >&2; sleep 0.5; echo out2`

// checkOrderedLogs asserts what every way of reading the logs must agree on:
// one stream in the order the lines were written, tail counting lines in all.
func checkOrderedLogs(t *testing.T, d *testDaemon, id, when string) {
	t.Helper()
	for _, tc := range []struct {
		opts api.LogOptions
		want string
	}{
		{api.LogOptions{}, "err1\nout1\nerr2\nout2\n"},
		{api.LogOptions{Stream: "both"}, "err1\nout1\nerr2\nout2\n"},
		{api.LogOptions{Tail: 2}, "err2\nout2\n"},
		{api.LogOptions{Tail: 3, Stream: api.StreamBoth}, "out1\nerr2\nout2\n"},
		{api.LogOptions{Stream: api.StreamStderr}, "err1\nerr2\n"},
		{api.LogOptions{Stream: api.StreamStdout, Tail: 1}, "out2\n"},
		{api.LogOptions{Follow: true}, "err1\nout1\nerr2\nout2\n"},
		{api.LogOptions{Follow: true, Tail: 1}, "out2\n"},
	} {
		if got := d.logs(t, id, tc.opts); got != tc.want {
			t.Errorf("%s: logs?%s = %q, want %q", when, tc.opts.Query().Encode(), got, tc.want)
		}
	}
}

func TestLogsAreOneOrderedStream(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", interleaved}})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	checkOrderedLogs(t, d, a.ID, "from the container")
	d.delete(t, a.ID) // a finished agent's container goes now
	containerGone(t, a.ContainerID, 30*time.Second)
	checkOrderedLogs(t, d, a.ID, "from the saved tail")
}

func TestLogsFollowedFromTheStartAreOrdered(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", interleaved}})
	if got := d.logs(t, a.ID, api.LogOptions{Follow: true}); got != "err1\nout1\nerr2\nout2\n" {
		t.Errorf("followed logs = %q", got)
	}
}

// TestLogsNDJSONAndTimestamps reads the logs raw: package api has neither the
// format and timestamps options nor the NDJSON line type yet, so this is a test
// of that wire format.
func TestLogsNDJSONAndTimestamps(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", `echo err1 >&2; echo out1; printf tail`}})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	_, hdr, body := d.wireCall(t, "GET", "/v1/agents/"+a.ID+"/logs?format=ndjson", "", nil)
	if ct := hdr.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	lines := decodeNDJSON(t, bytes.NewReader(body))
	if len(lines) != 3 {
		t.Fatalf("ndjson lines = %+v, want 3", lines)
	}
	// Conmon reads the two pipes in its own order when lines come at once: check streams by text.
	for _, l := range lines {
		want := map[string]string{"err1": api.StreamStderr, "out1": api.StreamStdout, "tail": api.StreamStdout}[l.Text]
		if l.Stream != want || l.Time.IsZero() || l.Seq == 0 {
			t.Errorf("line %+v: want stream %v, a time and a sequence number", l, want)
		}
		if l.Partial != (l.Text == "tail") {
			t.Errorf("line %+v: only the unterminated last line is partial", l)
		}
	}
	_, _, raw := d.wireCall(t, "GET", "/v1/agents/"+a.ID+"/logs?timestamps=true&stream=stdout&tail=1", "", nil)
	got := string(raw)
	ts, text, _ := strings.Cut(got, " ")
	if at, err := time.Parse(time.RFC3339Nano, ts); err != nil || at.Before(a.CreatedAt.Time().Add(-time.Minute)) || text != "tail" {
		t.Errorf("timestamped tail = %q (%v), want a time then the unterminated line", got, err)
	}
}

// TestFollowEndsWithEveryLine follows agents that print their last lines
// while a DELETE stops them: Podman's follower misses lines of a container
// removed right after it exits, so the follow must fill them in.
func TestFollowEndsWithEveryLine(t *testing.T) {
	d := startDaemon(t, func(c *configs.Config) { c.Sandbox.StopTimeout.Duration = 20 * time.Second })
	const script = `trap 'echo got-term; echo bye; exit 3' TERM; echo ready; while true; do sleep 0.1; done`
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", script}})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			logs, err := d.api.Logs(ctx, a.ID, api.LogOptions{Follow: true})
			if err != nil {
				t.Errorf("follow %d: %v", i, err)
				return
			}
			defer logs.Close()
			rd := bufio.NewReader(logs)
			if first, err := rd.ReadString('\n'); first != "ready\n" {
				t.Errorf("follow %d: first line %q, %v", i, first, err)
				return
			}
			if _, err := d.api.DeleteAgent(ctx, a.ID); err != nil {
				t.Errorf("follow %d: delete: %v", i, err)
			}
			rest, err := io.ReadAll(rd)
			if err != nil || string(rest) != "got-term\nbye\n" {
				t.Errorf("follow %d: rest = %q, %v; want got-term and bye", i, rest, err)
			}
		})
	}
	wg.Wait()
}

// TestLogsUnderFlood reads the logs of an agent writing as fast as it can,
// lines longer than podrun's line cap among them: every read answers 200 and
// ends, and tail=N is N lines however long the lines. The flood fills
// sandbox.log_max_size several times a second and conmon then replaces the
// file with an empty one: a read opening it in that moment is empty, as the
// README says. Such reads are counted, not failed; each kind of read must
// give lines at least 3 times in 5.
func TestLogsUnderFlood(t *testing.T) {
	d := startDaemon(t, nil)
	const flood = `x=$(head -c 200000 /dev/zero | tr '\0' x); while true; do echo "$x"; echo short; echo err >&2; done`
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", flood}})
	d.await(t, a.ID, 30*time.Second, api.StateRunning)
	time.Sleep(2 * time.Second) // let the log grow and rotate
	kinds := []api.LogOptions{{Tail: 3}, {Tail: 3, Stream: api.StreamStdout}, {}}
	empty := make([]int, len(kinds))
	for i := range 5 {
		for k, opts := range kinds {
			q := opts.Query().Encode()
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			logs, err := d.api.Logs(ctx, a.ID, opts)
			if err != nil {
				cancel()
				t.Fatalf("try %d: logs?%s: %v", i, q, err)
			}
			body, err := io.ReadAll(logs)
			logs.Close()
			cancel()
			if err != nil {
				t.Fatalf("try %d: logs?%s: %v: %.300s", i, q, err, body)
			}
			t.Logf("try %d: logs?%s: %d bytes in %v", i, q, len(body), time.Since(start))
			if len(body) == 0 {
				empty[k]++ // opened as conmon replaced the file
				continue
			}
			lines := strings.SplitAfter(string(body), "\n")
			if lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			if opts.Tail != 0 && len(lines) != 3 {
				t.Errorf("try %d: logs?%s gave %d lines (%d bytes), want 3", i, q, len(lines), len(body))
			}
			for _, l := range lines {
				if len(l) > maxLogLine+1 {
					t.Errorf("try %d: logs?%s has a line of %d bytes, over the cap of %d", i, q, len(l), maxLogLine)
					break
				}
			}
		}
	}
	for k, n := range empty {
		if n > 2 {
			t.Errorf("logs?%s was empty in %d reads of 5, want lines at least 3 times", kinds[k].Query().Encode(), n)
		}
	}
}

// maxLogLine is the documented cap on one line of output.
const maxLogLine = runner.MaxLogLine

func decodeNDJSON(t *testing.T, r io.Reader) []api.LogLine {
	t.Helper()
	var out []api.LogLine
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l api.LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("ndjson line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}
