package ttl_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/runner/sqlite"
	"github.com/podrun/podrun/ttl"
)

// openRunner starts a runner over the fake sandbox and a real SQLite store, with its reaper.
func openRunner(t *testing.T) *runner.Runner {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "podrun.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r, err := runner.New(&runnertest.Fake{}, store, runner.Config{
		Instance: "ttl-test",
		Policy: runner.Policy{
			Defaults: runner.Limits{Memory: 64 << 20, CPUs: 1, PIDs: 64}, DefaultTTL: time.Minute, MaxTTL: time.Hour,
		},
		FunctionPolicy: runner.FunctionPolicy{DefaultMaxOutput: 1 << 20, DefaultConcurrency: 1, MaxConcurrency: 1},
		LogTail:        1 << 10, WarmMaxIdle: time.Minute, CallTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	reaper := ttl.NewReaper(r, nil)
	reaper.Open()
	t.Cleanup(reaper.Close)
	return r
}

func awaitState(t *testing.T, r *runner.Runner, id string, want runner.State, within time.Duration) runner.Agent {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(5 * time.Millisecond) {
		a, err := r.Agent(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if a.State == want {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s is %s/%s after %s, want %s", id, a.State, a.Reason, within, want)
		}
	}
}

// TestReaperIdlesOutAtTheIdleDeadline: the reaper, sleeping until the
// earliest deadline of any kind, expires an unused agent at its idle
// deadline, not at the TTL and not on a coarse poll (its MaxSleep is a
// minute), while an agent touched more often than its idle timeout lives on.
func TestReaperIdlesOutAtTheIdleDeadline(t *testing.T) {
	r := openRunner(t)
	ctx := context.Background()
	idle, err := r.CreateAgent(ctx, runner.AgentRequest{Image: "busybox", Command: []string{"sleep", "60"}, TTL: "1m", IdleTimeout: "400ms"})
	if err != nil {
		t.Fatal(err)
	}
	busy, err := r.CreateAgent(ctx, runner.AgentRequest{Image: "busybox", Command: []string{"sleep", "60"}, TTL: "1m", IdleTimeout: "400ms"})
	if err != nil {
		t.Fatal(err)
	}
	awaitState(t, r, busy.ID, runner.StateRunning, 5*time.Second)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				r.Touch(ctx, busy.ID)()
			}
		}
	}()
	a := awaitState(t, r, idle.ID, runner.StateExpired, 10*time.Second)
	if a.Reason != runner.ReasonIdle {
		t.Fatalf("reason %q, want idle", a.Reason)
	}
	if late := a.FinishedAt.Sub(a.StartedAt.Add(400 * time.Millisecond)); late < 0 || late > 2*time.Second {
		t.Errorf("expired %s after its idle deadline, want at it", late)
	}
	time.Sleep(time.Second) // 2.5 idle timeouts
	if b, _ := r.Agent(ctx, busy.ID); b.State != runner.StateRunning {
		t.Fatalf("an agent used every 100ms is %s/%s", b.State, b.Reason)
	}
}
