package runnertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/shimproto"
)

// Fake is an in-memory runner.Sandbox that passes the contract suite. Its
// containers run a tiny interpreter (echo, cat, true, false, sleep N, exit N,
// oom, sh -c 'a; b >&2') in goroutines, in real time. The zero value is ready.
//
// The exported fields are test hooks; change them with Set while the Fake is in use.
type Fake struct {
	// FailCreate, if set, is returned (wrapped) by Create.
	FailCreate error
	// FailStart, if set, is returned (wrapped) by Start, which removes the container as the real sandbox does.
	FailStart error
	// HostInfo is what Probe reports; a zero Version reports a fake cgroup v2 host.
	HostInfo runner.Host
	// CreateDelay makes Create take this long, as Podman's does (about 10 ms).
	CreateDelay time.Duration
	// UnavailableImages cannot be pulled, besides MissingImage.
	UnavailableImages map[string]bool
	// Unavailable makes every call fail with runner.ErrUnavailable, as while
	// the container service restarts; containers run on. See BreakStreams.
	Unavailable bool
	// FollowMisses makes a followed Logs end this many lines short, as
	// Podman's follower can when the container is removed right after it exits.
	FollowMisses int
	// FollowHangs makes a followed Logs pass the lines, then wait for its
	// context instead of ending, as Podman's follower can when it misses the
	// container's exit.
	FollowHangs bool
	// Samples are what Sample reports for a running container, by container
	// ID; one not listed reads 1 MiB of memory and one process.
	Samples map[string]runner.Sample
	// ExitSamples are what an attachment's Wait reports as a container's
	// last reading (Exit.Usage), by container ID; none for one not listed.
	ExitSamples map[string]runner.Sample
	// SampleCalls counts calls of Sample.
	SampleCalls int

	secrets fakeSecrets

	mu   sync.Mutex
	ctrs map[string]*fakeContainer
	seq  int // creation order, for Containers
	// mounted keeps the secrets each container was created with, after its removal too.
	mounted map[string][]string
}

var _ runner.Sandbox = (*Fake)(nil)

