package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/sandbox"
)

// testImage is built by scripts/build-images.sh, which `make test` runs first.
const testImage = "localhost/podrun/busybox:latest"

// instances records every daemon instance the tests start, for the leak check.
var instances struct {
	sync.Mutex
	ids []string
}

func trackInstance(id string) {
	instances.Lock()
	instances.ids = append(instances.ids, id)
	instances.Unlock()
}

// TestMain re-executes itself as podrun when asked (for kill -9 and rootless
// tests), and fails the run if any container of a test daemon is left behind.
func TestMain(m *testing.M) {
	if os.Getenv("PODRUN_TEST_AS_DAEMON") == "1" {
		os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
	}
	if err := buildShim(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: build podrun-shim:", err)
		os.Exit(1)
	}
	code := m.Run()
	if leaked := leftContainers(); leaked != "" {
		fmt.Fprintln(os.Stderr, "FAIL: containers left behind by the tests:", leaked)
		code = 1
	}
	os.Exit(code)
}

// buildShim puts a static podrun-shim beside the test binary, where the daemon looks for it.
func buildShim() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(filepath.Dir(exe), "podrun-shim"), "../podrun-shim")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// leftContainers removes and names the containers any test daemon left.
func leftContainers() string {
	instances.Lock()
	ids := instances.ids
	instances.Unlock()
	if len(ids) == 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := sandbox.New(ctx, testSandboxConfig(podmanURI()))
	if err != nil {
		return "cannot check: " + err.Error()
	}
	var left []string
	for _, inst := range ids {
		cs, err := sb.List(ctx, map[string]string{runner.LabelInstance: inst})
		if err != nil {
			return "cannot check: " + err.Error()
		}
		for _, c := range cs {
			left = append(left, c.Name)
			_ = sb.Remove(ctx, c.ID)
		}
	}
	return strings.Join(left, ", ")
}

// podmanURI is the socket `make test` starts; PODRUN_PODMAN_SOCKET overrides it.
func podmanURI() string {
	if v := os.Getenv("PODRUN_PODMAN_SOCKET"); v != "" {
		return v
	}
	return configs.Default().PodmanSocket
}

// testSandboxConfig is podrun's default sandbox configuration for the service at uri.
func testSandboxConfig(uri string) sandbox.Config {
	c := sandbox.ConfigFrom(configs.Default())
	c.URI = uri
	return c
}

// testSandbox is a direct Podman client for checking what podrun did.
func testSandbox(t testing.TB) *sandbox.Podman {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sb, err := sandbox.New(ctx, testSandboxConfig(podmanURI()))
	if err != nil {
		t.Fatalf("Podman must be reachable at %s (make test starts it): %v", podmanURI(), err)
	}
	return sb
}
