package runner_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/runner/sqlite"
)

// clock is a settable time source for deadlines and grace periods.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	r     *runner.Runner
	fake  *runnertest.Fake
	store *sqlite.Store
	clock *clock
	cfg   runner.Config
}

func testConfig(c *clock) runner.Config {
	return runner.Config{
		Instance: "test-instance",
		Policy: runner.Policy{
			Defaults:   runner.Limits{Memory: 256 << 20, CPUs: 1, PIDs: 128},
			Max:        runner.Limits{Memory: 1 << 30, CPUs: 2, PIDs: 1024},
			DefaultTTL: 5 * time.Minute, MaxTTL: 24 * time.Hour,
		},
		FunctionPolicy: runner.FunctionPolicy{
			DefaultTimeout: 30 * time.Second, MaxTimeout: 5 * time.Minute, MaxWarm: 4,
			DefaultConcurrency: 4, MaxConcurrency: 16, DefaultMaxOutput: 6 << 20, MaxMaxOutput: 64 << 20,
		},
		StopTimeout:      time.Second,
		SucceededGrace:   5 * time.Minute,
		FailedGrace:      time.Hour,
		OrphanGrace:      time.Hour,
		Retention:        7 * 24 * time.Hour,
		LogTail:          64 << 10,
		CallTimeout:      time.Minute,
		CallbackAttempts: 5,
		CallbackBackoff:  time.Millisecond,
		WarmMaxIdle:      10 * time.Minute,
		Now:              c.Now,
	}
}

// TestNewRefusesWhatMakesNoSense: New takes the config as given, defaults
// and all, and names a field whose zero would mean nothing.
func TestNewRefusesWhatMakesNoSense(t *testing.T) {
	for field, edit := range map[string]func(*runner.Config){
		"Instance":                        func(c *runner.Config) { c.Instance = "" },
		"LogTail":                         func(c *runner.Config) { c.LogTail = 0 },
		"CallTimeout":                     func(c *runner.Config) { c.CallTimeout = 0 },
		"WarmMaxIdle":                     func(c *runner.Config) { c.WarmMaxIdle = 0 },
		"FunctionPolicy.DefaultMaxOutput": func(c *runner.Config) { c.FunctionPolicy.DefaultMaxOutput = 0 },
		"CallbackAttempts":                func(c *runner.Config) { c.Notifier, c.CallbackAttempts = &notifier{}, 0 },
		"StopTimeout":                     func(c *runner.Config) { c.StopTimeout = -time.Second },
	} {
		cfg := testConfig(&clock{t: time.Now()})
		edit(&cfg)
		_, err := runner.New(&runnertest.Fake{}, nil, cfg)
		var fe *runner.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("New with a bad %s = %v, want a FieldError naming it", field, err)
		}
	}
	cfg := testConfig(&clock{t: time.Now()})
	cfg.StopTimeout, cfg.CallbackBackoff, cfg.Retention = 0, 0, 0 // each documents what zero means
	if _, err := runner.New(&runnertest.Fake{}, nil, cfg); err != nil {
		t.Errorf("New with documented zeros: %v", err)
	}
}

// newHarness opens a runner on a fake sandbox and a real SQLite store.
func newHarness(t *testing.T, edit func(*runner.Config, *runnertest.Fake)) *harness {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "podrun.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &clock{t: time.Now().UTC()} // the fake stamps containers with real time
	h := &harness{fake: &runnertest.Fake{}, store: store, clock: c, cfg: testConfig(c)}
	if edit != nil {
		edit(&h.cfg, h.fake)
	}
	t.Cleanup(func() { h.checkHistories(t) }) // runs after the runner's Close
	h.r = h.open(t)
	return h
}

