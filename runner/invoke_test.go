package runner_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// withFunctions is the configuration of tests that invoke functions; testConfig has it all now.
func withFunctions(*runner.Config, *runnertest.Fake) {}

func (h *harness) putFunction(t *testing.T, name string, req runner.FunctionRequest) runner.Function {
	t.Helper()
	if req.Image == "" {
		req.Image = "localhost/podrun/busybox:latest"
	}
	f, _, err := h.r.PutFunction(context.Background(), name, req)
	if err != nil {
		t.Fatalf("put function %s: %v", name, err)
	}
	return f
}

func (h *harness) invoke(t *testing.T, ctx context.Context, name, body string, env map[string]string) (runner.InvokeResult, string) {
	t.Helper()
	var out stringsBuilder
	started := false
	res, err := h.r.Invoke(ctx, runner.Invocation{
		Function: name, Body: strings.NewReader(body), Env: env, Output: &out,
		Started: func(a runner.Agent) { started = a.ID != "" },
	})
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	if !started {
		t.Fatal("Started was not called with the agent")
	}
	return res, out.String()
}

func TestInvokeStreamsStdinToStdout(t *testing.T) {
	h := newHarness(t, withFunctions)
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}})
	res, out := h.invoke(t, context.Background(), "echo", "hello\x00world", nil)
	if out != "hello\x00world" || res.ExitCode != 0 || res.Agent.State != runner.StateSucceeded {
		t.Fatalf("invoke = %q, exit %d, %s", out, res.ExitCode, res.Agent.State)
	}
	if res.Agent.Function != "echo" || res.Agent.Start != runner.StartCold {
		t.Fatalf("agent = %+v", res.Agent)
	}
	h.awaitRemoved(t, res.Agent.ID) // an invocation's container serves one request
	if n := h.containers(); n != 0 {
		t.Fatalf("%d containers left", n)
	}
}

func TestInvokeEnvironment(t *testing.T) {
	h := newHarness(t, withFunctions)
	h.putFunction(t, "env", runner.FunctionRequest{Command: []string{"sh", "-c", "printenv GREETING; printenv Http_Method"},
		Env: map[string]string{"GREETING": "hi"}})
	_, out := h.invoke(t, context.Background(), "env", "", map[string]string{"Http_Method": "PUT"})
	if out != "hi\nPUT\n" {
		t.Fatalf("env seen by the function = %q", out)
	}
}

func TestInvokeFailuresAndLimits(t *testing.T) {
	h := newHarness(t, withFunctions)
	small := runner.ByteSize(10)
	h.putFunction(t, "fail", runner.FunctionRequest{Command: []string{"sh", "-c", "echo bad >&2; exit 3"}})
	h.putFunction(t, "chatty", runner.FunctionRequest{Command: []string{"sh", "-c", "cat; sleep 60"}, MaxOutput: &small})
	res, _ := h.invoke(t, context.Background(), "fail", "", nil)
	if res.ExitCode != 3 || res.Agent.State != runner.StateFailed || res.Agent.Reason != runner.ReasonExit {
		t.Fatalf("fail = exit %d %s/%s", res.ExitCode, res.Agent.State, res.Agent.Reason)
	}
	res, out := h.invoke(t, context.Background(), "chatty", strings.Repeat("x", 100), nil)
	if out != strings.Repeat("x", 10) || res.Agent.Reason != runner.ReasonOutputLimit {
		t.Fatalf("chatty = %d bytes, %s/%s", len(out), res.Agent.State, res.Agent.Reason)
	}
	if _, err := h.r.Invoke(context.Background(), runner.Invocation{Function: "nope"}); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("unknown function: %v", err)
	}
}

