// Command podrun-shim is the entrypoint (PID 1) of every podrun function
// container. It reads one shimproto header from stdin, adds the header's
// environment to its own and runs its arguments as its child, so the command
// reads the rest of stdin (the request body) untouched. Like an init, it
// forwards signals to the command and reaps orphaned processes; once the
// command ends it writes the exit status as its last line on stderr and exits
// with it. It is built static (CGO_ENABLED=0) so it runs in any image, FROM
// scratch included.
//
// With podrun's egress proxy socket in its environment it forwards
// 127.0.0.1:3128 to it (egress.go); `podrun-shim --agent -- CMD...` runs an
// agent's command that way, without header or exit line.
//
// `podrun-shim --seccomp FILE MODE...` first installs the seccomp filter
// in FILE, for podrun's execs in gVisor containers (seccomp.go).
//
// podrun mounts it into agent containers too, for exec: `podrun-shim --exec
// TOKEN -- CMD...` runs CMD in a session of its own below the shim, which
// stays its parent and the subreaper of every process it starts, and
// `podrun-shim --kill TOKEN`, run as another exec, stops and kills that whole
// tree, found through /proc, so an exec that times out or whose client left
// leaves nothing running, even in an image without a shell or kill.
//
// A keep-alive agent's PID 1 is `podrun-shim --wait`, which runs nothing and
// lives until SIGTERM or SIGINT, and `podrun-shim --files OP PATH` does one
// file operation for the files API inside the container (see files.go).
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/podrun/podrun/runner/shimproto"
)

// Exit codes of the shim's own failures, as shells and container engines use them.
const (
	exitBadHeader     = 125
	exitNotExecutable = 126
	exitNotFound      = 127
)

// xOK is access(2)'s X_OK, which package syscall does not name.
const xOK = 1

func main() {
	args, filtered, err := filteredArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
		os.Exit(exitBadHeader)
	}
	if filtered {
		os.Exit(filteredMain(args))
	}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case shimproto.ExecFlag:
			os.Exit(execMain(os.Args[2:], os.Environ(), false))
		case shimproto.KillFlag:
			os.Exit(killMain(os.Args[2:]))
		case shimproto.WaitFlag:
			os.Exit(waitMain(os.Environ()))
		case shimproto.FilesFlag:
			os.Exit(filesMain(os.Args[2:], os.Stdin, os.Stdout))
		case shimproto.AgentFlag:
			os.Exit(agentMain(os.Args[2:], os.Environ()))
		}
	}
	code, err := run(os.Args[1:], os.Stdin, os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
	}
	_, _ = os.Stderr.Write(shimproto.EncodeExit(code))
	os.Exit(code)
}

// filteredMain runs a mode under the seccomp filter just installed: those
// podrun runs in a container through exec (exec, kill, files).
func filteredMain(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case shimproto.ExecFlag:
			return execMain(args[1:], os.Environ(), true)
		case shimproto.KillFlag:
			return killMain(args[1:])
		case shimproto.FilesFlag:
			return filesMain(args[1:], os.Stdin, os.Stdout)
		}
	}
	fmt.Fprintf(os.Stderr, "podrun-shim: usage: podrun-shim %s FILE {%s|%s|%s} ...\n", shimproto.SeccompFlag, shimproto.ExecFlag, shimproto.KillFlag, shimproto.FilesFlag)
	return exitBadHeader
}

// run runs the command and returns its exit status, or the shim's own failure.
func run(args []string, stdin *os.File, environ []string) (int, error) {
	if len(args) == 0 {
		return exitBadHeader, errors.New("no command to run")
	}
	// Decode reads a byte at a time from the unbuffered stdin, so the
	// command's first read gets the body's first byte.
	h, err := shimproto.Decode(stdin)
	if err != nil {
		return exitBadHeader, err
	}
	env, err := mergeEnv(environ, h.Env)
	if err != nil {
		return exitBadHeader, err
	}
	if err := startEgress(environ); err != nil {
		return exitBadHeader, err
	}
	path, err := lookPath(args[0], envValue(env, "PATH"))
	if err != nil {
		return exitCode(err), err
	}
	return runChild(path, args, env, &syscall.SysProcAttr{})
}

// mergeEnv returns environ with extra set over it: extra wins, and new names
// are appended in sorted order so the result does not depend on map order.
func mergeEnv(environ []string, extra map[string]string) ([]string, error) {
	for k, v := range extra {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("header env: invalid name %q", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("header env: value of %s contains NUL", k)
		}
	}
	out := make([]string, 0, len(environ)+len(extra))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if _, over := extra[name]; !over {
			out = append(out, kv)
		}
	}
	names := make([]string, 0, len(extra))
	for k := range extra {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		out = append(out, k+"="+extra[k])
	}
	return out, nil
}

// envValue returns the last value of name in env, as getenv does after duplicates.
func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// lookPath finds file as exec.LookPath does, but in the given PATH rather than
// the shim's own. A name with a slash is used as it is; an empty PATH element
// means the working directory. Unlike LookPath, a relative result is allowed:
// the shim runs what the function's own PATH says. If the name exists on PATH
// but nowhere executable, the error is fs.ErrPermission, so the exit is 126.
func lookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
		return file, nil
	}
	if file == "" {
		return "", fmt.Errorf("empty command name: %w", fs.ErrNotExist)
	}
	var notExec error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		// Like a shell, skip what is missing or a directory, but remember
		// a file that is there and may not be run.
		if errors.Is(err, errNotExecutable) && notExec == nil {
			notExec = fmt.Errorf("%s: %w", p, err)
		}
	}
	if notExec != nil {
		return "", notExec
	}
	return "", fmt.Errorf("%s: not found in PATH %q: %w", file, path, fs.ErrNotExist)
}

// executable reports why path cannot be executed, or nil if it can.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errIsDir
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return errNotExecutable
	}
	// access(2) also accounts for ownership; without capabilities, root in
	// the container is as bound by the mode bits as anyone.
	if err := syscall.Access(path, xOK); errors.Is(err, syscall.EACCES) {
		return errNotExecutable
	}
	return nil
}

// Reasons a file found cannot be executed; both mean exit 126.
var (
	errIsDir         = fmt.Errorf("is a directory: %w", fs.ErrPermission)
	errNotExecutable = fmt.Errorf("not executable: %w", fs.ErrPermission)
)

// exitCode maps a lookup or exec error to a shell's exit code: 127 for
// something missing (the file, or its interpreter or loader), 126 otherwise.
func exitCode(err error) int {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return exitNotFound
	}
	return exitNotExecutable
}
