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

// TestConfiguredRuntimeIsVerified: Podman's API ignores a container's runtime
// (podman#28429), so a runtime other than the service's default must fail the
// create rather than run the container under the default.
func TestConfiguredRuntimeIsVerified(t *testing.T) {
	ctx := context.Background()
	h, err := newPodman(t).hostInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := "crun" // a runtime that is not the service's default
	if h.Runtime == "crun" {
		other = "runc"
	}
	p := podmanWith(t, func(c *Config) { c.Runtime = other })
	_, err = p.Create(ctx, runnertest.Spec(labels, "true"))
	if err == nil || !strings.Contains(err.Error(), "podman#28429") {
		t.Fatalf("Create with runtime %s on a %s service = %v, want the runtime refused", other, h.Runtime, err)
	}
	left, err := p.List(ctx, labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range left {
		if c.State == "created" {
			t.Errorf("container %s was left behind", c.ID)
		}
	}
	// The service's own default passes without an inspect.
	runnertest.Create(t, podmanWith(t, func(c *Config) { c.Runtime = h.Runtime }), runnertest.Spec(labels, "true"))
}
