package sandbox

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"

	"github.com/containers/podman/v5/pkg/api/handlers"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/shimproto"
)

// ExecStream runs a command in a running container with the client's
// streams connected while it runs, and returns its exit code. It is as
// confined as Exec's, and like Exec it runs under the shim when the
// container has it, so when ctx ends (the client left) or the timeout
// passes, `shim --kill TOKEN` kills the command's whole process tree before
// ExecStream returns ctx's error.
//
// With TTY, Podman (4.3 included) runs the command on a pseudo-terminal
// whose first size is spec.Size, sends its output as one raw stream (no
// frame headers) and resizes it through POST /exec/{id}/resize; the shim
// makes the command the terminal's foreground process group, so ^C and
// SIGWINCH reach it.
func (p *Podman) ExecStream(ctx context.Context, id string, es runner.ExecStreamSpec) (int, error) {
	if len(es.Command) == 0 {
		return -1, fmt.Errorf("exec in container %s: %w: empty command", id, runner.ErrInvalid)
	}
	if es.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, es.Timeout)
		defer cancel()
	}
	filter, err := p.shimFilter(ctx, id)
	if err != nil {
		return -1, err
	}
	token := rand.Text() // a gVisor container's execs always run under the shim
	if filter == nil {
		if token, err = p.execToken(ctx, id); err != nil {
			return -1, err
		}
	}
	run := execRun{
		cmd: execCommand(es.Command, token, filter), env: es.Env, workdir: es.Workdir,
		tty: es.TTY, size: es.Size, stdin: es.Stdin, stdout: es.Stdout, stderr: es.Stderr, resize: es.Resize,
	}
	return p.runExec(ctx, id, run, token)
}

// execToken returns a fresh token when the container's execs can run under
// the shim, and "" when they cannot. The first time it asks the container
// (a shim that runs the shim), as a streamed exec's output cannot be taken
// back to try again without it as Exec does.
func (p *Podman) execToken(ctx context.Context, id string) (string, error) {
	if p.cfg.ShimPath == "" {
		return "", nil
	}
	if _, lacks := p.noExecShim.Load(id); lacks {
		return "", nil
	}
	if _, ok := p.execShimOK.Load(id); !ok {
		token := rand.Text()
		probe := execCommand([]string{ShimTarget, shimproto.KillFlag, rand.Text()}, token, nil)
		res, err := p.exec(ctx, id, probe, runner.ExecSpec{MaxOutput: 4 << 10}, token)
		if err != nil {
			return "", err
		}
		if shimMissing(res) || shimUnusable(res) {
			p.noExecShim.Store(id, struct{}{})
			return "", nil
		}
		p.execShimOK.Store(id, struct{}{})
	}
	return rand.Text(), nil
}

// execRun is one exec session as Podman is asked for it.
type execRun struct {
	cmd     []string
	env     map[string]string
	workdir string
	tty     bool
	size    runner.TermSize
	stdin   io.Reader // nil: no stdin
	stdout  io.Writer // nil discards
	stderr  io.Writer // nil discards; unused with tty
	resize  <-chan runner.TermSize
}

// runExec creates and starts an exec session, connects its streams, and
// returns its exit code once its output has ended. When ctx ends first it
// closes the stream, kills what the session started (through the shim if
// token is set) and returns ctx's error with exit code -1; the writers are
// no longer written to once it returns.
func (p *Podman) runExec(ctx context.Context, id string, run execRun, token string) (int, error) {
	cfg := &handlers.ExecCreateConfig{}
	cfg.Cmd = run.cmd
	cfg.Tty = run.tty
	cfg.WorkingDir = run.workdir
	for _, k := range slices.Sorted(maps.Keys(run.env)) {
		cfg.Env = append(cfg.Env, k+"="+run.env[k])
	}
	cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr = run.stdin != nil, true, true
	cfg.DetachKeys = "" // no byte sequence in stdin may detach
	var sid string
	err := p.do(ctx, "exec_create", func(ctx context.Context) (err error) {
		sid, err = containers.ExecCreate(ctx, id, cfg)
		return err
	})
	if err != nil {
		return -1, p.execErr(ctx, id, err)
	}
	start := handlers.ExecStartConfig{Tty: run.tty}
	if run.tty {
		start.Height, start.Width = run.size.Rows, run.size.Cols
	}
	st, err := p.hijack(ctx, "exec_start", "/exec/"+url.PathEscape(sid)+"/start", nil, start)
	if err != nil {
		if ended(ctx, err) {
			p.killExec(sid, id, token) // the start may have gone through
		}
		return -1, p.execErr(ctx, id, err)
	}
	defer st.Close()
	if run.stdin != nil {
		// Errors are expected when the command exits without reading all of
		// its input; what it did is in the exit code.
		go func() { _ = st.feed(run.stdin) }()
	}
	done := make(chan error, 1)
	go func() {
		if run.tty {
			done <- st.raw(run.stdout) // a terminal's output has no frames
			return
		}
		done <- st.demux(run.stdout, run.stderr)
	}()
	resizes := run.resize
	for {
		select {
		case err = <-done:
		case sz, ok := <-resizes:
			if !ok {
				resizes = nil
			} else if run.tty {
				p.resizeExec(ctx, sid, sz)
			}
			continue
		case <-ctx.Done():
			st.Close()
			<-done // the writers are the caller's again
			p.killExec(sid, id, token)
			return -1, p.execErr(ctx, id, ctx.Err())
		}
		break
	}
	code, ierr := p.execExitCode(ctx, sid)
	if ierr != nil {
		if ended(ctx, ierr) {
			p.killExec(sid, id, token)
		}
		return -1, p.execErr(ctx, id, fmt.Errorf("%w (stream: %v)", ierr, err))
	}
	return code, nil
}

// resizeExec sets the exec's terminal size. A failure is not the command's:
// a resize that races the command's exit finds no session, and the next
// resize tries again.
func (p *Podman) resizeExec(ctx context.Context, sid string, sz runner.TermSize) {
	if sz.Rows == 0 || sz.Cols == 0 {
		return
	}
	h, w := int(sz.Rows), int(sz.Cols)
	_ = p.do(ctx, "exec_resize", func(ctx context.Context) error {
		return containers.ResizeExecTTY(ctx, sid, &containers.ResizeExecTTYOptions{Height: &h, Width: &w})
	})
}

// raw copies a terminal's unframed output to w (nil discards) until EOF.
func (s *stream) raw(w io.Writer) error {
	k := &keepReading{w: w}
	if _, err := io.Copy(k, s.r); err != nil {
		return err
	}
	return k.err
}
