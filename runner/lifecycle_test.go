package runner_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// TestIdleTimeoutExpiresAnUnusedAgent: a running agent with an idle timeout
// gets an idle deadline, which the reaper keeps as its next deadline, and
// expires (reason idle) once past it, well before its TTL.
func TestIdleTimeoutExpiresAnUnusedAgent(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, TTL: "1h", IdleTimeout: "10s"})
	a = h.awaitState(t, a.ID, runner.StateRunning)
	if want := a.StartedAt.Add(10 * time.Second); !a.IdleExpiresAt.Equal(want) || a.IdleTimeout != 10*time.Second {
		t.Fatalf("idle deadline %v (timeout %v), want %v", a.IdleExpiresAt, a.IdleTimeout, want)
	}
	next, ok, err := h.r.ExpireDue(ctx)
	if err != nil || !ok || !next.Equal(a.IdleExpiresAt) {
		t.Fatalf("ExpireDue = %v %v %v, want the idle deadline %v", next, ok, err, a.IdleExpiresAt)
	}
	h.clock.Advance(9 * time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.Agent(ctx, a.ID); got.State != runner.StateRunning {
		t.Fatalf("before its idle deadline the agent is %s", got.State)
	}
	h.clock.Advance(time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.awaitState(t, a.ID, runner.StateExpired)
	if got.Reason != runner.ReasonIdle || !got.FinishedAt.Equal(a.IdleExpiresAt) {
		t.Fatalf("idled-out agent: reason %q finished %v, want idle at %v", got.Reason, got.FinishedAt, a.IdleExpiresAt)
	}
	if got = h.awaitRemoved(t, a.ID); got.ExitCode == nil || *got.ExitCode != 137 {
		t.Fatalf("exit code of an idled-out agent = %v, want 137", got.ExitCode)
	}
}

// TestActivityKeepsAnAgentAlive: every use (Touch, and exec, which holds it
// while it runs) moves the idle deadline; an agent in use past its idle
// deadline is not expired; once the use ends it idles out a timeout later.
func TestActivityKeepsAnAgentAlive(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, TTL: "1h", IdleTimeout: "10s"})
	h.awaitState(t, a.ID, runner.StateRunning)

	h.clock.Advance(8 * time.Second)
	if _, err := h.r.Exec(ctx, a.ID, runner.ExecRequest{Command: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := h.store.Agent(ctx, a.ID)
	if want := h.clock.Now().Add(10 * time.Second); !got.IdleExpiresAt.Equal(want) {
		t.Fatalf("after an exec the idle deadline is %v, want %v", got.IdleExpiresAt, want)
	}
	h.clock.Advance(8 * time.Second)
	if _, err := h.r.SetTTL(ctx, a.ID, "2h"); err != nil { // a PATCH is activity too
		t.Fatal(err)
	}

	done := h.r.Touch(ctx, a.ID) // a long use: a follow, a streaming exec, a file transfer
	h.clock.Advance(30 * time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.Agent(ctx, a.ID); got.State != runner.StateRunning {
		t.Fatalf("an agent in use idled out: %s/%s", got.State, got.Reason)
	}
	done()
	done() // a second call changes nothing
	h.clock.Advance(9 * time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.Agent(ctx, a.ID); got.State != runner.StateRunning {
		t.Fatalf("an agent used 9s ago idled out: %s/%s", got.State, got.Reason)
	}
	h.clock.Advance(time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.awaitState(t, a.ID, runner.StateExpired); got.Reason != runner.ReasonIdle {
		t.Fatalf("reason %q, want idle", got.Reason)
	}
}

// TestPauseStopsTheIdleClockNotTheTTL: a paused agent is refused exec, does
// not idle out, resumes with a fresh idle deadline, and is killed at its TTL
// while paused.
func TestPauseStopsTheIdleClockNotTheTTL(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, TTL: "1m", IdleTimeout: "10s"})
	a = h.awaitState(t, a.ID, runner.StateRunning)
	if _, err := h.r.ResumeAgent(ctx, a.ID); !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("resume of a running agent = %v, want ErrConflict", err)
	}
	p, err := h.r.PauseAgent(ctx, a.ID)
	if err != nil || p.State != runner.StatePaused || !p.IdleExpiresAt.IsZero() {
		t.Fatalf("pause = %s idle %v, %v; want paused with no idle deadline", p.State, p.IdleExpiresAt, err)
	}
	if c, _ := h.fake.Inspect(ctx, a.ContainerID); c.State != runner.ContainerPaused {
		t.Fatalf("the container is %s, want paused", c.State)
	}
	if _, err := h.r.PauseAgent(ctx, a.ID); !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("second pause = %v, want ErrConflict", err)
	}
	if _, err := h.r.Exec(ctx, a.ID, runner.ExecRequest{Command: []string{"true"}}); !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("exec in a paused agent = %v, want ErrConflict", err)
	}
	h.clock.Advance(20 * time.Second)
	next, ok, err := h.r.ExpireDue(ctx)
	if err != nil || !ok || !next.Equal(a.ExpiresAt) {
		t.Fatalf("while paused ExpireDue = %v %v %v, want the TTL %v next", next, ok, err, a.ExpiresAt)
	}
	r, err := h.r.ResumeAgent(ctx, a.ID)
	if want := h.clock.Now().Add(10 * time.Second); err != nil || r.State != runner.StateRunning || !r.IdleExpiresAt.Equal(want) {
		t.Fatalf("resume = %s idle %v, %v; want running idle at %v", r.State, r.IdleExpiresAt, err, want)
	}
	if _, err := h.r.PauseAgent(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(40 * time.Second) // the TTL
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.awaitState(t, a.ID, runner.StateExpired); got.Reason != runner.ReasonTTL {
		t.Fatalf("a paused agent at its TTL: reason %q, want ttl", got.Reason)
	}
	h.awaitRemoved(t, a.ID)
}

