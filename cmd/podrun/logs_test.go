package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
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
	for _, tc := range []struct{ query, want string }{
		{"", "err1\nout1\nerr2\nout2\n"},
		{"?stream=both", "err1\nout1\nerr2\nout2\n"},
		{"?tail=2", "err2\nout2\n"},
		{"?tail=3&stream=all", "out1\nerr2\nout2\n"},
		{"?stream=stderr", "err1\nerr2\n"},
		{"?stream=stdout&tail=1", "out2\n"},
		{"?follow=true", "err1\nout1\nerr2\nout2\n"},
		{"?follow=true&tail=1", "out2\n"},
	} {
		if got := d.logs(t, id, tc.query); got != tc.want {
			t.Errorf("%s: logs%s = %q, want %q", when, tc.query, got, tc.want)
		}
	}
}

func TestLogsAreOneOrderedStream(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", interleaved}})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	checkOrderedLogs(t, d, a.ID, "from the container")
	d.call(t, "DELETE", "/v1/agents/"+a.ID, nil, nil) // a finished agent's container goes now
	containerGone(t, a.ContainerID, 30*time.Second)
	checkOrderedLogs(t, d, a.ID, "from the saved tail")
}

func TestLogsFollowedFromTheStartAreOrdered(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", interleaved}})
	if got := d.logs(t, a.ID, "?follow=true"); got != "err1\nout1\nerr2\nout2\n" {
		t.Errorf("followed logs = %q", got)
	}
}

func TestLogsNDJSONAndTimestamps(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", `echo err1 >&2; echo out1; printf tail`}})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	resp := d.call(t, "GET", "/v1/agents/"+a.ID+"/logs?format=ndjson", nil, nil)
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	lines := decodeNDJSON(t, resp.Body)
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
	got := d.logs(t, a.ID, "?timestamps=true&stream=stdout&tail=1")
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
			a := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", script}})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", d.base+"/v1/agents/"+a.ID+"/logs?follow=true", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("follow %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			rd := bufio.NewReader(resp.Body)
			if first, err := rd.ReadString('\n'); first != "ready\n" {
				t.Errorf("follow %d: first line %q, %v", i, first, err)
				return
			}
			d.call(t, "DELETE", "/v1/agents/"+a.ID, nil, nil)
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
// ends, and tail=N is N lines however long the lines.
func TestLogsUnderFlood(t *testing.T) {
	d := startDaemon(t, nil)
	const flood = `x=$(head -c 200000 /dev/zero | tr '\0' x); while true; do echo "$x"; echo short; echo err >&2; done`
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", flood}})
	d.await(t, a.ID, 30*time.Second, api.StateRunning)
	time.Sleep(2 * time.Second) // let the log grow and rotate
	client := &http.Client{Timeout: 90 * time.Second}
	for i := range 5 {
		for _, q := range []string{"?tail=3", "?tail=3&stream=stdout", ""} {
			start := time.Now()
			resp, err := client.Get(d.base + "/v1/agents/" + a.ID + "/logs" + q)
			if err != nil {
				t.Fatalf("try %d: logs%s: %v", i, q, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil {
				t.Fatalf("try %d: logs%s = %d (%v): %.300s", i, q, resp.StatusCode, err, body)
			}
			t.Logf("try %d: logs%s: %d bytes in %v", i, q, len(body), time.Since(start))
			lines := strings.SplitAfter(string(body), "\n")
			if lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			if q != "" && len(lines) != 3 {
				t.Errorf("try %d: logs%s gave %d lines (%d bytes), want 3", i, q, len(lines), len(body))
			}
			for _, l := range lines {
				if len(l) > maxLogLine+1 {
					t.Errorf("try %d: logs%s has a line of %d bytes, over the cap of %d", i, q, len(l), maxLogLine)
					break
				}
			}
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
