package runnertest

import (
	"errors"
	"testing"

	"github.com/podrun/podrun/runner"
)

// pause checks Pause and Unpause: a paused container says so, refuses exec
// and a second pause (ErrConflict), runs again after Unpause, and a Stop or
// Kill of a paused container ends it.
func (c *contract) pause(t *testing.T) {
	sb := c.newSandbox(t)
	ctx := timeout(t)
	id, a := startSleeper(t, sb, c.spec("sleep", "60"))
	if err := sb.Unpause(ctx, id); !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("Unpause of a running container = %v, want ErrConflict", err)
	}
	if err := sb.Pause(ctx, id); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if got, err := sb.Inspect(ctx, id); err != nil || got.State != runner.ContainerPaused || got.Running {
		t.Fatalf("Inspect of a paused container = %q running %v, %v; want paused, not running", got.State, got.Running, err)
	}
	if err := sb.Pause(ctx, id); !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("second Pause = %v, want ErrConflict", err)
	}
	if _, err := sb.Exec(ctx, id, runner.ExecSpec{Command: []string{"true"}, Timeout: generous, MaxOutput: 1 << 10}); err == nil {
		t.Fatal("Exec in a paused container succeeded")
	}
	if err := sb.Unpause(ctx, id); err != nil {
		t.Fatalf("Unpause: %v", err)
	}
	res, err := sb.Exec(ctx, id, runner.ExecSpec{Command: []string{"echo", "thawed"}, Timeout: generous, MaxOutput: 1 << 10})
	if err != nil || res.Stdout != "thawed\n" {
		t.Fatalf("Exec after Unpause = %+v, %v", res, err)
	}
	if err := sb.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := sb.Stop(ctx, id, 0); err != nil {
		t.Fatalf("Stop of a paused container: %v", err)
	}
	if exit, err := a.Wait(ctx); err != nil || (exit.Code != 137 && exit.Code != 143) {
		t.Fatalf("Wait after Stop of a paused container = %+v, %v", exit, err)
	}

	id, a = startSleeper(t, sb, c.spec("sleep", "60"))
	if err := sb.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := sb.Kill(ctx, id); err != nil {
		t.Fatalf("Kill of a paused container: %v", err)
	}
	if exit, err := a.Wait(ctx); err != nil || exit.Code != 137 {
		t.Fatalf("Wait after Kill of a paused container = %+v, %v; want 137", exit, err)
	}
}
