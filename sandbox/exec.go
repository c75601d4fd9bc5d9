package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/shimproto"
)

// Exec runs a command in a running container. The process joins the
// container's namespaces and keeps its capability set and no_new_privs, so it
// is as confined as the container (the tests check this from inside). In a
// gVisor container it always runs under the shim, which installs the
// container's seccomp profile first (see FilterTarget); one that cannot be
// filtered is refused.
//
// With a shim (Config.ShimPath), the command runs under it (`shim --exec
// TOKEN -- CMD`), in a session of its own below the shim; if the exec times
// out or ctx ends first (the client left), a second exec, `shim --kill
// TOKEN`, kills the whole tree it started before Exec returns. Podman 4.3
// has no call to end an exec session, and killing its first process would
// leave its children running; this needs nothing in the image, not even a
// shell. A container without the shim (created before it was mounted in
// every container) gets the command directly, and only its first process
// is killed.
func (p *Podman) Exec(ctx context.Context, id string, es runner.ExecSpec) (runner.ExecResult, error) {
	if len(es.Command) == 0 {
		return runner.ExecResult{}, fmt.Errorf("exec in container %s: %w: empty command", id, runner.ErrInvalid)
	}
	if es.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, es.Timeout)
		defer cancel()
	}
	filter, err := p.shimFilter(ctx, id)
	if err != nil {
		return runner.ExecResult{}, err
	}
	token := ""
	if _, lacks := p.noExecShim.Load(id); filter != nil || p.cfg.ShimPath != "" && !lacks {
		token = rand.Text()
	}
	res, err := p.exec(ctx, id, execCommand(es.Command, token, filter), es, token)
	if filter == nil && token != "" && err == nil && (shimMissing(res) || shimUnusable(res)) {
		p.noExecShim.Store(id, struct{}{})
		return p.exec(ctx, id, es.Command, es, "")
	}
	return res, err
}

// execCommand is the command an exec runs: under the shim when token is
// set, and under podrun's seccomp filter when filter is (see shimFilter).
func execCommand(cmd []string, token string, filter []string) []string {
	if token == "" {
		return cmd
	}
	return slices.Concat([]string{ShimTarget}, filter, []string{shimproto.ExecFlag, token, "--"}, cmd)
}

// shimMissing reports whether the runtime could not find the shim: the
// container was created without it.
func shimMissing(res runner.ExecResult) bool {
	return res.ExitCode == 127 && strings.Contains(res.Stderr, `"`+ShimTarget+`"`) && strings.Contains(res.Stderr, "no such file or directory")
}

// shimUnusable reports whether the shim could not become the subreaper of
// the exec: gVisor (2022) does not implement PR_SET_CHILD_SUBREAPER. Such a
// container's execs run without the shim, so a timed-out exec's first
// process alone is killed.
func shimUnusable(res runner.ExecResult) bool {
	return res.ExitCode == 125 && strings.HasPrefix(res.Stderr, "podrun-shim: become the subreaper of the exec:")
}

// exec runs cmd in the container with es's stdin, its output kept in capped
// buffers; on ctx's end it kills what it started (through the shim if token
// is set) and returns ctx's error with the output so far.
func (p *Podman) exec(ctx context.Context, id string, cmd []string, es runner.ExecSpec, token string) (runner.ExecResult, error) {
	stdout, stderr := runner.NewCapped(int64(es.MaxOutput)), runner.NewCapped(int64(es.MaxOutput))
	code, err := p.runExec(ctx, id, execRun{cmd: cmd, env: es.Env, workdir: es.Workdir, stdin: bytes.NewReader(es.Stdin), stdout: stdout, stderr: stderr}, token)
	res := runner.ExecResult{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String(), Truncated: stdout.Truncated() || stderr.Truncated()}
	return res, err
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

// killTimeout bounds the kill of an exec's processes.
const killTimeout = 15 * time.Second

// killExec ends an exec that ran past its timeout or lost its client, and
// returns once it has. Under the shim (token set) another exec kills its
// whole process tree from inside the container. Otherwise, or if that
// fails, it is best effort: it signals the exec's first process by its host
// PID, only if that process still sits in the container's cgroup (guarding
// against PID reuse and a service on another machine).
func (p *Podman) killExec(sid, id, token string) {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	if token != "" {
		filter, _ := p.shimFilter(ctx, id) // known by now: the exec ran
		kill := slices.Concat([]string{ShimTarget}, filter, []string{shimproto.KillFlag, token})
		res, err := p.exec(ctx, id, kill, runner.ExecSpec{MaxOutput: 4 << 10}, "")
		if err == nil && res.ExitCode == 0 {
			return
		}
	}
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
	if ended(ctx, err) {
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		if !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %v", cause, err)
		}
	}
	return wrapErr("exec in", id, err)
}

// ended reports whether ctx is done, or err is the socket's deadline, set to
// ctx's, firing a moment before ctx's own timer.
func ended(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d)
}
