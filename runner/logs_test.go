package runner_test

import (
	"context"
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