// checkHistories fails the test if any agent's recorded states did not
// follow the transition table: created pending, then one legal step at a time.
func (h *harness) checkHistories(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	page, err := h.store.ListAgents(ctx, runner.AgentFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range page.Agents {
		evs, err := h.store.Events(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var prev runner.State
		for _, e := range evs {
			if e.Type != runner.EventState {
				continue
			}
			to := runner.State(e.Name)
			if (prev == "" && to != runner.StatePending) || (prev != "" && !runner.CanTransition(prev, to)) {
				t.Errorf("agent %s moved %q -> %q, which the transition table does not allow", a.ID, prev, to)
			}
			prev = to
		}
		if prev != a.State {
			t.Errorf("agent %s is %s, but its last state event says %s", a.ID, a.State, prev)
		}
	}
}

// open starts a runner over the harness's sandbox and store, as a daemon restart would.
func (h *harness) open(t *testing.T) *runner.Runner {
	t.Helper()
	r, err := runner.New(h.fake, h.store, h.cfg)
	if err != nil {
		t.Fatalf("new runner: %v", err)
	}
	if err := r.Open(context.Background()); err != nil {
		t.Fatalf("open runner: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func (h *harness) create(t *testing.T, req runner.AgentRequest) runner.Agent {
	t.Helper()
	if req.Image == "" {
		req.Image = "localhost/podrun/busybox:latest"
	}
	a, err := h.r.CreateAgent(context.Background(), req)
	if err != nil {
		t.Fatalf("create agent: %v", err)
	}
	return a
}

// await polls the store until cond holds for the agent.
func (h *harness) await(t *testing.T, id string, what string, cond func(runner.Agent) bool) runner.Agent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := h.store.Agent(context.Background(), id)
		if err != nil {
			t.Fatalf("agent %s: %v", id, err)
		}
		if cond(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s never became %s; it is %s/%s", id, what, a.State, a.Reason)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) awaitState(t *testing.T, id string, s runner.State) runner.Agent {
	t.Helper()
	return h.await(t, id, string(s), func(a runner.Agent) bool { return a.State == s })
}

func (h *harness) awaitRemoved(t *testing.T, id string) runner.Agent {
	t.Helper()
	return h.await(t, id, "removed", func(a runner.Agent) bool { return !a.RemovedAt.IsZero() })
}

func (h *harness) containers() int { return len(h.fake.Containers()) }

func TestAgentRunsToSuccess(t *testing.T) {
	h := newHarness(t, nil)
	stdin := "abc"
	a := h.create(t, runner.AgentRequest{Command: []string{"sh", "-c", "echo hi; cat; echo err >&2"}, Stdin: &stdin})
	if a.State != runner.StatePending || !a.LimitsEnforced || !a.ExpiresAt.Equal(a.CreatedAt.Add(5*time.Minute)) {
		t.Fatalf("new agent = %+v", a)
	}
	a = h.awaitState(t, a.ID, runner.StateSucceeded)
	if a.ExitCode == nil || *a.ExitCode != 0 || a.Reason != runner.ReasonExit || a.ContainerID == "" {
		t.Fatalf("agent = %+v", a)
	}
	c := h.fake.Containers()[0]
	if c.Labels[runner.LabelAgent] != a.ID || c.Labels[runner.LabelInstance] != "test-instance" {
		t.Fatalf("container labels = %v", c.Labels)
	}
	out := h.logs(t, a.ID, runner.LogOptions{Streams: runner.Stdout})
	errOut := h.logs(t, a.ID, runner.LogOptions{Streams: runner.Stderr})
	if out != "hi\nabc" || errOut != "err\n" {
		t.Fatalf("logs = %q / %q", out, errOut)
	}
}

func TestExitCodesMapToStates(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		cmd    []string
		state  runner.State
		reason string
		code   int
	}{
		{[]string{"true"}, runner.StateSucceeded, runner.ReasonExit, 0},
		{[]string{"sh", "-c", "exit 3"}, runner.StateFailed, runner.ReasonExit, 3},
		{[]string{"oom"}, runner.StateFailed, runner.ReasonOOM, 137},
		{[]string{"no-such-program"}, runner.StateFailed, runner.ReasonExit, 127},
	} {
		a := h.create(t, runner.AgentRequest{Command: c.cmd})
		a = h.await(t, a.ID, "final", func(a runner.Agent) bool { return !a.State.Live() })
		if a.State != c.state || a.Reason != c.reason || a.ExitCode == nil || *a.ExitCode != c.code {
			t.Errorf("%v: got %s/%s exit %v, want %s/%s %d", c.cmd, a.State, a.Reason, a.ExitCode, c.state, c.reason, c.code)
		}
	}
}

func TestFailureToCreateOrStartLeaksNothing(t *testing.T) {
	for _, hook := range []string{"create", "start"} {
		t.Run(hook, func(t *testing.T) {
			h := newHarness(t, func(_ *runner.Config, f *runnertest.Fake) {
				if hook == "create" {
					f.FailCreate = errors.New("no locks left")
				} else {
					f.FailStart = errors.New("runc exploded")
				}
			})
			a := h.create(t, runner.AgentRequest{Command: []string{"true"}})
			a = h.awaitState(t, a.ID, runner.StateFailed)
			if a.Reason != runner.ReasonError {
				t.Fatalf("reason = %q, want error", a.Reason)
			}
			if n := h.containers(); n != 0 {
				t.Fatalf("%d containers left after a failed %s", n, hook)
			}
		})
	}
}

func TestDeleteTerminatesAndRemoves(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create(t, runner.AgentRequest{Command: []string{"sh", "-c", "echo before; sleep 60"}})
	h.awaitState(t, a.ID, runner.StateRunning)
	got, err := h.r.DeleteAgent(context.Background(), a.ID)
	if err != nil || got.State != runner.StateTerminating || got.Reason != runner.ReasonDeleted {
		t.Fatalf("DeleteAgent = %s/%s, %v", got.State, got.Reason, err)
	}
	again, err := h.r.DeleteAgent(context.Background(), a.ID)
	if err != nil || (again.State != runner.StateTerminating && again.State != runner.StateTerminated) {
		t.Fatalf("repeated DeleteAgent = %s, %v", again.State, err)
	}
	a = h.awaitState(t, a.ID, runner.StateTerminated)
	h.awaitRemoved(t, a.ID)
	if n := h.containers(); n != 0 {
		t.Fatalf("%d containers left", n)
	}
	if out := h.logs(t, a.ID, runner.LogOptions{Streams: runner.Stdout}); out != "before\n" {
		t.Fatalf("saved logs = %q", out)
	}
	if _, err := h.r.DeleteAgent(context.Background(), runner.NewID(time.Now())); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("delete of unknown id: %v", err)
	}
}

func TestDeleteOfAFinishedAgentRemovesItsContainerButKeepsItsState(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create(t, runner.AgentRequest{Command: []string{"true"}})
	h.awaitState(t, a.ID, runner.StateSucceeded)
	got, err := h.r.DeleteAgent(context.Background(), a.ID)
	if err != nil || got.State != runner.StateSucceeded {
		t.Fatalf("DeleteAgent = %s, %v", got.State, err)
	}
	h.awaitRemoved(t, a.ID)
}

func TestExpireDueKillsAtTheDeadline(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, TTL: "10s"})
	b := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, TTL: "1m"})
	h.awaitState(t, a.ID, runner.StateRunning)
	next, ok, err := h.r.ExpireDue(context.Background())
	if err != nil || !ok || !next.Equal(a.ExpiresAt) {
		t.Fatalf("ExpireDue = %v %v %v, want next deadline %v", next, ok, err, a.ExpiresAt)
	}
	h.clock.Advance(10 * time.Second)
	next, ok, err = h.r.ExpireDue(context.Background())
	if err != nil || !ok || !next.Equal(b.ExpiresAt) {
		t.Fatalf("ExpireDue = %v %v %v, want next deadline %v", next, ok, err, b.ExpiresAt)
	}
	a = h.awaitState(t, a.ID, runner.StateExpired)
	if a.Reason != runner.ReasonTTL || !a.FinishedAt.Equal(a.ExpiresAt) {
		t.Fatalf("expired agent = %+v", a)
	}
	a = h.awaitRemoved(t, a.ID)
	if a.ExitCode == nil || *a.ExitCode != 137 {
		t.Fatalf("exit code of a killed agent = %v, want 137", a.ExitCode)
	}
	if b2, _ := h.store.Agent(context.Background(), b.ID); b2.State != runner.StateRunning && b2.State != runner.StatePending {
		t.Fatalf("agent with a later deadline is %s", b2.State)
	}
}