// hookRecorder is a WebhookSender that records what it was sent and fails while failing is set.
type hookRecorder struct {
	mu      sync.Mutex
	events  []runner.WebhookEvent
	tries   int
	failing bool
}

func (r *hookRecorder) SendWebhook(_ context.Context, e runner.WebhookEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if r.failing {
		return errors.New("503 Service Unavailable")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *hookRecorder) set(failing bool) {
	r.mu.Lock()
	r.failing = failing
	r.mu.Unlock()
}

// await waits until n events arrived and returns them.
func (r *hookRecorder) await(t *testing.T, n int) []runner.WebhookEvent {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		r.mu.Lock()
		got := slices.Clone(r.events)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhook events arrived, want %d: %+v", len(got), n, got)
		}
	}
}

func hookHarness(t *testing.T, rec *hookRecorder) *harness {
	return newHarness(t, func(c *runner.Config, _ *runnertest.Fake) {
		c.Webhooks, c.WebhookWarnBefore, c.Policy.AllowPrivateWebhooks = rec, 30*time.Second, true
	})
}

func eventStates(evs []runner.WebhookEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type+":"+string(e.State))
	}
	return out
}

// TestWebhooksReportEveryTransitionInOrder: each state change, and the
// expiring warning warn_before ahead of the TTL, is sent once, in order,
// with growing ids, the final one with its reason and exit code.
func TestWebhooksReportEveryTransitionInOrder(t *testing.T) {
	rec := &hookRecorder{}
	h := hookHarness(t, rec)
	ctx := context.Background()
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "60"}, TTL: "1m", WebhookURL: "http://127.0.0.1:9/hook"})
	h.awaitState(t, a.ID, runner.StateRunning)
	if !a.WarnAt.Equal(a.ExpiresAt.Add(-30 * time.Second)) {
		t.Fatalf("warn at %v, want 30s before %v", a.WarnAt, a.ExpiresAt)
	}
	if _, err := h.r.PauseAgent(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.r.ResumeAgent(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(30 * time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	rec.await(t, 5)
	h.clock.Advance(30 * time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	evs := rec.await(t, 6)
	want := []string{"state:pending", "state:running", "state:paused", "state:running", "expiring:running", "state:expired"}
	if got := eventStates(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i, e := range evs {
		if e.AgentID != a.ID || e.URL != "http://127.0.0.1:9/hook" || (i > 0 && e.ID <= evs[i-1].ID) {
			t.Errorf("event %d = %+v", i, e)
		}
	}
	if last := evs[5]; last.Reason != runner.ReasonTTL || !last.ExpiresAt.Equal(a.ExpiresAt) {
		t.Errorf("final event %+v, want reason ttl", last)
	}
	h.awaitRemoved(t, a.ID)
	if got := rec.await(t, 6); len(got) != 6 { // the exit code after the kill changes no state
		t.Errorf("%d events after removal, want 6: %v", len(got), eventStates(got))
	}
}

// TestWebhooksRetryAndSurviveARestart: failed attempts are retried, and
// events left undelivered when the runner stops are sent after the next
// Open, in order, none twice.
func TestWebhooksRetryAndSurviveARestart(t *testing.T) {
	rec := &hookRecorder{failing: true}
	h := hookHarness(t, rec)
	ctx := context.Background()
	a := h.create(t, runner.AgentRequest{Command: []string{"exit", "3"}, WebhookURL: "http://127.0.0.1:9/hook"})
	h.awaitState(t, a.ID, runner.StateFailed)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		rec.mu.Lock()
		tries := rec.tries
		rec.mu.Unlock()
		if tries >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no retry")
		}
	}
	h.r.Close()
	pending, err := h.store.PendingWebhooks(ctx, a.ID)
	if err != nil || len(pending) != 3 {
		t.Fatalf("pending after close: %d, %v; want all 3", len(pending), err)
	}
	rec.set(false)
	h.r = h.open(t)
	evs := rec.await(t, 3)
	if got, want := eventStates(evs), []string{"state:pending", "state:running", "state:failed"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if last := evs[2]; last.ExitCode == nil || *last.ExitCode != 3 || last.Reason != runner.ReasonExit {
		t.Fatalf("final event exit %v reason %q, want 3 exit", last.ExitCode, last.Reason)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		pending, err := h.store.PendingWebhooks(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d still pending after delivery", len(pending))
		}
	}
	if got := rec.await(t, 3); len(got) != 3 {
		t.Fatalf("%d events delivered, want each of the 3 once", len(got))
	}
}

// TestWebhookURLsArePublicUnlessAllowed: a webhook URL naming a loopback
// or private address is refused, naming the field, unless the policy allows it.
func TestWebhookURLsArePublicUnlessAllowed(t *testing.T) {
	for _, tt := range []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"https://hooks.example.com/x", false, true},
		{"http://203.0.113.9:8080/", false, true},
		{"http://127.0.0.1:9/", false, false},
		{"http://localhost/", false, false},
		{"http://[::1]/", false, false},
		{"http://10.1.2.3/", false, false},
		{"http://192.168.0.1/", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://[::ffff:127.0.0.1]/", false, false},
		{"http://0.0.0.0/", false, false},
		{"ftp://example.com/", false, false},
		{"/relative", false, false},
		{"http://127.0.0.1:9/", true, true},
	} {
		err := runner.ValidateWebhookURL("webhook_url", tt.url, tt.allow)
		var fe *runner.FieldError
		if tt.ok != (err == nil) || (err != nil && (!errors.As(err, &fe) || fe.Field != "webhook_url")) {
			t.Errorf("ValidateWebhookURL(%q, allow %v) = %v, want ok %v", tt.url, tt.allow, err, tt.ok)
		}
	}
}

// TestStreamingExecIsActivityWhileItRuns: an agent whose only use is one
// long streaming exec (a terminal left open) does not idle out while it
// runs, and idles out a timeout after it ends.
func TestStreamingExecIsActivityWhileItRuns(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.create(t, runner.AgentRequest{Command: []string{"sleep", "600"}, TTL: "1h", IdleTimeout: "10s"})
	a = h.awaitState(t, a.ID, runner.StateRunning)
	h.clock.Advance(5 * time.Second)
	stdin, feed := io.Pipe()
	ended := make(chan error, 1)
	go func() {
		_, err := h.r.ExecStream(ctx, a.ID, runner.ExecStreamRequest{Command: []string{"cat"}}, runner.ExecIO{Stdin: stdin, Stdout: io.Discard})
		ended <- err
	}()
	want := h.clock.Now().Add(10 * time.Second)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if got, _ := h.store.Agent(ctx, a.ID); got.IdleExpiresAt.Equal(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a streaming exec that started did not move the idle deadline")
		}
	}
	h.clock.Advance(30 * time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.Agent(ctx, a.ID); got.State != runner.StateRunning {
		t.Fatalf("an agent with a streaming exec open idled out: %s/%s", got.State, got.Reason)
	}
	feed.Close()
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Second)
	if _, _, err := h.r.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.awaitState(t, a.ID, runner.StateExpired); got.Reason != runner.ReasonIdle {
		t.Fatalf("reason %q, want idle", got.Reason)
	}
}

// TestKeepAliveAgentsGetTheDefaultIdleTimeout: a keep-alive agent that names
// no idle timeout gets the configured one; other agents get none.
func TestKeepAliveAgentsGetTheDefaultIdleTimeout(t *testing.T) {
	p := runner.Policy{MaxTTL: time.Hour, DefaultTTL: time.Minute, DefaultIdleTimeout: 5 * time.Minute}
	a, err := runner.AgentRequest{Image: "busybox", KeepAlive: true}.Validate(p)
	if err != nil || a.IdleTimeout != 5*time.Minute {
		t.Fatalf("keep-alive agent: idle timeout %v, %v; want 5m", a.IdleTimeout, err)
	}
	a, err = runner.AgentRequest{Image: "busybox", Command: []string{"true"}}.Validate(p)
	if err != nil || a.IdleTimeout != 0 {
		t.Fatalf("agent with a command: idle timeout %v, %v; want none", a.IdleTimeout, err)
	}
}
