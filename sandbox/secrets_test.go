package sandbox

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// newSecretPodman is a sandbox whose secrets are scoped to this test run.
func newSecretPodman(t *testing.T) *Podman {
	t.Helper()
	cfg := testConfig()
	cfg.Instance = "sandbox-test-" + runID
	p, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// A secret is mounted read-only at /var/openfaas/secrets/NAME, readable by
// root of the container's own user namespace and (mode 444) by any other user
// the image may run as, and lives in Podman's store under podrun's scoped name.
func TestSecretsAreMountedReadOnly(t *testing.T) {
	ctx := context.Background()
	p := newSecretPodman(t)
	const value = "s3cret-value"
	if err := p.CreateSecret(ctx, "api-key", []byte(value)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.DeleteSecret(context.Background(), "api-key") })
	if err := p.CreateSecret(ctx, "api-key", []byte("again")); !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("second create = %v, want ErrConflict", err)
	}
	list, err := p.Secrets(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "api-key" {
		t.Fatalf("Secrets = %+v, %v", list, err)
	}
	spec := runnertest.Spec(labels, "sh", "-c", `
cat /var/openfaas/secrets/api-key; echo
stat -c '%a' /var/openfaas/secrets/api-key
echo x > /var/openfaas/secrets/api-key 2>/dev/null && echo writable || echo readonly
tr -s ' ' < /proc/self/uid_map`)
	spec.Secrets = []string{"api-key"}
	out := runnertest.Run(t, p, spec, nil)
	lines := strings.Split(out.Stdout, "\n")
	if out.Exit.Code != 0 || len(lines) < 4 {
		t.Fatalf("exit %d, stdout %q, stderr %q", out.Exit.Code, out.Stdout, out.Stderr)
	}
	if lines[0] != value {
		t.Errorf("root reads %q, want the value", lines[0])
	}
	if lines[2] != "readonly" {
		t.Errorf("the secret's file is %s", lines[2])
	}
	if m := strings.TrimSpace(lines[3]); m == "0 0 4294967295" {
		t.Errorf("uid_map %q: the container shares the host user namespace", m)
	}
	if lines[1] != "444" { // any user the image runs as may read it
		t.Errorf("the secret's mode is %s, want 444", lines[1])
	}

	if err := p.ReplaceSecret(ctx, "api-key", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	spec.Command = []string{"cat", "/var/openfaas/secrets/api-key"}
	if out := runnertest.Run(t, p, spec, nil); out.Stdout != "v2" {
		t.Errorf("after replace the container reads %q", out.Stdout)
	}
	if err := p.DeleteSecret(ctx, "api-key"); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteSecret(ctx, "api-key"); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}
}
