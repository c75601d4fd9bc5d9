package sandbox

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

func TestExecTimeoutKillsTheProcess(t *testing.T) {
	p := newPodman(t)
	ctx := context.Background()
	id := runnertest.StartDetached(t, p, runnertest.Spec(labels, "sleep", "60"))
	_, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sleep", "37"}, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exec = %v, want DeadlineExceeded", err)
	}
	res, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"ps", "-o", "args"}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Stdout, "sleep 37") {
		t.Errorf("the timed-out process still runs:\n%s", res.Stdout)
	}
}

// A command that cannot start fails at attach (Podman initializes the
// container there) or at start; either way promptly, in parallel too.
func TestParallelBadCommands(t *testing.T) {
	p := newPodman(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for range 16 {
		id := runnertest.Create(t, p, runnertest.Spec(labels, "no-such-command"))
		wg.Go(func() {
			a, err := p.Attach(ctx, id, runner.Streams{})
			if err == nil {
				err = p.Start(ctx, id)
			}
			if err == nil {
				exit, _ := a.Wait(ctx)
				t.Errorf("no-such-command ran and exited %d", exit.Code)
				return
			}
			if ctx.Err() != nil {
				t.Errorf("timed out: %v", err)
			}
		})
	}
	wg.Wait()
}
