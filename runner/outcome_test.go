package runner_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/runner/sqlite"
)

func TestEveryEndingSaysWhy(t *testing.T) {
	h := newHarness(t, withFunctions)
	ctx := context.Background()
	final := func(a runner.Agent) bool { return !a.State.Live() }
	for _, c := range []struct {
		cmd         []string
		state       runner.State
		reason      string
		code        int
		wantMessage string
	}{
		{[]string{"true"}, runner.StateSucceeded, runner.ReasonExit, 0, ""},
		{[]string{"sh", "-c", "exit 3"}, runner.StateFailed, runner.ReasonExit, 3, "exited with code 3"},
		{[]string{"oom"}, runner.StateFailed, runner.ReasonOOM, 137, "OOM killer"},
		{[]string{"sh", "-c", "exit 137"}, runner.StateFailed, runner.ReasonKilled, 137, "SIGKILL"},
	} {
		a := h.create(t, runner.AgentRequest{Command: c.cmd})
		a = h.await(t, a.ID, "final", final)
		if a.State != c.state || a.Reason != c.reason || a.ExitCode == nil || *a.ExitCode != c.code ||
			!strings.Contains(a.Message, c.wantMessage) || (c.wantMessage == "") != (a.Message == "") {
			t.Errorf("%v: got %s/%s exit %v %q, want %s/%s %d %q", c.cmd, a.State, a.Reason, a.ExitCode, a.Message,
				c.state, c.reason, c.code, c.wantMessage)
		}
	}

	// Stopped by podrun: at the deadline, by DELETE.
	expiring := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, TTL: "1m"})
	deleted := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	h.awaitState(t, expiring.ID, runner.StateRunning)
	h.awaitState(t, deleted.ID, runner.StateRunning)
	h.clock.Advance(2 * time.Minute)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.r.DeleteAgent(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	if a := h.awaitState(t, expiring.ID, runner.StateExpired); !strings.Contains(a.Message, "deadline") {
		t.Errorf("expired agent's message = %q", a.Message)
	}
	if a := h.awaitState(t, deleted.ID, runner.StateTerminated); a.Message != "deleted by request" {
		t.Errorf("deleted agent's message = %q", a.Message)
	}

	// An invocation whose output outgrows max_output, and one whose client leaves.
	small := runner.ByteSize(4)
	h.putFunction(t, "loud", runner.FunctionRequest{Command: []string{"sh", "-c", "echo 0123456789; sleep 60"}, MaxOutput: &small})
	res, _ := h.invoke(t, ctx, "loud", "", nil)
	if res.Agent.Reason != runner.ReasonOutputLimit || !strings.Contains(res.Agent.Message, "max_output of 4 bytes") {
		t.Errorf("loud invocation = %s/%s %q", res.Agent.State, res.Agent.Reason, res.Agent.Message)
	}
	h.putFunction(t, "slow", runner.FunctionRequest{Command: []string{"sleep", "60"}})
	gone, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	res, _ = h.invoke(t, gone, "slow", "", nil)
	if res.Agent.Reason != runner.ReasonClientGone || !strings.Contains(res.Agent.Message, "client went away") {
		t.Errorf("abandoned invocation = %s/%s %q", res.Agent.State, res.Agent.Reason, res.Agent.Message)
	}
}

func TestAFailedStartSaysWhatTheRuntimeSaid(t *testing.T) {
	h := newHarness(t, func(_ *runner.Config, f *runnertest.Fake) {
		f.FailStart = errors.New(`runc create failed: exec: "/no/such/binary": stat /no/such/binary: no such file or directory`)
	})
	a := h.create(t, runner.AgentRequest{Command: []string{"/no/such/binary"}})
	a = h.awaitState(t, a.ID, runner.StateFailed)
	if a.Reason != runner.ReasonError || !strings.Contains(a.Message, `stat /no/such/binary: no such file or directory`) {
		t.Fatalf("agent = %s/%s %q, want error with the runtime's message", a.State, a.Reason, a.Message)
	}
}

