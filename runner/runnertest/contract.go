// Package runnertest holds the contract suite every runner.Sandbox must pass
// and Fake, an in-memory Sandbox for the runner's own tests.
package runnertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// Image is the image the contract suite runs; it needs busybox's sh, echo, cat and sleep on PATH.
var Image = "localhost/podrun/busybox:latest"

// MissingImage names an image no sandbox has or can pull.
const MissingImage = "localhost/podrun/nonexistent-contract-image:never"

// Limits are what every contract container gets.
var Limits = runner.Limits{Memory: 64 << 20, CPUs: 1, PIDs: 64}

// generous bounds "it happened at all" checks; timings belong in benchmarks.
const generous = 60 * time.Second

// RunSandboxContract checks that a Sandbox behaves as the runner expects.
// labels are put on every container, so the caller can find leaks afterwards.
func RunSandboxContract(t *testing.T, newSandbox func(t *testing.T) runner.Sandbox, labels map[string]string) {
	c := &contract{newSandbox: newSandbox, labels: labels}
	t.Run("Ping", c.ping)
	t.Run("Probe", c.probe)
	t.Run("EnsureImage", c.ensureImage)
	t.Run("EnsureImageMissing", c.ensureImageMissing)
	t.Run("Echo", c.echo)
	t.Run("ExitCodeAndStderr", c.exitCodeAndStderr)
	t.Run("StdinRoundTrip", c.stdinRoundTrip)
	t.Run("StdinBinaryMiB", c.stdinBinary)
	t.Run("AttachRunning", c.attachRunning)
	t.Run("AttachExited", c.attachExited)
	t.Run("Inspect", c.inspect)
	t.Run("StartFailure", c.startFailure)
	t.Run("Stop", c.stop)
	t.Run("Kill", c.kill)
	t.Run("PauseUnpause", c.pause)
	t.Run("Remove", c.remove)
	t.Run("ListByLabels", c.list)
	t.Run("LogsAfterExit", c.logs)
	t.Run("LogsFollow", c.logsFollow)
	t.Run("Exec", c.exec)
	t.Run("ExecTimeout", c.execTimeout)
	t.Run("ExecStream", c.execStream)
	t.Run("ExecStreamTimeout", c.execStreamTimeout)
	t.Run("Stats", c.stats)
	t.Run("SampleMany", c.sampleMany)
	t.Run("ParallelAttach", c.parallelAttach)
}

type contract struct {
	newSandbox func(t *testing.T) runner.Sandbox
	labels     map[string]string
}

// Spec returns a contract container spec running command, carrying labels.
func Spec(labels map[string]string, command ...string) runner.Spec {
	return runner.Spec{Image: Image, Command: command, Limits: Limits, Labels: maps.Clone(labels)}
}

func (c *contract) spec(command ...string) runner.Spec { return Spec(c.labels, command...) }

func timeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	t.Cleanup(cancel)
	return ctx
}

// Create creates a container and removes it when the test ends.
func Create(t *testing.T, sb runner.Sandbox, spec runner.Spec) string {
	t.Helper()
	id, err := sb.Create(timeout(t), spec)
	if err != nil {
		t.Fatalf("Create(%q): %v", spec.Command, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), generous)
		defer cancel()
		if err := sb.Remove(ctx, id); err != nil && !errors.Is(err, runner.ErrNoContainer) {
			t.Errorf("cleanup: Remove(%s): %v", id, err)
		}
	})
	return id
}

// Output is what a container wrote and how it ended.
type Output struct {
	Exit           runner.Exit
	Stdout, Stderr string
}

// Run creates, attaches, starts and waits for a container, as the runner does.
func Run(t *testing.T, sb runner.Sandbox, spec runner.Spec, stdin []byte) Output {
	t.Helper()
	id := Create(t, sb, spec)
	return RunCreated(t, sb, id, stdin)
}

