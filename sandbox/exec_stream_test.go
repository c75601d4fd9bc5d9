package sandbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// chunks records each write as it arrives; safe for concurrent use.
type chunks struct {
	mu  sync.Mutex
	all [][]byte
}

func (c *chunks) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, bytes.Clone(b))
	return len(b), nil
}

func (c *chunks) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(bytes.Join(c.all, nil))
}

func (c *chunks) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.all))
	for i, b := range c.all {
		out[i] = string(b)
	}
	return out
}

// waitOutput waits until the output holds want, for at most 20 s.
func waitOutput(t *testing.T, out *chunks, want string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return
		}
	}
	t.Fatalf("no %q in the output:\n%s", want, out.String())
}

// TestExecStreamTerminal runs an interactive shell on a terminal: it sees a
// pty, its first size, a resize, the environment and working directory it
// was given, ^C interrupts its foreground job, and its exit code comes back.
func TestExecStreamTerminal(t *testing.T) {
	p := newShimPodman(t, nil)
	id := runnertest.StartDetached(t, p, runnertest.Spec(labels, "sleep", "120"))
	stdin, typed := io.Pipe()
	out := &chunks{}
	resize := make(chan runner.TermSize)
	type result struct {
		code int
		err  error
	}
	results := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		code, err := p.ExecStream(ctx, id, runner.ExecStreamSpec{
			Command: []string{"sh"}, Env: map[string]string{"GREETING": "hi there"}, Workdir: "/tmp",
			TTY: true, Size: runner.TermSize{Rows: 30, Cols: 100}, Timeout: time.Minute,
			ExecIO: runner.ExecIO{Stdin: stdin, Stdout: out, Resize: resize},
		})
		results <- result{code, err}
	}()
	var res *result
	t.Cleanup(func() {
		if res == nil { // the test failed early: end the exec before the container goes
			cancel()
			<-results
		}
	})
	io.WriteString(typed, "tty; stty size; echo \"[$GREETING]\"; pwd\n")
	waitOutput(t, out, "/dev/pts/")
	waitOutput(t, out, "30 100")
	waitOutput(t, out, "[hi there]")
	waitOutput(t, out, "/tmp")
	resize <- runner.TermSize{Rows: 41, Cols: 123}
	for i := 0; !strings.Contains(out.String(), "41 123") && i < 100; i++ {
		io.WriteString(typed, "stty size\n")
		time.Sleep(100 * time.Millisecond)
	}
	waitOutput(t, out, "41 123")
	// ^C reaches the foreground job: the shell's command, not the shell.
	io.WriteString(typed, "echo st''arted; sleep 100\n")
	waitOutput(t, out, "started")
	time.Sleep(300 * time.Millisecond)
	io.WriteString(typed, "\x03")
	io.WriteString(typed, "echo \"alive $?\"\n")
	waitOutput(t, out, "alive 130")
	io.WriteString(typed, "exit 3\n")
	r := <-results
	res = &r
	if r.err != nil || r.code != 3 {
		t.Errorf("ExecStream = %d, %v; want exit code 3; output:\n%s", r.code, r.err, out)
	}
	if strings.Contains(out.String(), "job control turned off") {
		t.Errorf("the shell found no job control:\n%s", out)
	}
}

// TestExecStreamDeliversOutputAsWritten: three lines a second apart arrive
// as three writes, in order, on their streams.
func TestExecStreamDeliversOutputAsWritten(t *testing.T) {
	p := newShimPodman(t, nil)
	id := runnertest.StartDetached(t, p, runnertest.Spec(labels, "sleep", "120"))
	stdout, stderr := &chunks{}, &chunks{}
	code, err := p.ExecStream(context.Background(), id, runner.ExecStreamSpec{
		Command: []string{"sh", "-c", "for i in 1 2 3; do echo line $i; sleep 1; done; echo oops >&2; exit 4"},
		Timeout: time.Minute, ExecIO: runner.ExecIO{Stdout: stdout, Stderr: stderr},
	})
	if err != nil || code != 4 {
		t.Fatalf("ExecStream = %d, %v; want 4", code, err)
	}
	if got, want := strings.Join(stdout.list(), "|"), "line 1\n|line 2\n|line 3\n"; got != want {
		t.Errorf("stdout arrived as %q, want %q", got, want)
	}
	if got := stderr.String(); got != "oops\n" {
		t.Errorf("stderr = %q", got)
	}
}

// TestExecStreamCancelKillsTheWholeTree is a streaming client leaving, with
// and without a terminal: nothing the command started runs on.
func TestExecStreamCancelKillsTheWholeTree(t *testing.T) {
	p := newShimPodman(t, nil)
	id := runnertest.StartDetached(t, p, runnertest.Spec(labels, "sleep", "120"))
	for _, tty := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		out := &chunks{}
		done := make(chan error, 1)
		stdin, typed := io.Pipe()
		go func() {
			_, err := p.ExecStream(ctx, id, runner.ExecStreamSpec{
				Command: []string{"sh", "-c", "echo ready; " + treeScript}, TTY: tty,
				ExecIO: runner.ExecIO{Stdin: stdin, Stdout: out, Stderr: out},
			})
			done <- err
		}()
		waitOutput(t, out, "ready")
		time.Sleep(300 * time.Millisecond) // let the tree start
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("tty %v: ExecStream = %v, want Canceled", tty, err)
		}
		typed.Close()
		if left := running(t, p, id, []string{"sh", "-c", procScript}, "sleep 45"); len(left) > 0 {
			t.Errorf("tty %v: still running after the client left:\n%s", tty, strings.Join(left, "\n"))
		}
	}
}
