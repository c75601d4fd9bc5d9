package runner_test

import (
	"context"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/runner/sqlite"
)

// hookedStore is the SQLite store with a hook after each agent is written
// and a count of the reads of each agent.
type hookedStore struct {
	*sqlite.Store
	afterCreate func(a runner.Agent)
	mu          sync.Mutex
	reads       map[string]int
}

func (s *hookedStore) CreateAgent(ctx context.Context, a runner.Agent) error {
	if err := s.Store.CreateAgent(ctx, a); err != nil {
		return err
	}
	if s.afterCreate != nil {
		s.afterCreate(a)
	}
	return nil
}

func (s *hookedStore) Agent(ctx context.Context, id string) (runner.Agent, error) {
	s.mu.Lock()
	if s.reads == nil {
		s.reads = map[string]int{}
	}
	s.reads[id]++
	s.mu.Unlock()
	return s.Store.Agent(ctx, id)
}

func (s *hookedStore) readsOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[id]
}

// reopenOn closes the harness's runner and opens another over store.
func (h *harness) reopenOn(t *testing.T, store runner.Store) {
	t.Helper()
	h.r.Close()
	r, err := runner.New(h.fake, store, h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	h.r = r
}

// TestASweepWhileAnAgentIsRecordedLeavesItToItsCaller: the sweeper runs
// right after an invocation's row is written, before its container is made.
// The pending row is not one a crash left: the sweep must not launch it a
// second time (without the caller's body), nor make the caller fail.
func TestASweepWhileAnAgentIsRecordedLeavesItToItsCaller(t *testing.T) {
	h := newHarness(t, withFunctions)
	ctx := context.Background()
	store := &hookedStore{Store: h.store}
	h.reopenOn(t, store)
	store.afterCreate = func(runner.Agent) {
		if err := h.r.Sweep(ctx); err != nil {
			t.Errorf("sweep: %v", err)
		}
	}
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}})
	res, out := h.invoke(t, ctx, "echo", "the caller's body", nil)
	if out != "the caller's body" || res.Agent.State != runner.StateSucceeded {
		t.Fatalf("invocation = %q, %s; want the caller's body echoed", out, res.Agent.State)
	}
	async, err := h.r.Invoke(ctx, runner.Invocation{Function: "echo", Async: true, Body: strings.NewReader("kept")})
	if err != nil {
		t.Fatal(err)
	}
	h.awaitState(t, async.Agent.ID, runner.StateSucceeded)
	if got, err := h.r.Result(ctx, async.Agent.ID); err != nil || string(got.Output) != "kept" {
		t.Fatalf("async result = %q, %v", got.Output, err)
	}
	for _, id := range []string{res.Agent.ID, async.Agent.ID} {
		if n := len(containerEvents(t, h, id, runner.PhaseCreating)); n != 1 {
			t.Errorf("agent %s was launched %d times, want once", id, n)
		}
	}
}

// containerEvents returns the agent's container events of one phase.
func containerEvents(t *testing.T, h *harness, id, phase string) []runner.Event {
	t.Helper()
	evs, err := h.r.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []runner.Event
	for _, e := range evs {
		if e.Type == runner.EventContainer && e.Name == phase {
			out = append(out, e)
		}
	}
	return out
}

// blockingNotifier holds every delivery until podrun shuts down.
type blockingNotifier struct{ calls atomic.Int32 }

func (n *blockingNotifier) Notify(ctx context.Context, _ string, _ runner.Agent, _ runner.Result) error {
	n.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// runnerGoroutines lists the goroutines running the runner's own code: those
// it started, directly or through a WaitGroup.
func runnerGoroutines() []string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		i := strings.LastIndex(g, "created by ")
		if i < 0 {
			continue // the main goroutine
		}
		created := g[i:]
		if strings.Contains(created, "podrun/podrun/runner.") ||
			(strings.Contains(created, "sync.(*WaitGroup).Go") && strings.Contains(g, "podrun/podrun/runner.")) {
			found = append(found, g)
		}
	}
	return found
}

