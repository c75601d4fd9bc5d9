package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/api/handlers"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
)

// Exec runs a command in a running container. The process joins the
// container's namespaces and keeps its capability set and no_new_privs, so it
// is as confined as the container (the tests check this from inside).
func (p *Podman) Exec(ctx context.Context, id string, es runner.ExecSpec) (runner.ExecResult, error) {
	if len(es.Command) == 0 {
		return runner.ExecResult{}, fmt.Errorf("exec in container %s: %w: empty command", id, runner.ErrInvalid)
	}
	if es.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, es.Timeout)
		defer cancel()
	}
	cfg := &handlers.ExecCreateConfig{}
	cfg.Cmd = es.Command
	cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr = true, true, true
	cfg.DetachKeys = "" // no byte sequence in stdin may detach
	var sid string
	err := p.do(ctx, "exec_create", func(ctx context.Context) (err error) {
		sid, err = containers.ExecCreate(ctx, id, cfg)
		return err
	})
	if err != nil {
		return runner.ExecResult{}, p.execErr(ctx, id, err)
	}
	st, err := p.hijack(ctx, "exec_start", "/exec/"+url.PathEscape(sid)+"/start", nil, handlers.ExecStartConfig{})
	if err != nil {
		return runner.ExecResult{}, p.execErr(ctx, id, err)
	}
	defer st.Close()
	go func() { _ = st.feed(bytes.NewReader(es.Stdin)) }()
	stdout, stderr := &capped{max: es.MaxOutput}, &capped{max: es.MaxOutput}
	done := make(chan error, 1)
	go func() { done <- st.demux(stdout, stderr) }()
	result := func() runner.ExecResult {
		return runner.ExecResult{Stdout: stdout.String(), Stderr: stderr.String(), Truncated: stdout.truncated || stderr.truncated}
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		st.Close()
		<-done // the buffers are ours again
		p.killExec(sid, id)
		res := result()
		res.ExitCode = -1
		return res, p.execErr(ctx, id, ctx.Err())
	}
	code, ierr := p.execExitCode(ctx, sid)
	if ierr != nil {
		return result(), p.execErr(ctx, id, errors.Join(ierr, err))
	}
	res := result()
	res.ExitCode = code
	return res, nil
}

// execExitCode waits the few milliseconds conmon needs to record the exit.
func (p *Podman) execExitCode(ctx context.Context, sid string) (int, error) {
	delay := 2 * time.Millisecond
	for {
		s, err := p.execInspect(ctx, sid)
		if err != nil {
			return 0, err
		}
		if !s.Running {
			return s.ExitCode, nil
		}
		if err := sleep(ctx, delay); err != nil {
			return 0, err
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
}

func (p *Podman) execInspect(ctx context.Context, sid string) (*define.InspectExecSession, error) {
	var s *define.InspectExecSession
	err := p.do(ctx, "exec_inspect", func(ctx context.Context) (err error) {
		s, err = containers.ExecInspect(ctx, sid, nil)
		return err
	})
	return s, err
}

// killExec ends an exec'd process that ran past its timeout. Podman 4.3 has
// no API for it (exec remove came later), so this is best effort: it signals
// the host PID, and only if that process still sits in the container's cgroup
// (guarding against PID reuse and a service on another machine).
func (p *Podman) killExec(sid, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := p.execInspect(ctx, sid)
	if err != nil || !s.Running || s.Pid <= 0 {
		return
	}
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(s.Pid) + "/cgroup")
	if err != nil || !strings.Contains(string(cg), id) {
		return
	}
	_ = syscall.Kill(s.Pid, syscall.SIGKILL)
}

func (p *Podman) execErr(ctx context.Context, id string, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %v", ctx.Err(), err)
	}
	return wrapErr("exec in", id, err)
}

// capped keeps the first max bytes written and counts the rest as truncated.
type capped struct {
	bytes.Buffer
	max       int
	truncated bool
}

func (c *capped) Write(b []byte) (int, error) {
	n := len(b)
	if room := c.max - c.Len(); c.max > 0 && len(b) > room {
		b, c.truncated = b[:max(room, 0)], true
	}
	c.Buffer.Write(b)
	return n, nil
}
