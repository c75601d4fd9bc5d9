package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// interleaved writes both streams in turn; the fake logs them in that order.
const interleaved = "echo err1 >&2; echo out1; echo err2 >&2; echo out2; echo -n end"

// checkLogs asserts every reading of interleaved's output agrees on one order.
func checkLogs(t *testing.T, h *harness, id, from string) {
	t.Helper()
	for _, tc := range []struct {
		opts runner.LogOptions
		want string
	}{
		{runner.LogOptions{}, "err1\nout1\nerr2\nout2\nend"},
		{runner.LogOptions{Tail: 2}, "out2\nend"},
		{runner.LogOptions{Tail: 3, Streams: runner.BothStreams}, "err2\nout2\nend"},
		{runner.LogOptions{Streams: runner.Stderr}, "err1\nerr2\n"},
		{runner.LogOptions{Tail: 1, Streams: runner.Stderr}, "err2\n"},
		{runner.LogOptions{Tail: 100, Streams: runner.Stdout}, "out1\nout2\nend"},
		{runner.LogOptions{Follow: true}, "err1\nout1\nerr2\nout2\nend"},
		{runner.LogOptions{Follow: true, Tail: 2, Streams: runner.Stdout}, "out2\nend"},
	} {
		if got := h.logs(t, id, tc.opts); got != tc.want {
			t.Errorf("%s: Logs(%+v) = %q, want %q", from, tc.opts, got, tc.want)
		}
	}
}

func TestLogsAreOneOrderedStream(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create(t, runner.AgentRequest{Command: []string{"sh", "-c", interleaved}})
	a = h.awaitState(t, a.ID, runner.StateSucceeded)
	checkLogs(t, h, a.ID, "container")
	if _, err := h.r.DeleteAgent(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	h.awaitRemoved(t, a.ID)
	checkLogs(t, h, a.ID, "saved tail")
}

// TestFollowFillsInWhatTheFollowerMissed gives the follow an engine whose
// follower ends short of the last lines, as Podman's does for a container
// removed right after it exits: the follow must still end with every line.
func TestFollowFillsInWhatTheFollowerMissed(t *testing.T) {
	const want = "ready\ngot-term\nbye\nno-newline"
	t.Run("container kept", func(t *testing.T) {
		h := newHarness(t, func(_ *runner.Config, f *runnertest.Fake) { f.FollowMisses = 3 })
		a := h.create(t, runner.AgentRequest{Command: []string{"sh", "-c", "echo ready; sleep 0.3; echo got-term >&2; echo bye; echo -n no-newline"}})
		h.awaitState(t, a.ID, runner.StateRunning)
		if got := h.logs(t, a.ID, runner.LogOptions{Follow: true}); got != want {
			t.Errorf("followed logs = %q, want %q", got, want)
		}
	})
	t.Run("container removed as it stops", func(t *testing.T) {
		h := newHarness(t, func(_ *runner.Config, f *runnertest.Fake) { f.FollowMisses = 3 })
		a := h.create(t, runner.AgentRequest{Command: []string{"sh", "-c", "echo ready; echo got-term >&2; echo bye; echo -n no-newline; sleep 30"}})
		h.awaitState(t, a.ID, runner.StateRunning)
		go func() {
			time.Sleep(100 * time.Millisecond)
			_, _ = h.r.DeleteAgent(context.Background(), a.ID)
		}()
		if got := h.logs(t, a.ID, runner.LogOptions{Follow: true}); got != want {
			t.Errorf("followed logs = %q, want %q", got, want)
		}
	})
}

// TestAFollowEndsWithTheProcessEvenIfTheFollowerDoesNot: Podman's follower
// can miss a container's exit and stay open; the follow still ends once the
// exit is recorded, with every line.
func TestAFollowEndsWithTheProcessEvenIfTheFollowerDoesNot(t *testing.T) {
	h := newHarness(t, func(_ *runner.Config, f *runnertest.Fake) { f.FollowHangs = true })
	a := h.create(t, runner.AgentRequest{Command: []string{"sh", "-c", "echo one; sleep 0.2; echo two"}})
	h.awaitState(t, a.ID, runner.StateRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got strings.Builder
	err := h.r.Logs(ctx, a.ID, runner.LogOptions{Follow: true}, func(l runner.LogLine) error {
		got.WriteString(l.Text + "\n")
		return nil
	})
	if err != nil || ctx.Err() != nil || got.String() != "one\ntwo\n" {
		t.Errorf("follow = %q, %v (context: %v); want one, two, ended by the process's exit", got.String(), err, ctx.Err())
	}
	// A finished agent's follow is a plain read: it must not wait on the follower at all.
	got.Reset()
	h.awaitState(t, a.ID, runner.StateSucceeded)
	if err := h.r.Logs(ctx, a.ID, runner.LogOptions{Follow: true}, func(l runner.LogLine) error {
		got.WriteString(l.Text + "\n")
		return nil
	}); err != nil || ctx.Err() != nil || got.String() != "one\ntwo\n" {
		t.Errorf("follow of a finished agent = %q, %v (context: %v)", got.String(), err, ctx.Err())
	}
}