func TestInvokeClientGoneKillsTheAgent(t *testing.T) {
	h := newHarness(t, withFunctions)
	h.putFunction(t, "slow", runner.FunctionRequest{Command: []string{"sleep", "60"}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, _ := h.invoke(t, ctx, "slow", "", nil)
	if res.Agent.State != runner.StateFailed || res.Agent.Reason != runner.ReasonClientGone {
		t.Fatalf("abandoned invocation = %s/%s", res.Agent.State, res.Agent.Reason)
	}
	h.awaitRemoved(t, res.Agent.ID)
}

func TestInvokeTimeoutExpires(t *testing.T) {
	h := newHarness(t, withFunctions)
	h.putFunction(t, "slow", runner.FunctionRequest{Command: []string{"sleep", "60"}, Timeout: "2s"})
	go func() {
		for i := 0; i < 100; i++ { // the reaper's job, driven by hand with the fake clock
			time.Sleep(20 * time.Millisecond)
			h.clock.Advance(100 * time.Millisecond)
			_, _, _ = h.r.ExpireDue(context.Background())
		}
	}()
	res, _ := h.invoke(t, context.Background(), "slow", "", nil)
	if res.Agent.State != runner.StateExpired || res.ExitCode != 137 {
		t.Fatalf("timed-out invocation = %s exit %d", res.Agent.State, res.ExitCode)
	}
}

// notifier records deliveries and fails the first `failures` of them.
type notifier struct {
	mu       sync.Mutex
	failures int
	got      []runner.Result
}

func (n *notifier) Notify(_ context.Context, url string, a runner.Agent, r runner.Result) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failures > 0 {
		n.failures--
		return errors.New("503 from " + url)
	}
	n.got = append(n.got, r)
	return nil
}

func TestAsyncInvokeKeepsTheResultAndCallsBack(t *testing.T) {
	n := &notifier{failures: 2}
	h := newHarness(t, func(c *runner.Config, f *runnertest.Fake) { withFunctions(c, f); c.Notifier = n })
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}})
	res, err := h.r.Invoke(context.Background(), runner.Invocation{
		Function: "echo", Body: strings.NewReader("async body"), Async: true, CallbackURL: "http://127.0.0.1:1/cb",
	})
	if err != nil || !res.Agent.Async || res.Agent.State != runner.StatePending {
		t.Fatalf("async invoke = %+v, %v", res.Agent, err)
	}
	h.awaitState(t, res.Agent.ID, runner.StateSucceeded)
	var got runner.Result
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got, err = h.r.Result(context.Background(), res.Agent.ID); err == nil && got.CallbackStatus == runner.CallbackDelivered {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if string(got.Output) != "async body" || got.CallbackStatus != runner.CallbackDelivered || got.CallbackAttempts != 3 {
		t.Fatalf("result = %q, callback %s after %d attempts", got.Output, got.CallbackStatus, got.CallbackAttempts)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.got) != 1 || !bytes.Equal(n.got[0].Output, []byte("async body")) {
		t.Fatalf("callbacks = %+v", n.got)
	}
}

func TestAcceptedAsyncWorkSurvivesARestart(t *testing.T) {
	h := newHarness(t, withFunctions)
	ctx := context.Background()
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}})
	h.r.Close()
	// Accepted just before the crash: durable, never started.
	a := runner.Agent{ID: runner.NewID(h.clock.Now()), Function: "echo", Image: "localhost/podrun/busybox:latest",
		Command: []string{"cat"}, Env: map[string]string{}, Stdin: []byte("kept"), Async: true, Start: runner.StartCold,
		State: runner.StatePending, CreatedAt: h.clock.Now(), ExpiresAt: h.clock.Now().Add(time.Minute)}
	if err := h.store.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	h.r = h.open(t)
	h.awaitState(t, a.ID, runner.StateSucceeded)
	res, err := h.r.Result(ctx, a.ID)
	if err != nil || string(res.Output) != "kept" {
		t.Fatalf("result after restart = %q, %v", res.Output, err)
	}
}

func TestWarmPoolServesEachRequestFromAFreshContainer(t *testing.T) {
	h := newHarness(t, withFunctions)
	warm := 2
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}, Warm: &warm})
	poolSize := func() []string {
		var ids []string
		for _, c := range h.fake.Containers() {
			if c.Labels[runner.LabelPool] == "echo" && c.Running {
				ids = append(ids, c.ID)
			}
		}
		return ids
	}
	awaitPool := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if ids := poolSize(); len(ids) == n {
				return ids
			}
			if time.Now().After(deadline) {
				t.Fatalf("pool holds %d containers, want %d", len(poolSize()), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	before := awaitPool(2)
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		res, out := h.invoke(t, context.Background(), "echo", "warm body", map[string]string{"Http_Path": "/"})
		if out != "warm body" || res.Agent.Start != runner.StartWarm {
			t.Fatalf("invocation %d = %q, start %s", i, out, res.Agent.Start)
		}
		if seen[res.Agent.ContainerID] {
			t.Fatalf("container %s served twice", res.Agent.ContainerID)
		}
		seen[res.Agent.ContainerID] = true
		awaitPool(2) // refilled
	}
	for _, id := range before {
		if !seen[id] {
			t.Fatalf("prepared container %s never served a request (served: %v)", id, seen)
		}
	}
	if err := h.r.DeleteFunction(context.Background(), "echo"); err != nil {
		t.Fatal(err)
	}
	awaitPool(0)
}