func TestSetTTLMovesTheDeadline(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, TTL: "1h"})
	select {
	case <-h.r.DeadlineChanged():
	default:
		t.Fatal("creating an agent did not signal the reaper")
	}
	got, err := h.r.SetTTL(context.Background(), a.ID, "30s")
	if err != nil || !got.ExpiresAt.Equal(h.clock.Now().Add(30*time.Second)) {
		t.Fatalf("SetTTL = %v, %v", got.ExpiresAt, err)
	}
	select {
	case <-h.r.DeadlineChanged():
	default:
		t.Fatal("SetTTL did not signal the reaper")
	}
	for _, bad := range []string{"", "abc", "-1s", "25h"} {
		if _, err := h.r.SetTTL(context.Background(), a.ID, bad); !errors.Is(err, runner.ErrInvalid) {
			t.Errorf("SetTTL(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestSweepHonoursGracePeriodsAndRetention(t *testing.T) {
	h := newHarness(t, nil)
	ok := h.create(t, runner.AgentRequest{Command: []string{"echo", "fine"}})
	bad := h.create(t, runner.AgentRequest{Command: []string{"sh", "-c", "echo broken >&2; exit 1"}})
	h.awaitState(t, ok.ID, runner.StateSucceeded)
	h.awaitState(t, bad.ID, runner.StateFailed)
	sweep := func() {
		t.Helper()
		if err := h.r.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	if n := h.containers(); n != 2 {
		t.Fatalf("%d containers right after finishing, want both kept", n)
	}
	h.clock.Advance(6 * time.Minute)
	sweep()
	h.awaitRemoved(t, ok.ID)
	if n := h.containers(); n != 1 {
		t.Fatalf("%d containers after the succeeded grace, want the failed one kept", n)
	}
	h.clock.Advance(time.Hour)
	sweep()
	h.awaitRemoved(t, bad.ID)
	if errOut := h.logs(t, bad.ID, runner.LogOptions{Streams: runner.Stderr}); errOut != "broken\n" {
		t.Fatalf("logs after removal = %q", errOut)
	}
	h.clock.Advance(7 * 24 * time.Hour)
	sweep()
	if _, err := h.r.Agent(context.Background(), ok.ID); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("agent past retention: %v, want ErrNotFound", err)
	}
}

func TestReopenTakesBackWhatARestartLeft(t *testing.T) {
	h := newHarness(t, func(c *runner.Config, _ *runnertest.Fake) { c.OrphanGrace = time.Minute })
	ctx := context.Background()
	running := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}})
	h.awaitState(t, running.ID, runner.StateRunning)
	h.r.Close() // the daemon dies; its containers live on

	// A crash right after the row was written: no container yet.
	pending := runner.Agent{ID: runner.NewID(h.clock.Now()), Image: "x", Command: []string{"echo", "late"}, State: runner.StatePending,
		CreatedAt: h.clock.Now(), ExpiresAt: h.clock.Now().Add(time.Hour)}
	// A running agent whose container vanished while podrun was down.
	lost := runner.Agent{ID: runner.NewID(h.clock.Now()), Image: "x", State: runner.StatePending, CreatedAt: h.clock.Now(), ExpiresAt: h.clock.Now().Add(time.Hour)}
	for _, a := range []runner.Agent{pending, lost} {
		if err := h.store.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.store.Transition(ctx, lost.ID, runner.Change{To: runner.StateRunning, At: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	orphan, _ := h.fake.Create(ctx, runner.Spec{Image: "x", Labels: map[string]string{runner.LabelInstance: "test-instance", runner.LabelAgent: runner.NewID(time.Now())}})
	foreign, _ := h.fake.Create(ctx, runner.Spec{Image: "x", Labels: map[string]string{runner.LabelInstance: "other", runner.LabelAgent: "x"}})
	unlabelled, _ := h.fake.Create(ctx, runner.Spec{Image: "x"})

	h.clock.Advance(2 * time.Minute) // the orphan is past its grace
	h.r = h.open(t)
	h.awaitState(t, pending.ID, runner.StateSucceeded)
	l := h.awaitState(t, lost.ID, runner.StateFailed)
	if l.Reason != runner.ReasonLost {
		t.Fatalf("lost agent reason = %q", l.Reason)
	}
	if a, _ := h.store.Agent(ctx, running.ID); a.State != runner.StateRunning {
		t.Fatalf("running agent after reopen = %s", a.State)
	}
	ids := map[string]bool{}
	for _, c := range h.fake.Containers() {
		ids[c.ID] = true
	}
	if ids[orphan] || !ids[foreign] || !ids[unlabelled] {
		t.Fatalf("after reopen: orphan kept %v, foreign kept %v, unlabelled kept %v", ids[orphan], ids[foreign], ids[unlabelled])
	}
	// The adopted agent is supervised again: DELETE stops it.
	if _, err := h.r.DeleteAgent(ctx, running.ID); err != nil {
		t.Fatal(err)
	}
	h.awaitState(t, running.ID, runner.StateTerminated)
	h.awaitRemoved(t, running.ID)
}

func TestRefusesHostsThatIgnoreLimits(t *testing.T) {
	rootlessV1 := runner.Host{Version: "4.3.1", Rootless: true, CgroupVersion: "v1"}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c := &clock{t: time.Now()}
	fake := &runnertest.Fake{HostInfo: rootlessV1}
	r, err := runner.New(fake, store, testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Open(context.Background()); !errors.Is(err, runner.ErrUnenforced) {
		t.Fatalf("Open on rootless cgroup v1 = %v, want ErrUnenforced", err)
	}
	cfg := testConfig(c)
	cfg.AllowUnenforcedLimits = true
	if r, err = runner.New(fake, store, cfg); err != nil {
		t.Fatal(err)
	}
	if err := r.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, err := r.CreateAgent(context.Background(), runner.AgentRequest{Image: "busybox", Command: []string{"true"}})
	if err != nil || a.LimitsEnforced {
		t.Fatalf("agent on an unenforcing host: limits_enforced=%v, %v", a.LimitsEnforced, err)
	}
}

func TestLimitsUnenforced(t *testing.T) {
	for _, c := range []struct {
		host runner.Host
		want bool
	}{
		{runner.Host{CgroupVersion: "v1", Controllers: []string{"cpu", "memory", "pids"}}, false},
		{runner.Host{Rootless: true, CgroupVersion: "v2", Controllers: []string{"cpu", "memory", "pids"}}, false},
		{runner.Host{Rootless: true, CgroupVersion: "v1"}, true},
		{runner.Host{Rootless: true, CgroupVersion: "v2", Controllers: []string{"memory", "pids"}}, true},
	} {
		if got := runner.LimitsUnenforced(c.host) != ""; got != c.want {
			t.Errorf("LimitsUnenforced(%+v) = %v, want %v", c.host, got, c.want)
		}
	}
}

func TestInvalidRequestsNeverReachTheSandbox(t *testing.T) {
	h := newHarness(t, nil)
	neg := int64(-1)
	for _, req := range []runner.AgentRequest{
		{},
		{Image: "Bad Image"},
		{Image: "busybox", Command: []string{""}},
		{Image: "busybox", TTL: "48h"},
		{Image: "busybox", Limits: runner.LimitsRequest{PIDs: &neg}},
		{Image: "busybox", Labels: map[string]string{"podrun.agent": "x"}},
		{Image: runnertest.MissingImage},
	} {
		if _, err := h.r.CreateAgent(context.Background(), req); err == nil {
			t.Errorf("CreateAgent(%+v) succeeded", req)
		}
	}
	page, err := h.r.ListAgents(context.Background(), runner.AgentFilter{})
	if err != nil || len(page.Agents) != 0 || h.containers() != 0 {
		t.Fatalf("invalid requests left %d agents, %d containers (%v)", len(page.Agents), h.containers(), err)
	}
}

// logs returns an agent's output as plain text: each line and its newline, if it had one.
func (h *harness) logs(t *testing.T, id string, opts runner.LogOptions) string {
	t.Helper()
	var b []byte
	err := h.r.Logs(context.Background(), id, opts, func(l runner.LogLine) error {
		b = append(b, l.Text...)
		if !l.Partial {
			b = append(b, '\n')
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Logs(%s, %+v): %v", id, opts, err)
	}
	return string(b)
}

// stringsBuilder is a strings.Builder safe for the fake's concurrent writers.
type stringsBuilder struct {
	mu sync.Mutex
	b  []byte
}

func (s *stringsBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *stringsBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
