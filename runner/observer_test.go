package runner_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// recorder is an Observer that keeps what it was told, as comparable strings.
type recorder struct {
	mu      sync.Mutex
	invoked []string // function/start/outcome
	removed []string
	taken   []string // function/hit|miss
	sizes   map[string]int
	alerted []string // function/kind
	peaks   []string // function/bytes
	cpu     float64
	sampled int      // passes of the monitor
	phases  []string // start/phase
}

func (o *recorder) Phase(start, phase string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.phases = append(o.phases, start+"/"+phase)
}

func (o *recorder) Sampled(time.Duration, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sampled++
}

func (o *recorder) UsedCPU(_ string, s float64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cpu += s
}

func (o *recorder) MemoryPeak(function string, b uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.peaks = append(o.peaks, fmt.Sprintf("%s/%d", function, b))
}

func (o *recorder) Alerted(function, kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.alerted = append(o.alerted, function+"/"+kind)
}

func (o *recorder) AgentCreated()             {}
func (o *recorder) Transitioned(runner.State) {}
func (o *recorder) Expired()                  {}

func (o *recorder) Removed(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.removed = append(o.removed, kind)
}

func (o *recorder) Invoked(function, start, outcome string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.invoked = append(o.invoked, function+"/"+start+"/"+outcome)
}

func (o *recorder) PoolTaken(function string, hit bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	kind := "miss"
	if hit {
		kind = "hit"
	}
	o.taken = append(o.taken, function+"/"+kind)
}

func (o *recorder) PoolSize(function string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sizes == nil {
		o.sizes = map[string]int{}
	}
	o.sizes[function] = n
}

// sorted returns a sorted copy of one of the recorder's lists, read under its lock.
func (o *recorder) sorted(list *[]string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Sorted(slices.Values(*list))
}

func withRecorder(o *recorder) func(*runner.Config, *runnertest.Fake) {
	return func(c *runner.Config, f *runnertest.Fake) {
		withFunctions(c, f)
		c.Observer = o
	}
}

// TestObserverCountsEveryInvocationOnceWithItsOutcome: synchronous and
// asynchronous invocations are counted once each, and a timeout is "expired",
// the outcome the README lists, not the agent's reason "ttl".
func TestObserverCountsEveryInvocationOnceWithItsOutcome(t *testing.T) {
	o := &recorder{}
	h := newHarness(t, withRecorder(o))
	h.putFunction(t, "ok", runner.FunctionRequest{Command: []string{"cat"}})
	h.putFunction(t, "bad", runner.FunctionRequest{Command: []string{"sh", "-c", "exit 3"}})
	h.putFunction(t, "slow", runner.FunctionRequest{Command: []string{"sleep", "60"}, Timeout: "2s"})

	h.invoke(t, context.Background(), "ok", "x", nil)
	h.invoke(t, context.Background(), "bad", "", nil)
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		for i := 0; i < 100; i++ { // the reaper's job, driven by hand with the fake clock
			time.Sleep(20 * time.Millisecond)
			h.clock.Advance(100 * time.Millisecond)
			_, _, _ = h.r.ExpireDue(context.Background())
		}
	}()
	h.invoke(t, context.Background(), "slow", "", nil)
	<-reaped
	for _, fn := range []string{"ok", "bad"} {
		res, err := h.r.Invoke(context.Background(), runner.Invocation{Function: fn, Async: true, Body: strings.NewReader("y")})
		if err != nil {
			t.Fatalf("async %s: %v", fn, err)
		}
		h.await(t, res.Agent.ID, "finished", func(a runner.Agent) bool { return !a.State.Live() })
	}
	// The observer hears of an asynchronous end just after the store records it.
	for deadline := time.Now().Add(5 * time.Second); len(o.sorted(&o.invoked)) < 5 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	got := o.sorted(&o.invoked)
	want := []string{
		"bad/cold/failed", "bad/cold/failed",
		"ok/cold/succeeded", "ok/cold/succeeded",
		"slow/cold/expired",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Invoked = %q, want %q", got, want)
	}
	// Every synchronous invocation tries the pool, pool or not; asynchronous ones never do.
	if got, want := o.sorted(&o.taken), []string{"bad/miss", "ok/miss", "slow/miss"}; !slices.Equal(got, want) {
		t.Errorf("PoolTaken = %q, want %q", got, want)
	}
	o.mu.Lock()
	sizes := fmt.Sprint(o.sizes)
	o.mu.Unlock()
	if sizes != "map[bad:0 ok:0 slow:0]" {
		t.Errorf("PoolSize reported %s, want every function at 0", sizes)
	}
}

