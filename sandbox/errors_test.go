package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"

	"github.com/podrun/podrun/runner/runnertest"
)

// TestErrorsNameTheContainerOnce: Podman's own message names the container
// when it refuses to kill one that is not running; wrapped, the error must
// still name it once.
func TestErrorsNameTheContainerOnce(t *testing.T) {
	p := newPodman(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := p.Create(ctx, runnertest.Spec(labels, "true"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Remove(context.Background(), id) }()
	// Kill itself forgives a container that is not running, so ask the bindings directly.
	raw := containers.Kill(p.call(ctx), id, new(containers.KillOptions).WithSignal("SIGKILL"))
	if raw == nil || !strings.Contains(raw.Error(), id) {
		t.Fatalf("Podman's refusal to kill a created container = %v, want one naming it", raw)
	}
	for _, op := range []string{"kill", "remove", "stop"} {
		err := wrapErr(op, id, raw)
		if n := strings.Count(err.Error(), id[:shortID]); n != 1 {
			t.Errorf("error names container %s %d times, want once: %v", id[:shortID], n, err)
		}
		if !strings.HasPrefix(err.Error(), op+" container") {
			t.Errorf("error %q does not say which operation failed", err)
		}
	}
	// A message that does not name the container gets its id.
	if err := wrapErr("start", id, errString("runc failed")); !strings.Contains(err.Error(), id) {
		t.Errorf("wrapErr(start) = %q, want the container id in it", err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