// Set runs fn with the Fake locked, to change its hooks safely.
func (f *Fake) Set(fn func(f *Fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

type fakeContainer struct {
	c        runner.Container
	spec     runner.Spec
	seq      int
	stdinR   *io.PipeReader
	stdinW   *io.PipeWriter
	signal   chan struct{} // closed on Kill or Stop
	sigCode  int           // 137 or 143 once signalled
	done     chan struct{} // closed when the process has exited
	log      []logChunk
	attached []*fakeStream
}

type logChunk struct {
	stderr bool
	data   []byte
	at     time.Time
}

// Containers returns a snapshot of every container, oldest first.
func (f *Fake) Containers() []runner.Container {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := slices.Collect(maps.Values(f.ctrs))
	slices.SortFunc(all, func(a, b *fakeContainer) int { return a.seq - b.seq })
	out := make([]runner.Container, len(all))
	for i, c := range all {
		out[i] = c.snapshot()
	}
	return out
}

func (c *fakeContainer) snapshot() runner.Container {
	s := c.c
	s.Labels = maps.Clone(c.c.Labels)
	return s
}

// Probe reports HostInfo.
func (f *Fake) Probe(context.Context) (runner.Host, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.HostInfo.Version != "" {
		return f.HostInfo, nil
	}
	return runner.Host{Version: "fake", Runtime: "fake", CgroupVersion: "v2", Controllers: []string{"cpu", "memory", "pids"}}, nil
}

// Ping answers unless the service is Unavailable.
func (f *Fake) Ping(context.Context) error { return f.down("ping") }

// EnsureImage fails for MissingImage and UnavailableImages.
func (f *Fake) EnsureImage(_ context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checkImage(ref)
}

func (f *Fake) checkImage(ref string) error {
	if ref == MissingImage || f.UnavailableImages[ref] {
		return fmt.Errorf("image %s is not present locally and could not be pulled: %w", ref, runner.ErrImageUnavailable)
	}
	return nil
}

// Create records a container in state created. Like Podman, it finishes a
// create whose caller's context ended, and only the answer is lost.
func (f *Fake) Create(ctx context.Context, spec runner.Spec) (string, error) {
	if err := f.down("create"); err != nil {
		return "", err
	}
	f.mu.Lock()
	delay := f.CreateDelay
	f.mu.Unlock()
	time.Sleep(delay)
	id, err := f.create(spec)
	if err == nil && ctx.Err() != nil {
		return "", fmt.Errorf("create container: %w", ctx.Err())
	}
	return id, err
}

func (f *Fake) create(spec runner.Spec) (string, error) {
	if err := f.checkSecrets(spec); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailCreate != nil {
		return "", fmt.Errorf("create container from %s: %w", spec.Image, f.FailCreate)
	}
	if err := f.checkImage(spec.Image); err != nil {
		return "", err
	}
	if f.ctrs == nil {
		f.ctrs = map[string]*fakeContainer{}
	}
	for _, c := range f.ctrs {
		if spec.Name != "" && c.c.Name == spec.Name {
			return "", fmt.Errorf("create container %s: name in use: %w", spec.Name, runner.ErrConflict)
		}
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	name := spec.Name
	if name == "" {
		name = "fake_" + id[:8]
	}
	r, w := io.Pipe()
	f.seq++
	if f.mounted == nil {
		f.mounted = map[string][]string{}
	}
	f.mounted[id] = slices.Clone(spec.Secrets)
	f.ctrs[id] = &fakeContainer{
		c:      runner.Container{ID: id, Name: name, Labels: maps.Clone(spec.Labels), State: "created", CreatedAt: time.Now()},
		spec:   spec,
		seq:    f.seq,
		stdinR: r, stdinW: w,
		signal: make(chan struct{}),
		done:   make(chan struct{}),
	}
	return id, nil
}

func (f *Fake) get(op, id string) (*fakeContainer, error) {
	c, ok := f.ctrs[id]
	if !ok {
		return nil, fmt.Errorf("%s container %s: %w", op, id, runner.ErrNoContainer)
	}
	return c, nil
}

// Start runs the container's command in a goroutine.
func (f *Fake) Start(_ context.Context, id string) error {
	if err := f.down("start"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get("start", id)
	if err != nil {
		return err
	}
	if f.FailStart != nil {
		delete(f.ctrs, id)
		return fmt.Errorf("start container %s: %w", id, f.FailStart)
	}
	switch c.c.State {
	case "running":
		return nil
	case "exited":
		return fmt.Errorf("start container %s: the fake cannot restart: %w", id, runner.ErrConflict)
	}
	c.c.State, c.c.Running, c.c.StartedAt = "running", true, time.Now()
	p := proc{stdin: c.stdinR, stdout: &fakeOutput{f: f, c: c}, stderr: &fakeOutput{f: f, c: c, stderr: true}, signalled: c.signal,
		env: maps.Clone(c.spec.Env)}
	go func() {
		code := p.shim(c.spec)
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case c.sigCode != 0:
			code = c.sigCode
		case code == codeOOM:
			code, c.c.OOMKilled = 137, true
		}
		c.c.State, c.c.Running, c.c.ExitCode, c.c.FinishedAt = "exited", false, code, time.Now()
		c.stdinR.CloseWithError(io.ErrClosedPipe) // unblocks stdin still being fed
		close(c.done)
	}()
	return nil
}

// shim runs the command as podrun's shim would: with a Shim spec it first
// reads the shimproto header from stdin and adds its environment, and ends
// stderr with the exit line unless the container was killed.
func (p proc) shim(spec runner.Spec) int {
	if !spec.Shim {
		return p.run(spec.Command)
	}
	code := codeSignalled
	h, err := shimproto.Decode(p.stdin)
	switch {
	case err != nil && p.wasSignalled():
		return codeSignalled
	case err != nil:
		fmt.Fprintf(p.stderr, "podrun-shim: %v\n", err)
		code = 125
	default:
		if p.env == nil {
			p.env = map[string]string{}
		}
		maps.Copy(p.env, h.Env)
		code = p.run(spec.Command)
	}
	if !p.wasSignalled() {
		line := code
		if code == codeOOM { // the shim sees its child killed by SIGKILL
			line = 137
		}
		_, _ = p.stderr.Write(shimproto.EncodeExit(line))
	}
	return code
}

func (p proc) wasSignalled() bool {
	select {
	case <-p.signalled:
		return true
	default:
		return false
	}
}

// fakeOutput keeps a container's output for Logs and copies it to the attached streams.
type fakeOutput struct {
	f      *Fake
	c      *fakeContainer
	stderr bool
}

func (o *fakeOutput) Write(b []byte) (int, error) {
	o.f.mu.Lock()
	o.c.log = append(o.c.log, logChunk{stderr: o.stderr, data: bytes.Clone(b), at: time.Now()})
	attached := slices.Clone(o.c.attached)
	o.f.mu.Unlock()
	for _, s := range attached {
		w := s.out.Stdout
		if o.stderr {
			w = s.out.Stderr
		}
		if w != nil {
			_, _ = w.Write(b)
		}
	}
	return len(b), nil
}

// kill ends the process with code, as SIGKILL (137) or SIGTERM (143) would; f.mu is held.
func (c *fakeContainer) kill(code int) {
	if (c.c.State != "running" && c.c.State != runner.ContainerPaused) || c.sigCode != 0 { // SIGKILL reaches a frozen process too
		return
	}
	c.sigCode = code
	close(c.signal)
	c.stdinR.CloseWithError(io.ErrClosedPipe)
}

// Inspect reports a container's state.
func (f *Fake) Inspect(_ context.Context, id string) (runner.Container, error) {
	if err := f.down("inspect"); err != nil {
		return runner.Container{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get("inspect", id)
	if err != nil {
		return runner.Container{}, err
	}
	return c.snapshot(), nil
}

// Kill ends the process with 137; a container that is not running is left alone.
func (f *Fake) Kill(_ context.Context, id string) error {
	if err := f.down("kill"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get("kill", id)
	if err != nil {
		return err
	}
	c.kill(137)
	return nil
}

// Stop ends the process with 143 (the fake's programs all honour SIGTERM) and waits for it.
func (f *Fake) Stop(ctx context.Context, id string, _ time.Duration) error {
	if err := f.down("stop"); err != nil {
		return err
	}
	f.mu.Lock()
	c, err := f.get("stop", id)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	running := c.c.State == "running" || c.c.State == runner.ContainerPaused
	c.kill(143)
	f.mu.Unlock()
	if !running {
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop container %s: %w", id, ctx.Err())
	}
}

// Remove kills and forgets a container.
func (f *Fake) Remove(_ context.Context, id string) error {
	if err := f.down("remove"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get("remove", id)
	if err != nil {
		return err
	}
	c.kill(137)
	delete(f.ctrs, id)
	return nil
}

// Vanish removes a container even while the service is Unavailable, as
// when it is removed by hand (podman rm) during an outage podrun sees.
func (f *Fake) Vanish(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.ctrs[id]; ok {
		c.kill(137)
		delete(f.ctrs, id)
	}
}

// List returns the containers carrying all the labels.
func (f *Fake) List(_ context.Context, labels map[string]string) ([]runner.Container, error) {
	if err := f.down("list"); err != nil {
		return nil, err
	}
	var out []runner.Container
	for _, c := range f.Containers() {
		if hasLabels(c.Labels, labels) {
			out = append(out, c)
		}
	}
	return out, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Logs passes the output as lines, both streams in the order written; with
// Follow it first waits for the container to end (see FollowMisses).
func (f *Fake) Logs(ctx context.Context, id string, r runner.LogRead, emit func(runner.LogLine) error) error {
	if err := f.down("logs"); err != nil {
		return err
	}
	f.mu.Lock()
	c, err := f.get("logs of", id)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if r.Follow {
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil
		}
	}
	maxLine := r.MaxLine
	if maxLine <= 0 {
		maxLine = runner.MaxLogLine
	}
	f.mu.Lock()
	lines := logLines(c.log, maxLine)
	if r.Follow {
		lines = lines[:max(len(lines)-f.FollowMisses, 0)]
	}
	f.mu.Unlock()
	for _, l := range lines {
		if err := emit(l); err != nil {
			return err
		}
	}
	f.mu.Lock()
	hang := r.Follow && f.FollowHangs
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
	}
	return nil
}

// logLines cuts the written chunks into numbered lines, as the real sandbox
// does: a line is done at its newline, and what is left at the end is partial.
func logLines(log []logChunk, maxLine int) []runner.LogLine {
	var out []runner.LogLine
	var pending [2]*runner.LogLine
	add := func(l *runner.LogLine, text string) {
		if room := maxLine - len(l.Text); len(text) > room {
			text, l.Cut = text[:max(room, 0)], true
		}
		l.Text += text
	}
	for _, ch := range log {
		i, stream := 0, runner.Stdout
		if ch.stderr {
			i, stream = 1, runner.Stderr
		}
		rest := string(ch.data)
		for rest != "" {
			if pending[i] == nil {
				pending[i] = &runner.LogLine{Time: ch.at, Stream: stream}
			}
			text, after, done := strings.Cut(rest, "\n")
			add(pending[i], text)
			rest = after
			if done {
				l := *pending[i]
				l.Seq, pending[i] = int64(len(out)+1), nil
				out = append(out, l)
			}
		}
	}
	for _, p := range pending {
		if p != nil {
			l := *p
			l.Seq, l.Partial = int64(len(out)+1), true
			out = append(out, l)
		}
	}
	return out
}

// Stats reports the container's limits and one process.
func (f *Fake) Stats(_ context.Context, id string) (runner.Stats, error) {
	if err := f.down("stats"); err != nil {
		return runner.Stats{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get("stats of", id)
	if err != nil {
		return runner.Stats{}, err
	}
	if c.c.State != "running" {
		return runner.Stats{}, fmt.Errorf("stats of container %s: not running: %w", id, runner.ErrConflict)
	}
	return runner.Stats{MemoryUsage: 1 << 20, MemoryLimit: uint64(c.spec.Limits.Memory), PIDs: 1}, nil
}

// Exec runs the interpreter beside the container's process.
func (f *Fake) Exec(ctx context.Context, id string, spec runner.ExecSpec) (runner.ExecResult, error) {
	if err := f.down("exec"); err != nil {
		return runner.ExecResult{}, err
	}
	f.mu.Lock()
	c, err := f.get("exec in", id)
	if err == nil && c.c.State != "running" {
		err = fmt.Errorf("exec in container %s: not running: %w", id, runner.ErrConflict)
	}
	f.mu.Unlock()
	if err != nil {
		return runner.ExecResult{}, err
	}
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	stdout, stderr := runner.NewCapped(int64(spec.MaxOutput)), runner.NewCapped(int64(spec.MaxOutput))
	sig := make(chan struct{})
	codes := make(chan int, 1)
	go func() {
		codes <- proc{stdin: bytes.NewReader(spec.Stdin), stdout: stdout, stderr: stderr, signalled: sig, env: spec.Env}.run(spec.Command)
	}()
	var code int
	select {
	case code = <-codes:
	case <-c.signal:
		close(sig)
		<-codes
		code = 137
	case <-ctx.Done():
		close(sig)
		<-codes
		err = fmt.Errorf("exec in container %s: %w", id, ctx.Err())
		code = -1
	}
	if code == codeSignalled || code == codeOOM {
		code = 137
	}
	return runner.ExecResult{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String(), Truncated: stdout.Truncated() || stderr.Truncated()}, err
}

// Pause marks a running container paused; its goroutine runs on (the fake
// models no CPU), but Exec refuses it as Podman does.
func (f *Fake) Pause(_ context.Context, id string) error {
	return f.setPaused("pause", id, "running", runner.ContainerPaused)
}

// Unpause marks a paused container running again.
func (f *Fake) Unpause(_ context.Context, id string) error {
	return f.setPaused("unpause", id, runner.ContainerPaused, "running")
}

func (f *Fake) setPaused(op, id, from, to string) error {
	if err := f.down(op); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(op, id)
	if err != nil {
		return err
	}
	if c.c.State != from {
		return fmt.Errorf("%s container %s: it is %s, not %s: %w", op, id, c.c.State, from, runner.ErrConflict)
	}
	c.c.State = to
	c.c.Running = to == "running"
	return nil
}
