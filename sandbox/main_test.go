package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
)

// runID labels every container this test binary creates, so leaks are found.
var runID = runner.NewID(time.Now())

// labels go on every test container.
var labels = map[string]string{"podrun.instance": "sandbox-test-" + runID}

// uri is the Podman service the tests use; the Makefile starts it.
var uri = envOr("PODRUN_PODMAN_SOCKET", configs.Default().PodmanSocket)

// testConfig is podrun's default sandbox configuration on the tests' service, without the shim.
func testConfig() Config {
	c := ConfigFrom(configs.Default())
	c.URI = uri
	return c
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// shimPath is the podrun-shim TestMain builds for this run.
var shimPath string

// TestMain fails the run if Podman is unreachable (never skips) or if any
// container labelled with this run survives the tests.
func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	p, err := New(ctx, testConfig())
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "podman is required for these tests (start it: podman system service --time=0 %s): %v\n", uri, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "podrun-sandbox-test-")
	if err == nil {
		shimPath = filepath.Join(dir, "podrun-shim")
		err = buildStatic(shimPath, "github.com/podrun/podrun/cmd/podrun-shim")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "build the shim: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if leaked := removeLeaks(p); leaked > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d containers labelled %v were left behind (now removed)\n", leaked, labels)
		code = 1
	}
	os.Exit(code)
}

// buildStatic builds a static Go binary (a package path or a .go file) into out.
func buildStatic(out, pkg string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
	}
	return nil
}

func removeLeaks(p *Podman) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	left, err := p.List(ctx, labels)
	if err != nil {
		fmt.Fprintf(os.Stderr, "leak check: %v\n", err)
		return 1
	}
	for _, c := range left {
		fmt.Fprintf(os.Stderr, "leaked container %s (%s, %s)\n", c.ID, c.Name, c.State)
		_ = p.Remove(ctx, c.ID)
	}
	return len(left)
}

// newPodman returns a sandbox for one test.
func newPodman(t testing.TB) *Podman {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := New(ctx, testConfig())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
