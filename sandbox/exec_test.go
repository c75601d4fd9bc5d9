package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// TestExecTimeoutKillsTheProcess is the fallback without a shim: the
// exec's first process is killed by its host PID.
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

// procScript lists the command lines of the container's processes, read from /proc.
const procScript = `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f"; echo; done`

// running returns the container's processes whose command line holds mark, read from /proc by an exec.
func running(t *testing.T, p *Podman, id string, lister []string, mark string) []string {
	t.Helper()
	res, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: lister, Timeout: time.Minute, MaxOutput: 1 << 20})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("list processes: %+v, %v", res, err)
	}
	var out []string
	for _, line := range strings.Split(res.Stdout, "\n") {
		if strings.Contains(line, mark) {
			out = append(out, line)
		}
	}
	return out
}

// treeScript leaves a child, a grandchild, and a process in a session of
// its own whose parent has exited, then sleeps on.
const treeScript = `sleep 451 & sh -c 'sleep 452; echo leaked' & (setsid sleep 453 &); sleep 45; echo leaked`

func TestExecTimeoutKillsTheWholeTree(t *testing.T) {
	p := newShimPodman(t, nil)
	id := runnertest.StartDetached(t, p, runnertest.Spec(labels, "sleep", "120"))
	start := time.Now()
	res, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: []string{"sh", "-c", treeScript}, Timeout: 2 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(res.Stdout, "leaked") {
		t.Fatalf("Exec = %+v, %v; want DeadlineExceeded", res, err)
	}
	t.Logf("timed out and killed in %v", time.Since(start))
	if left := running(t, p, id, []string{"sh", "-c", procScript}, "sleep 45"); len(left) > 0 {
		t.Errorf("still running after the exec timed out:\n%s", strings.Join(left, "\n"))
	}
}

// TestExecCancelKillsTheWholeTree is the client leaving: ctx ends before the timeout.
func TestExecCancelKillsTheWholeTree(t *testing.T) {
	p := newShimPodman(t, nil)
	id := runnertest.StartDetached(t, p, runnertest.Spec(labels, "sleep", "120"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(2*time.Second, cancel)
	_, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sh", "-c", treeScript}, Timeout: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec = %v, want Canceled", err)
	}
	if left := running(t, p, id, []string{"sh", "-c", procScript}, "sleep 45"); len(left) > 0 {
		t.Errorf("still running after the exec was abandoned:\n%s", strings.Join(left, "\n"))
	}
}

// TestExecKillsTheTreeInAScratchImage runs in an image with no shell and no
// kill: only the shim (mounted by podrun) and the test's own program.
func TestExecKillsTheTreeInAScratchImage(t *testing.T) {
	p := newShimPodman(t, nil)
	spec := runnertest.Spec(labels, "/proctree", "sleep")
	spec.Image = buildScratchImage(t, "proctree", filepath.Join("testdata", "proctree", "main.go"))
	id := runnertest.StartDetached(t, p, spec)
	mark := "mark-" + strings.ToLower(runID)
	var wg sync.WaitGroup
	for i, stop := range []string{"timeout", "cancel"} {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			es := runner.ExecSpec{Command: []string{"/proctree", "tree", mark + stop}, Timeout: 2 * time.Second}
			if stop == "cancel" {
				es.Timeout = time.Minute
				time.AfterFunc(2*time.Second+time.Duration(i)*100*time.Millisecond, cancel)
			}
			res, err := p.Exec(ctx, id, es)
			if err == nil || res.Stdout != "ready\n" {
				t.Errorf("%s: Exec = %+v, %v; want the tree ready, then ended", stop, res, err)
			}
		})
	}
	wg.Wait()
	if left := running(t, p, id, []string{"/proctree", "ps"}, mark); len(left) > 0 {
		t.Errorf("still running after the execs ended:\n%s", strings.Join(left, "\n"))
	}
}

// TestExecInAContainerWithoutTheShim execs, with a shim, in a container
// created without one (as before every container had it).
func TestExecInAContainerWithoutTheShim(t *testing.T) {
	id := runnertest.StartDetached(t, newPodman(t), runnertest.Spec(labels, "sleep", "60"))
	p := newShimPodman(t, nil)
	for range 2 {
		res, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: []string{"echo", "hi"}, Timeout: time.Minute})
		if err != nil || res.ExitCode != 0 || res.Stdout != "hi\n" || res.Stderr != "" {
			t.Errorf("Exec = %+v, %v", res, err)
		}
	}
	if _, ok := p.noExecShim.Load(id); !ok {
		t.Error("the container is not remembered as lacking the shim")
	}
}

func TestExecOfAMissingCommand(t *testing.T) {
	p := newShimPodman(t, nil)
	id := runnertest.StartDetached(t, p, runnertest.Spec(labels, "sleep", "60"))
	res, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: []string{"no-such-command"}, Timeout: time.Minute})
	if err != nil || res.ExitCode != 127 || !strings.HasPrefix(res.Stderr, "podrun-shim: ") {
		t.Errorf("Exec = %+v, %v; want exit 127 and the shim's message", res, err)
	}
}

// buildScratchImage builds a static Go program into an image FROM scratch
// holding it alone at /NAME, under a name of this test run's own, and
// removes it when the test ends.
func buildScratchImage(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := buildStatic(filepath.Join(dir, name), src); err != nil {
		t.Fatal(err)
	}
	containerfile := "FROM scratch\nCOPY " + name + " /" + name + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(containerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "localhost/podrun/test-" + name + ":" + strings.ToLower(runID)
	podmanCLI(t, "build", "--quiet", "--tag", ref, "--file", filepath.Join(dir, "Containerfile"), dir)
	t.Cleanup(func() { podmanCLI(t, "rmi", "--force", ref) })
	return ref
}