func TestStoppingAPoolMidRefillLeaksNothing(t *testing.T) {
	h := newHarness(t, func(c *runner.Config, f *runnertest.Fake) { withFunctions(c, f); f.CreateDelay = 3 * time.Millisecond })
	warm := 3
	for i := 0; i < 20; i++ {
		h.putFunction(t, "churn", runner.FunctionRequest{Command: []string{"cat"}, Warm: &warm})
		time.Sleep(time.Duration(i%4) * time.Millisecond)
		if err := h.r.DeleteFunction(context.Background(), "churn"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.containers() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d warm containers left after the pool was deleted", h.containers())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReconcileRemovesStrayWarmContainers(t *testing.T) {
	h := newHarness(t, withFunctions)
	stray, _ := h.fake.Create(context.Background(), runner.Spec{Image: "x", Labels: map[string]string{
		runner.LabelInstance: "test-instance", runner.LabelPool: "gone"}})
	if err := h.r.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.containers() != 1 {
		t.Fatal("a young warm container was removed; it may be in the middle of being taken")
	}
	h.clock.Advance(2 * time.Minute)
	if err := h.r.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.containers() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stray warm container %s kept", stray)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWarmContainersPastTheirIdleAgeAreReplaced(t *testing.T) {
	h := newHarness(t, func(c *runner.Config, f *runnertest.Fake) { withFunctions(c, f); c.WarmMaxIdle = 40 * time.Millisecond })
	warm := 2
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}, Warm: &warm})
	pool := func() map[string]bool {
		ids := map[string]bool{}
		for _, c := range h.fake.Containers() {
			if c.Labels[runner.LabelPool] == "echo" && c.Running {
				ids[c.ID] = true
			}
		}
		return ids
	}
	await := func(ok func(map[string]bool) bool, what string) map[string]bool {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if ids := pool(); ok(ids) {
				return ids
			}
			if time.Now().After(deadline) {
				t.Fatalf("pool never %s: %v", what, pool())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	first := await(func(ids map[string]bool) bool { return len(ids) == 2 }, "filled")
	h.clock.Advance(time.Second) // both are now past the idle age
	await(func(ids map[string]bool) bool {
		if len(ids) != 2 {
			return false
		}
		for id := range ids {
			if first[id] {
				return false
			}
		}
		return true
	}, "replaced its idle containers")
}

func TestAWarmContainerWhoseStreamEndedIsNotHandedOut(t *testing.T) {
	h := newHarness(t, withFunctions)
	warm := 1
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}, Warm: &warm})
	var dead string
	deadline := time.Now().Add(10 * time.Second)
	for dead == "" {
		for _, c := range h.fake.Containers() {
			if c.Labels[runner.LabelPool] == "echo" && c.Running {
				dead = c.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the pool never filled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := h.fake.Kill(context.Background(), dead); err != nil { // as if it died while waiting
		t.Fatal(err)
	}
	for running := true; running; time.Sleep(time.Millisecond) { // Kill returns before the exit
		running = false
		for _, c := range h.fake.Containers() {
			running = running || (c.ID == dead && c.Running)
		}
	}
	res, out := h.invoke(t, context.Background(), "echo", "still answered", nil)
	if out != "still answered" || res.Agent.ContainerID == dead || res.Agent.State != runner.StateSucceeded {
		t.Fatalf("invocation = %q in %s (%s), want an answer from another container than the dead %s", out, res.Agent.ContainerID, res.Agent.State, dead)
	}
}

// The request's metadata (its headers: cookies, callers' API keys) reaches the
// process, cold, warm or asynchronous, but is never stored with the agent.
func TestRequestMetadataReachesTheProcessButIsNotStored(t *testing.T) {
	h := newHarness(t, withFunctions)
	ctx := context.Background()
	warm := 1
	script := []string{"sh", "-c", "printenv Http_Cookie; printenv GREETING"}
	h.putFunction(t, "cold", runner.FunctionRequest{Command: script, Env: map[string]string{"GREETING": "hi"}})
	h.putFunction(t, "warm", runner.FunctionRequest{Command: script, Env: map[string]string{"GREETING": "hi"}, Warm: &warm})
	meta := map[string]string{"Http_Cookie": "session=s3cret", "Http_Method": "POST"}
	checkStored := func(id string) {
		t.Helper()
		a, err := h.r.Agent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"GREETING": "hi"}; !maps.Equal(a.Env, want) {
			t.Fatalf("stored env = %v, want %v", a.Env, want)
		}
	}
	for _, name := range []string{"cold", "warm"} {
		res, out := h.invoke(t, ctx, name, "", meta)
		if out != "session=s3cret\nhi\n" {
			t.Fatalf("%s: the process saw %q", name, out)
		}
		checkStored(res.Agent.ID)
	}
	res, err := h.r.Invoke(ctx, runner.Invocation{Function: "cold", Async: true, Env: meta})
	if err != nil {
		t.Fatal(err)
	}
	h.awaitState(t, res.Agent.ID, runner.StateSucceeded)
	got, err := h.r.Result(ctx, res.Agent.ID)
	if err != nil || string(got.Output) != "session=s3cret\nhi\n" {
		t.Fatalf("async result = %q, %v", got.Output, err)
	}
	checkStored(res.Agent.ID)
}