func TestAKillFromOutsideIsNotAnOOMKill(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	killed := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	removed := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	for _, a := range []runner.Agent{killed, removed} {
		h.awaitState(t, a.ID, runner.StateRunning)
	}
	if err := h.fake.Kill(ctx, h.awaitState(t, killed.ID, runner.StateRunning).ContainerID); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.Remove(ctx, h.awaitState(t, removed.ID, runner.StateRunning).ContainerID); err != nil {
		t.Fatal(err)
	}
	for _, a := range []runner.Agent{killed, removed} {
		a = h.await(t, a.ID, "final", func(a runner.Agent) bool { return !a.State.Live() })
		if a.State != runner.StateFailed || a.Reason != runner.ReasonKilled {
			t.Errorf("agent killed from outside = %s/%s exit %v %q, want failed/killed", a.State, a.Reason, a.ExitCode, a.Message)
		}
	}
}

func TestAServiceRestartLosesNoOutcome(t *testing.T) {
	h := newHarness(t, func(c *runner.Config, f *runnertest.Fake) {
		withFunctions(c, f)
		c.FailedGrace, c.SucceededGrace = 0, time.Hour // a wrongly failed agent would lose its container at once
	})
	ctx := context.Background()
	h.putFunction(t, "later", runner.FunctionRequest{Command: []string{"sh", "-c", "sleep 0.5; echo done"}})
	var agents []runner.Agent
	for range 3 {
		agents = append(agents, h.create(t, runner.AgentRequest{Command: []string{"sh", "-c", "sleep 0.5; echo done"}}))
	}
	async, err := h.r.Invoke(ctx, runner.Invocation{Function: "later", Async: true, Body: strings.NewReader("")})
	if err != nil {
		t.Fatal(err)
	}
	agents = append(agents, async.Agent)
	for _, a := range agents {
		h.awaitState(t, a.ID, runner.StateRunning)
	}

	h.fake.Set(func(f *runnertest.Fake) { f.Unavailable = true })
	h.fake.BreakStreams()
	if err := h.r.Sweep(ctx); !errors.Is(err, runner.ErrUnavailable) {
		t.Errorf("sweep while the service is away = %v, want ErrUnavailable", err)
	}
	time.Sleep(time.Second) // the processes end while nobody can see them
	h.fake.Set(func(f *runnertest.Fake) { f.Unavailable = false })

	for _, a := range agents {
		a = h.await(t, a.ID, "final", func(a runner.Agent) bool { return !a.State.Live() })
		if a.State != runner.StateSucceeded || a.ExitCode == nil || *a.ExitCode != 0 {
			t.Errorf("agent %s after the service restart = %s/%s exit %v %q, want succeeded 0", a.ID, a.State, a.Reason, a.ExitCode, a.Message)
		}
	}
	for _, a := range agents[:3] {
		var out strings.Builder
		err := h.r.Logs(ctx, a.ID, runner.LogOptions{}, func(l runner.LogLine) error {
			if l.Stream == runner.Stdout {
				out.WriteString(l.Text + "\n")
			}
			return nil
		})
		if err != nil || out.String() != "done\n" {
			t.Errorf("logs of %s = %q, %v", a.ID, out.String(), err)
		}
	}
	res, err := h.r.Result(ctx, async.Agent.ID)
	if err != nil || string(res.Output) != "done\n" {
		t.Errorf("result of the async invocation = %q, %v; want what it wrote after the stream broke", res.Output, err)
	}
}