// staleList is a sandbox whose List answers from a snapshot, as a sweep's
// listing does when a container is removed right after it.
type staleList struct {
	*runnertest.Fake
	mu    sync.Mutex
	stale []runner.Container
}

func (s *staleList) List(ctx context.Context, labels map[string]string) ([]runner.Container, error) {
	s.mu.Lock()
	stale := s.stale
	s.mu.Unlock()
	if stale != nil {
		return stale, nil
	}
	return s.Fake.List(ctx, labels)
}

// TestASweepDoesNotCountAContainerItsAgentRemovedAsAnOrphan: the sweeper lists
// a container, its invocation removes it, then the sweeper's own removal finds
// nothing: no orphan was removed.
func TestASweepDoesNotCountAContainerItsAgentRemovedAsAnOrphan(t *testing.T) {
	o := &recorder{}
	h := newHarness(t, withRecorder(o))
	sb := &staleList{Fake: h.fake}
	r, err := runner.New(sb, h.store, h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	h.r = r
	h.putFunction(t, "ok", runner.FunctionRequest{Command: []string{"cat"}})
	res, _ := h.invoke(t, context.Background(), "ok", "x", nil)
	a := h.awaitRemoved(t, res.Agent.ID)
	sb.mu.Lock()
	sb.stale = []runner.Container{{
		ID: a.ContainerID, Name: "podrun-" + a.ID, CreatedAt: a.CreatedAt.Add(-2 * time.Hour),
		Labels: map[string]string{runner.LabelAgent: a.ID, runner.LabelInstance: h.cfg.Instance},
	}}
	sb.mu.Unlock()
	if err := r.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := o.sorted(&o.removed); !slices.Equal(got, []string{"succeeded"}) {
		t.Errorf("Removed = %q, want only the invocation's own removal [succeeded]", got)
	}
}

// TestARemovalThatFindsNoContainerIsNotCounted: a container removed behind
// podrun's back is marked removed, but podrun did not remove it.
func TestARemovalThatFindsNoContainerIsNotCounted(t *testing.T) {
	o := &recorder{}
	h := newHarness(t, withRecorder(o))
	a := h.create(t, runner.AgentRequest{Command: []string{"true"}})
	a = h.awaitState(t, a.ID, runner.StateSucceeded)
	if err := h.fake.Remove(context.Background(), a.ContainerID); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(h.cfg.SucceededGrace + time.Second)
	if err := h.r.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.awaitRemoved(t, a.ID)
	if got := o.sorted(&o.removed); len(got) != 0 {
		t.Errorf("Removed = %q, want nothing: the container was gone already", got)
	}
}

// TestObserverTimesEveryPhaseOfBothPaths: a cold invocation reports its
// create, attach, start, first byte, exit detection and removal; a warm one
// its pool's create, attach and start, then its handover, first byte, exit
// detection and removal, each under its start.
func TestObserverTimesEveryPhaseOfBothPaths(t *testing.T) {
	o := &recorder{}
	h := newHarness(t, withRecorder(o))
	warm := 1
	h.putFunction(t, "cold", runner.FunctionRequest{Command: []string{"cat"}})
	h.putFunction(t, "hot", runner.FunctionRequest{Command: []string{"cat"}, Warm: &warm})
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(o.sorted(&o.phases), "warm/start"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the warm pool never started a container")
		}
	}
	for _, fn := range []string{"cold", "hot"} {
		res, out := h.invoke(t, context.Background(), fn, "x", nil)
		if out != "x" {
			t.Fatalf("%s answered %q", fn, out)
		}
		if _, err := h.r.DeleteAgent(context.Background(), res.Agent.ID); err != nil {
			t.Fatal(err)
		}
		h.awaitRemoved(t, res.Agent.ID)
	}
	var want []string
	for _, p := range []string{"create", "attach", "start", "first_byte", "exit", "remove"} {
		want = append(want, "cold/"+p)
	}
	for _, p := range []string{"create", "attach", "start", "handover", "first_byte", "exit", "remove"} {
		want = append(want, "warm/"+p)
	}
	got := slices.Compact(o.sorted(&o.phases))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("phases reported %q, want %q", got, want)
	}
}
