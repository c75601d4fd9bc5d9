package runner_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// TestInvokeReportsTheEndOfOutputBeforeRecordingIt: OutputEnded comes once the
// process is done writing and before its exit is recorded, cold or warm, and
// also when the process is killed (no exit line, only the end of the stream).
func TestInvokeReportsTheEndOfOutputBeforeRecordingIt(t *testing.T) {
	h := newHarness(t, withFunctions)
	warm := 1
	h.putFunction(t, "cold", runner.FunctionRequest{Command: []string{"sh", "-c", "echo out; exit 3"}})
	h.putFunction(t, "warm", runner.FunctionRequest{Command: []string{"sh", "-c", "echo out; exit 3"}, Warm: &warm})
	h.putFunction(t, "hang", runner.FunctionRequest{Command: []string{"sh", "-c", "echo out; sleep 60"}})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ready := false
		for _, c := range h.fake.Containers() {
			ready = ready || c.Labels[runner.LabelPool] == "warm" && c.Running
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the warm pool never filled")
		}
	}
	for _, fn := range []string{"cold", "warm", "hang"} {
		var (
			mu     sync.Mutex
			id     string
			calls  int
			exitAt *int // the exit code recorded when OutputEnded came
			out    stringsBuilder
		)
		ctx, cancel := context.WithCancel(context.Background())
		if fn == "hang" {
			time.AfterFunc(300*time.Millisecond, cancel) // the client leaves: the container is killed
		}
		res, err := h.r.Invoke(ctx, runner.Invocation{
			Function: fn, Body: strings.NewReader(""), Output: &out,
			Started: func(a runner.Agent) { mu.Lock(); id = a.ID; mu.Unlock() },
			OutputEnded: func() {
				mu.Lock()
				defer mu.Unlock()
				calls++
				a, err := h.store.Agent(context.Background(), id)
				if err != nil {
					t.Errorf("%s: %v", fn, err)
				}
				exitAt = a.ExitCode
			},
		})
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		mu.Lock()
		if calls != 1 || exitAt != nil || out.String() != "out\n" {
			t.Errorf("%s: OutputEnded called %d times, when the exit code recorded was %v; output %q; want once, before the exit was recorded",
				fn, calls, exitAt, out.String())
		}
		mu.Unlock()
		if wantStart := map[string]string{"warm": runner.StartWarm}[fn]; wantStart != "" && res.Agent.Start != wantStart {
			t.Errorf("%s: start %s, want %s", fn, res.Agent.Start, wantStart)
		}
	}
}
