package sandbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

func TestObserveSeesEveryCall(t *testing.T) {
	var mu sync.Mutex
	var ops []string
	ctx := context.Background()
	cfg := testConfig()
	cfg.Observe = func(op string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		ops = append(ops, op)
	}
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runnertest.Run(t, p, runnertest.Spec(labels, "true"), nil)
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"connect", "create", "attach", "start", "inspect"} {
		if !slices.Contains(ops, want) {
			t.Errorf("ops %v lack %q", ops, want)
		}
	}
}

func TestCallerContextCancels(t *testing.T) {
	p := newPodman(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Inspect(ctx, "anything"); !errors.Is(err, context.Canceled) {
		t.Errorf("Inspect with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := p.Attach(ctx, "anything", runner.Streams{}); err == nil {
		t.Errorf("Attach with a cancelled context succeeded")
	}
}

// TestUnreachablePodmanSaysHowToStartIt: the error names the socket once and
// tells the operator how to start the service.
func TestUnreachablePodmanSaysHowToStartIt(t *testing.T) {
	missing := "unix://" + t.TempDir() + "/podman.sock"
	cfg := testConfig()
	cfg.URI = missing
	_, err := New(context.Background(), cfg)
	if err == nil {
		t.Fatal("New with no service at the socket succeeded")
	}
	msg := err.Error()
	if n := strings.Count(msg, "connect to podman at "+missing); n != 1 {
		t.Errorf("error says where it connected %d times, want once: %s", n, msg)
	}
	for _, want := range []string{"make setup", "podman system service --time=0 " + missing} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q: %s", want, msg)
		}
	}
}