func TestAStopDuringAnOutageIsDeliveredAfterIt(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	h.awaitState(t, a.ID, runner.StateRunning)
	h.fake.Set(func(f *runnertest.Fake) { f.Unavailable = true })
	h.fake.BreakStreams()
	if _, err := h.r.DeleteAgent(ctx, a.ID); err != nil { // its stop cannot reach the container now
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	h.fake.Set(func(f *runnertest.Fake) { f.Unavailable = false })
	h.awaitState(t, a.ID, runner.StateTerminated)
	h.awaitRemoved(t, a.ID)
}

func TestAContainerGoneDuringAnOutageIsLost(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	a = h.awaitState(t, a.ID, runner.StateRunning)
	h.fake.Set(func(f *runnertest.Fake) { f.Unavailable = true })
	h.fake.BreakStreams()
	time.Sleep(100 * time.Millisecond)
	// Removed while the service is down, so no attachment can see it end.
	h.fake.Vanish(a.ContainerID)
	h.fake.Set(func(f *runnertest.Fake) { f.Unavailable = false })
	a = h.awaitState(t, a.ID, runner.StateFailed)
	if a.Reason != runner.ReasonLost || a.Message == "" {
		t.Fatalf("agent whose container vanished unseen = %s/%s %q, want failed/lost", a.State, a.Reason, a.Message)
	}
}

func TestATakenBackInvocationHoldsItsSlot(t *testing.T) {
	h := newHarness(t, func(c *runner.Config, f *runnertest.Fake) {
		withFunctions(c, f)
		c.Limiter = runner.NewLimiter(16, 64, time.Minute)
	})
	ctx := context.Background()
	one := 1
	h.putFunction(t, "single", runner.FunctionRequest{Command: []string{"sh", "-c", "sleep 3; echo done"}, MaxConcurrency: &one})
	var ids []string
	for range 2 {
		res, err := h.r.Invoke(ctx, runner.Invocation{Function: "single", Async: true, Body: strings.NewReader("")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Agent.ID)
	}
	h.awaitState(t, ids[0], runner.StateRunning)
	if a, _ := h.store.Agent(ctx, ids[1]); a.State != runner.StatePending {
		t.Fatalf("second invocation = %s before the restart, want pending (max_concurrency 1)", a.State)
	}
	h.r.Close() // the daemon dies; the running container lives on

	h.cfg.Limiter = runner.NewLimiter(16, 64, time.Minute) // a new process starts with empty counts
	h.r = h.open(t)
	for _, id := range ids {
		h.awaitState(t, id, runner.StateSucceeded)
	}
	first, second := stateEvent(t, h, ids[0], runner.StateSucceeded), stateEvent(t, h, ids[1], runner.StateRunning)
	if second.ID < first.ID {
		t.Fatalf("the queued invocation ran (event %d) before the taken-back one ended (event %d)", second.ID, first.ID)
	}
	// Slots are freed once the supervisors are done with cleanup, just after the state changed.
	for deadline := time.Now().Add(10 * time.Second); runner.HeldSlots(h.cfg.Limiter) != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d slots still held after both ended", runner.HeldSlots(h.cfg.Limiter))
		}
	}
}

// slowBackgroundLookup is the store with its first function lookup made in
// the background (on a context without callerKey) after arm made 100 ms
// slow, as a busy disk can make one read.
type slowBackgroundLookup struct {
	*sqlite.Store
	armed atomic.Bool
}

type callerKey struct{}

func (s *slowBackgroundLookup) Function(ctx context.Context, name string) (runner.Function, error) {
	if ctx.Value(callerKey{}) == nil && s.armed.CompareAndSwap(true, false) {
		time.Sleep(100 * time.Millisecond)
	}
	return s.Store.Function(ctx, name)
}

// TestAsyncInvocationsRunInTheOrderAccepted: asynchronous invocations of a
// function with max_concurrency 1 run one at a time, in the order podrun
// accepted them: each takes its place in the admission line before Invoke
// returns, not when its goroutine gets there (a slow read there let a later
// one pass it: slowBackgroundLookup makes one).
func TestAsyncInvocationsRunInTheOrderAccepted(t *testing.T) {
	h := newHarness(t, func(c *runner.Config, f *runnertest.Fake) {
		withFunctions(c, f)
		c.Limiter = runner.NewLimiter(16, 64, time.Minute)
	})
	one := 1
	h.putFunction(t, "serial", runner.FunctionRequest{Command: []string{"sh", "-c", "sleep 0.2; cat"}, MaxConcurrency: &one})
	slow := &slowBackgroundLookup{Store: h.store}
	h.reopenOn(t, slow)

	invoke := func() string {
		t.Helper()
		ctx := context.WithValue(context.Background(), callerKey{}, true)
		res, err := h.r.Invoke(ctx, runner.Invocation{Function: "serial", Async: true, Body: strings.NewReader("x")})
		if err != nil {
			t.Fatal(err)
		}
		return res.Agent.ID
	}
	busy := invoke() // holds the one slot while the others are accepted
	slow.armed.Store(true)
	ids := []string{busy}
	for range 4 {
		ids = append(ids, invoke())
	}
	var last int64
	for i, id := range ids {
		h.awaitState(t, id, runner.StateSucceeded)
		if e := stateEvent(t, h, id, runner.StateRunning); e.ID < last {
			t.Fatalf("invocation %d of %d ran (event %d) before the one accepted before it (event %d)", i, len(ids), e.ID, last)
		} else {
			last = e.ID
		}
	}
}

// stateEvent returns the agent's state event for s.
func stateEvent(t *testing.T, h *harness, id string, s runner.State) runner.Event {
	t.Helper()
	evs, err := h.r.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == runner.EventState && e.Name == string(s) {
			return e
		}
	}
	t.Fatalf("agent %s has no %s event: %+v", id, s, evs)
	return runner.Event{}
}