// RunCreated attaches to, starts and waits for a created container; nil stdin is not attached.
func RunCreated(t *testing.T, sb runner.Sandbox, id string, stdin []byte) Output {
	t.Helper()
	ctx := timeout(t)
	var stdout, stderr bytes.Buffer
	streams := runner.Streams{Stdout: &stdout, Stderr: &stderr}
	if stdin != nil {
		streams.Stdin = bytes.NewReader(stdin)
	}
	a, err := sb.Attach(ctx, id, streams)
	if err != nil {
		t.Fatalf("Attach(%s): %v", id, err)
	}
	if err := sb.Start(ctx, id); err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
	exit, err := a.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait(%s): %v", id, err)
	}
	return Output{Exit: exit, Stdout: stdout.String(), Stderr: stderr.String()}
}

// StartDetached starts a container with nothing attached and returns its ID.
func StartDetached(t *testing.T, sb runner.Sandbox, spec runner.Spec) string {
	t.Helper()
	id := Create(t, sb, spec)
	if err := sb.Start(timeout(t), id); err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
	return id
}

func (c *contract) ping(t *testing.T) {
	if err := c.newSandbox(t).Ping(timeout(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func (c *contract) probe(t *testing.T) {
	h, err := c.newSandbox(t).Probe(timeout(t))
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if h.CgroupVersion != "v1" && h.CgroupVersion != "v2" {
		t.Errorf("CgroupVersion = %q, want v1 or v2", h.CgroupVersion)
	}
	if h.Version == "" || h.Runtime == "" {
		t.Errorf("Probe = %+v, want Version and Runtime set", h)
	}
}

func (c *contract) ensureImage(t *testing.T) {
	if err := c.newSandbox(t).EnsureImage(timeout(t), Image); err != nil {
		t.Fatalf("EnsureImage(%s): %v", Image, err)
	}
}

func (c *contract) ensureImageMissing(t *testing.T) {
	err := c.newSandbox(t).EnsureImage(timeout(t), MissingImage)
	if !errors.Is(err, runner.ErrImageUnavailable) {
		t.Fatalf("EnsureImage(%s) = %v, want ErrImageUnavailable", MissingImage, err)
	}
}

func (c *contract) echo(t *testing.T) {
	got := Run(t, c.newSandbox(t), c.spec("echo", "hello", "world"), nil)
	want := Output{Stdout: "hello world\n"}
	if got.Exit.Code != 0 || got.Stdout != want.Stdout || got.Stderr != "" {
		t.Fatalf("echo: got %+v, want %+v", got, want)
	}
}

func (c *contract) exitCodeAndStderr(t *testing.T) {
	got := Run(t, c.newSandbox(t), c.spec("sh", "-c", "echo out; echo err >&2; exit 3"), nil)
	if got.Exit.Code != 3 || got.Stdout != "out\n" || got.Stderr != "err\n" {
		t.Fatalf("got %+v, want code 3, stdout %q, stderr %q", got, "out\n", "err\n")
	}
}

func (c *contract) stdinRoundTrip(t *testing.T) {
	got := Run(t, c.newSandbox(t), c.spec("cat"), []byte("hello\nstdin"))
	if got.Exit.Code != 0 || got.Stdout != "hello\nstdin" {
		t.Fatalf("cat: got %+v, want code 0 and the input back", got)
	}
}

func (c *contract) stdinBinary(t *testing.T) {
	payload := make([]byte, 1<<20)
	_, _ = rand.Read(payload)
	got := Run(t, c.newSandbox(t), c.spec("cat"), payload)
	if got.Exit.Code != 0 || !bytes.Equal([]byte(got.Stdout), payload) {
		t.Fatalf("cat of 1 MiB: code %d, %d bytes back, identical %v", got.Exit.Code, len(got.Stdout), got.Stdout == string(payload))
	}
}

// attachRunning re-adopts a running container, as the runner does after a restart.
func (c *contract) attachRunning(t *testing.T) {
	sb := c.newSandbox(t)
	id := StartDetached(t, sb, c.spec("sh", "-c", "sleep 1; echo late"))
	ctx := timeout(t)
	var out bytes.Buffer
	a, err := sb.Attach(ctx, id, runner.Streams{Stdout: &out})
	if err != nil {
		t.Fatalf("Attach(running): %v", err)
	}
	exit, err := a.Wait(ctx)
	if err != nil || exit.Code != 0 || out.String() != "late\n" {
		t.Fatalf("Wait = %+v, %v; stdout %q; want code 0 and %q", exit, err, out.String(), "late\n")
	}
}

func (c *contract) attachExited(t *testing.T) {
	sb := c.newSandbox(t)
	id := Create(t, sb, c.spec("sh", "-c", "exit 7"))
	RunCreated(t, sb, id, nil)
	ctx := timeout(t)
	a, err := sb.Attach(ctx, id, runner.Streams{})
	if err != nil {
		t.Fatalf("Attach(exited): %v", err)
	}
	exit, err := a.Wait(ctx)
	if err != nil || exit.Code != 7 {
		t.Fatalf("Wait after exit = %+v, %v; want code 7", exit, err)
	}
}

func (c *contract) inspect(t *testing.T) {
	sb := c.newSandbox(t)
	spec := c.spec("sh", "-c", "exit 4")
	id := Create(t, sb, spec)
	ctx := timeout(t)
	got, err := sb.Inspect(ctx, id)
	if err != nil || got.ID != id || got.Running || got.CreatedAt.IsZero() {
		t.Fatalf("Inspect(created) = %+v, %v", got, err)
	}
	for k, v := range spec.Labels {
		if got.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, got.Labels[k], v)
		}
	}
	out := RunCreated(t, sb, id, nil)
	got, err = sb.Inspect(ctx, id)
	if err != nil || got.Running || got.ExitCode != 4 || got.State != "exited" || got.FinishedAt.IsZero() {
		t.Fatalf("Inspect(exited) = %+v, %v; want exited with code 4", got, err)
	}
	if out.Exit.Code != 4 || out.Exit.FinishedAt.IsZero() {
		t.Errorf("Wait = %+v, want code 4 and FinishedAt", out.Exit)
	}
}

// startSleeper starts sleep 60 with an attachment whose Wait reports the exit.
func startSleeper(t *testing.T, sb runner.Sandbox, spec runner.Spec) (string, runner.Attachment) {
	t.Helper()
	id := Create(t, sb, spec)
	ctx := timeout(t)
	a, err := sb.Attach(ctx, id, runner.Streams{})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if err := sb.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return id, a
}

func (c *contract) stop(t *testing.T) {
	sb := c.newSandbox(t)
	id, a := startSleeper(t, sb, c.spec("sleep", "60"))
	ctx := timeout(t)
	begin := time.Now()
	if err := sb.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(begin); d > 30*time.Second {
		t.Errorf("Stop took %v", d)
	}
	exit, err := a.Wait(ctx)
	if err != nil || (exit.Code != 137 && exit.Code != 143) {
		t.Fatalf("Wait after Stop = %+v, %v; want 137 or 143", exit, err)
	}
}

func (c *contract) kill(t *testing.T) {
	sb := c.newSandbox(t)
	id, a := startSleeper(t, sb, c.spec("sleep", "60"))
	ctx := timeout(t)
	if err := sb.Kill(ctx, id); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	exit, err := a.Wait(ctx)
	if err != nil || exit.Code != 137 || exit.OOMKilled {
		t.Fatalf("Wait after Kill = %+v, %v; want 137, not OOM-killed", exit, err)
	}
	if err := sb.Kill(ctx, id); err != nil {
		t.Errorf("Kill of an exited container = %v, want nil", err)
	}
}

func (c *contract) remove(t *testing.T) {
	sb := c.newSandbox(t)
	id := StartDetached(t, sb, c.spec("sleep", "60"))
	ctx := timeout(t)
	if err := sb.Remove(ctx, id); err != nil {
		t.Fatalf("Remove(running): %v", err)
	}
	if _, err := sb.Inspect(ctx, id); !errors.Is(err, runner.ErrNoContainer) {
		t.Errorf("Inspect after Remove = %v, want ErrNoContainer", err)
	}
	if err := sb.Remove(ctx, id); !errors.Is(err, runner.ErrNoContainer) {
		t.Errorf("second Remove = %v, want ErrNoContainer", err)
	}
	for name, err := range map[string]error{
		"Kill":  sb.Kill(ctx, id),
		"Start": sb.Start(ctx, id),
		"Stop":  sb.Stop(ctx, id, time.Second),
	} {
		if !errors.Is(err, runner.ErrNoContainer) {
			t.Errorf("%s after Remove = %v, want ErrNoContainer", name, err)
		}
	}
}

func (c *contract) list(t *testing.T) {
	sb := c.newSandbox(t)
	group := maps.Clone(c.labels)
	if group == nil {
		group = map[string]string{}
	}
	group["podrun.contract-list"] = fmt.Sprint(time.Now().UnixNano())
	want := []string{
		Create(t, sb, Spec(group, "true")),
		StartDetached(t, sb, Spec(group, "sleep", "60")),
	}
	Create(t, sb, c.spec("true")) // same caller labels, not in the group
	got, err := sb.List(timeout(t), group)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var ids []string
	for _, ctr := range got {
		ids = append(ids, ctr.ID)
		if ctr.Labels["podrun.contract-list"] != group["podrun.contract-list"] {
			t.Errorf("listed container %s has labels %v", ctr.ID, ctr.Labels)
		}
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("List = %v, want %v", ids, want)
	}
}

func (c *contract) logs(t *testing.T) {
	sb := c.newSandbox(t)
	// The pauses fix the order: lines written at once reach the engine's log in its own order.
	id := Create(t, sb, c.spec("sh", "-c", "echo one; sleep 0.2; echo oops >&2; sleep 0.2; echo two; echo -n three"))
	RunCreated(t, sb, id, nil)
	want := []runner.LogLine{
		{Seq: 1, Stream: runner.Stdout, Text: "one"},
		{Seq: 2, Stream: runner.Stderr, Text: "oops"},
		{Seq: 3, Stream: runner.Stdout, Text: "two"},
		{Seq: 4, Stream: runner.Stdout, Text: "three", Partial: true},
	}
	checkLines(t, "Logs", ReadLogs(t, sb, id, runner.LogRead{}), want)
	checkLines(t, "Logs(follow) of an exited container", ReadLogs(t, sb, id, runner.LogRead{Follow: true}), want)
	for i := range want {
		want[i].Text, want[i].Cut = want[i].Text[:2], true
	}
	checkLines(t, "Logs(MaxLine 2)", ReadLogs(t, sb, id, runner.LogRead{MaxLine: 2}), want)
}

// ReadLogs returns every line Logs passes.
func ReadLogs(t *testing.T, sb runner.Sandbox, id string, r runner.LogRead) []runner.LogLine {
	t.Helper()
	var lines []runner.LogLine
	err := sb.Logs(timeout(t), id, r, func(l runner.LogLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatalf("Logs(%+v): %v", r, err)
	}
	return lines
}

// checkLines compares lines but for their times, which must be set.
func checkLines(t *testing.T, what string, got, want []runner.LogLine) {
	t.Helper()
	for i := range got {
		if got[i].Time.IsZero() {
			t.Errorf("%s: line %d has no time", what, i)
		}
		got[i].Time = time.Time{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s =\n%+v\nwant\n%+v", what, got, want)
	}
}

func (c *contract) exec(t *testing.T) {
	sb := c.newSandbox(t)
	id := StartDetached(t, sb, c.spec("sleep", "60"))
	ctx := timeout(t)
	for _, tc := range []struct {
		spec runner.ExecSpec
		want runner.ExecResult
	}{
		{runner.ExecSpec{Command: []string{"echo", "hi"}}, runner.ExecResult{Stdout: "hi\n"}},
		{runner.ExecSpec{Command: []string{"sh", "-c", "echo e >&2; exit 5"}}, runner.ExecResult{ExitCode: 5, Stderr: "e\n"}},
		{runner.ExecSpec{Command: []string{"cat"}, Stdin: []byte("fed")}, runner.ExecResult{Stdout: "fed"}},
		{runner.ExecSpec{Command: []string{"echo", "0123456789"}, MaxOutput: 4}, runner.ExecResult{Stdout: "0123", Truncated: true}},
	} {
		tc.spec.Timeout = generous
		got, err := sb.Exec(ctx, id, tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("Exec(%q) = %+v, %v; want %+v", tc.spec.Command, got, err, tc.want)
		}
	}
	got, err := sb.Exec(ctx, id, runner.ExecSpec{Command: []string{"env"}, Env: map[string]string{"EXEC_VAR": "set"}, Timeout: generous, MaxOutput: 64 << 10})
	if err != nil || got.ExitCode != 0 || !strings.Contains(got.Stdout, "EXEC_VAR=set\n") {
		t.Errorf("Exec(env) with EXEC_VAR = %+v, %v; want it set", got, err)
	}
}

func (c *contract) execTimeout(t *testing.T) {
	sb := c.newSandbox(t)
	id := StartDetached(t, sb, c.spec("sleep", "60"))
	_, err := sb.Exec(timeout(t), id, runner.ExecSpec{Command: []string{"sleep", "30"}, Timeout: 500 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exec past its timeout = %v, want DeadlineExceeded", err)
	}
}

func (c *contract) execStream(t *testing.T) {
	sb := c.newSandbox(t)
	id := StartDetached(t, sb, c.spec("sleep", "60"))
	ctx := timeout(t)
	for _, tc := range []struct {
		spec             runner.ExecStreamSpec
		stdin            string
		code             int
		wantOut, wantErr string
		outContains      string
	}{
		{spec: runner.ExecStreamSpec{Command: []string{"echo", "hi"}}, wantOut: "hi\n"},
		{spec: runner.ExecStreamSpec{Command: []string{"sh", "-c", "echo e >&2; exit 5"}}, code: 5, wantErr: "e\n"},
		{spec: runner.ExecStreamSpec{Command: []string{"cat"}}, stdin: "fed", wantOut: "fed"},
		{spec: runner.ExecStreamSpec{Command: []string{"env"}, Env: map[string]string{"EXEC_VAR": "set"}}, outContains: "EXEC_VAR=set\n"},
		// On a terminal stderr is the terminal too (which ends lines with \r\n).
		{spec: runner.ExecStreamSpec{Command: []string{"sh", "-c", "echo e >&2; exit 6"}, TTY: true}, code: 6, outContains: "e"},
	} {
		var stdout, stderr bytes.Buffer
		tc.spec.Timeout = generous
		tc.spec.ExecIO = runner.ExecIO{Stdin: strings.NewReader(tc.stdin), Stdout: &stdout, Stderr: &stderr}
		code, err := sb.ExecStream(ctx, id, tc.spec)
		ok := err == nil && code == tc.code && stderr.String() == tc.wantErr
		if tc.outContains != "" {
			ok = ok && strings.Contains(stdout.String(), tc.outContains)
		} else {
			ok = ok && stdout.String() == tc.wantOut
		}
		if !ok {
			t.Errorf("ExecStream(%q, tty %v) = %d, %v, stdout %q, stderr %q; want %d, %q%q, %q",
				tc.spec.Command, tc.spec.TTY, code, err, stdout.String(), stderr.String(), tc.code, tc.wantOut, tc.outContains, tc.wantErr)
		}
	}
}

func (c *contract) execStreamTimeout(t *testing.T) {
	sb := c.newSandbox(t)
	id := StartDetached(t, sb, c.spec("sleep", "60"))
	_, err := sb.ExecStream(timeout(t), id, runner.ExecStreamSpec{Command: []string{"sleep", "30"}, Timeout: 500 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ExecStream past its timeout = %v, want DeadlineExceeded", err)
	}
}

func (c *contract) stats(t *testing.T) {
	sb := c.newSandbox(t)
	id := StartDetached(t, sb, c.spec("sleep", "60"))
	s, err := sb.Stats(timeout(t), id)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s.MemoryLimit != uint64(Limits.Memory) || s.PIDs < 1 || s.CPUPercent < 0 {
		t.Fatalf("Stats = %+v, want MemoryLimit %d and PIDs >= 1", s, Limits.Memory)
	}
	created := Create(t, sb, c.spec("true"))
	if _, err := sb.Stats(timeout(t), created); err == nil {
		t.Errorf("Stats of a container never started: no error")
	}
	if err := sb.Remove(timeout(t), created); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Stats(timeout(t), created); !errors.Is(err, runner.ErrNoContainer) {
		t.Errorf("Stats of a removed container = %v, want ErrNoContainer", err)
	}
}

// sampleMany: one Sample call answers for every running container asked
// about and leaves out the rest (never started, exited, removed) instead of failing.
func (c *contract) sampleMany(t *testing.T) {
	sb := c.newSandbox(t)
	a := StartDetached(t, sb, c.spec("sleep", "60"))
	b := StartDetached(t, sb, c.spec("sleep", "60"))
	created := Create(t, sb, c.spec("true"))
	removed := Create(t, sb, c.spec("true"))
	if err := sb.Remove(timeout(t), removed); err != nil {
		t.Fatal(err)
	}
	got, err := sb.Sample(timeout(t), []string{a, created, removed, b})
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("Sample answered for %d containers, want the 2 running ones: %+v", len(got), got)
	}
	for _, id := range []string{a, b} {
		s, ok := got[id]
		if !ok || s.MemoryLimit != uint64(Limits.Memory) || s.PIDs < 1 || s.MemoryUsage == 0 {
			t.Errorf("Sample of running %s = %+v (present %v), want MemoryLimit %d, PIDs >= 1, memory in use", id, s, ok, Limits.Memory)
		}
	}
	if got, err := sb.Sample(timeout(t), nil); err != nil || len(got) != 0 {
		t.Errorf("Sample of nothing = %v, %v; want an empty answer", got, err)
	}
}

func (c *contract) logsFollow(t *testing.T) {
	sb := c.newSandbox(t)
	id := StartDetached(t, sb, c.spec("sh", "-c", "echo a; sleep 1; echo b"))
	got := ReadLogs(t, sb, id, runner.LogRead{Follow: true})
	checkLines(t, "Logs(follow)", got, []runner.LogLine{{Seq: 1, Stream: runner.Stdout, Text: "a"}, {Seq: 2, Stream: runner.Stdout, Text: "b"}})
}

func (c *contract) startFailure(t *testing.T) {
	sb := c.newSandbox(t)
	ctx := timeout(t)
	id := Create(t, sb, c.spec("no-such-command-anywhere"))
	a, err := sb.Attach(ctx, id, runner.Streams{})
	if err == nil {
		err = sb.Start(ctx, id)
	}
	if err == nil {
		// The fake (like a shell) runs it and reports 127.
		exit, err := a.Wait(ctx)
		if err != nil || exit.Code != 127 {
			t.Fatalf("a missing command: Wait = %+v, %v; want 127 or a start error", exit, err)
		}
		return
	}
	// A sandbox that fails to start a container removes it.
	if _, err := sb.Inspect(ctx, id); !errors.Is(err, runner.ErrNoContainer) {
		t.Errorf("after a failed start, Inspect = %v, want ErrNoContainer", err)
	}
}

func (c *contract) parallelAttach(t *testing.T) {
	ParallelEcho(t, c.newSandbox(t), c.labels, 16)
}

// ParallelEcho runs n containers at once, each echoing its own payload through
// stdin, and checks that no stream is crossed, lost or hung.
func ParallelEcho(t *testing.T, sb runner.Sandbox, labels map[string]string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = Create(t, sb, Spec(labels, "sh", "-c", fmt.Sprintf("cat; echo done-%d >&2", i)))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		wg.Go(func() {
			payload := strings.Repeat(fmt.Sprintf("payload-%d-", i), 100+i)
			var stdout, stderr bytes.Buffer
			a, err := sb.Attach(ctx, id, runner.Streams{Stdin: strings.NewReader(payload), Stdout: &stdout, Stderr: &stderr})
			if err == nil {
				err = sb.Start(ctx, id)
			}
			var exit runner.Exit
			if err == nil {
				exit, err = a.Wait(ctx)
			}
			switch {
			case err != nil:
				errs[i] = err
			case exit.Code != 0 || stdout.String() != payload || stderr.String() != fmt.Sprintf("done-%d\n", i):
				errs[i] = fmt.Errorf("code %d, stdout %d bytes (own payload: %v), stderr %q", exit.Code, stdout.Len(), stdout.String() == payload, stderr.String())
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("container %d: %v", i, err)
		}
	}
}