// TestCloseWaitsForEveryGoroutine: with work of every kind in flight (agents
// running and being deleted, a synchronous invocation streaming, one queued
// for its slot, a warm pool, a callback being delivered), Close returns only
// once every goroutine the runner started has returned.
func TestCloseWaitsForEveryGoroutine(t *testing.T) {
	n := &blockingNotifier{}
	h := newHarness(t, func(c *runner.Config, _ *runnertest.Fake) {
		c.Notifier = n
		c.Limiter = runner.NewLimiter(4, 8, time.Minute)
	})
	ctx := context.Background()
	one, warm := 1, 1
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}, Warm: &warm})
	h.putFunction(t, "slow", runner.FunctionRequest{Command: []string{"sh", "-c", "echo started; sleep 60"}, MaxConcurrency: &one})

	running := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	deleted := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	h.awaitState(t, running.ID, runner.StateRunning)
	h.awaitState(t, deleted.ID, runner.StateRunning)
	if _, err := h.r.DeleteAgent(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	called, err := h.r.Invoke(ctx, runner.Invocation{Function: "echo", Async: true, CallbackURL: "http://127.0.0.1:1/", Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	h.awaitState(t, called.Agent.ID, runner.StateSucceeded)
	started := make(chan string, 1)
	invoked := make(chan error, 1)
	go func() {
		_, err := h.r.Invoke(ctx, runner.Invocation{Function: "slow", Body: strings.NewReader(""), Output: io.Discard,
			Started: func(a runner.Agent) { started <- a.ID }, OutputEnded: func() {}})
		invoked <- err
	}()
	h.awaitState(t, <-started, runner.StateRunning)
	queued, err := h.r.Invoke(ctx, runner.Invocation{Function: "slow", Async: true, Body: strings.NewReader("")})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); n.calls.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the callback was never attempted")
		}
	}

	h.r.Close()
	if left := runnerGoroutines(); len(left) > 0 {
		t.Fatalf("%d goroutines of the runner outlived Close:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
	<-invoked // Close ends the wait of a synchronous caller
	if a, _ := h.store.Agent(ctx, queued.Agent.ID); a.State != runner.StatePending {
		t.Errorf("queued invocation is %s after Close, want pending (relaunched by the next Open)", a.State)
	}
}

// TestFollowOfAPendingAgentWaitsForItsStart: a follow of an agent still
// waiting for its slot is woken by its start, without reading the store
// over and over meanwhile, and passes on every line.
func TestFollowOfAPendingAgentWaitsForItsStart(t *testing.T) {
	h := newHarness(t, func(c *runner.Config, _ *runnertest.Fake) { c.Limiter = runner.NewLimiter(1, 4, time.Minute) })
	ctx := context.Background()
	store := &hookedStore{Store: h.store}
	h.reopenOn(t, store)
	h.putFunction(t, "echo", runner.FunctionRequest{Command: []string{"cat"}})
	release, err := h.cfg.Limiter.Acquire(ctx, "other", 1) // the one slot is taken
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.r.Invoke(ctx, runner.Invocation{Function: "echo", Async: true, Body: strings.NewReader("line one\nline two\n")})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Agent.ID
	logs := make(chan string, 1)
	go func() {
		var b strings.Builder
		err := h.r.Logs(ctx, id, runner.LogOptions{Follow: true, Streams: runner.Stdout}, func(l runner.LogLine) error {
			b.WriteString(l.Text + "\n")
			return nil
		})
		if err != nil {
			b.WriteString("error: " + err.Error())
		}
		logs <- b.String()
	}()
	time.Sleep(300 * time.Millisecond) // the follow waits while the agent is pending
	before := store.readsOf(id)
	release()
	select {
	case got := <-logs:
		if got != "line one\nline two\n" {
			t.Errorf("followed logs = %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follow never ended")
	}
	if before > 2 {
		t.Errorf("the follow read the pending agent %d times while it waited, want a wait for its start", before)
	}
}
