package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// prSetChildSubreaper is prctl(2)'s PR_SET_CHILD_SUBREAPER, which package syscall does not name.
const prSetChildSubreaper = 36

// execMain runs an exec's command and exits with its status; it writes
// nothing of its own but its failures ("podrun-shim: ..." on stderr).
func execMain(args, environ []string, filtered bool) int {
	code, err := execCommand(args, environ, filtered)
	if err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
	}
	return code
}

// execCommand runs CMD in a session (and process group) of its own, or on a
// terminal in the foreground process group of its own (see execProcAttr), and
// becomes the subreaper of all it starts: a process whose parent dies is
// re-parented to the shim, not to the container's PID 1, so every process
// the exec started, even one that called setsid and double-forked, stays
// below the shim where --kill finds it. TOKEN only marks the shim's command
// line for --kill.
//
// Under podrun's seccomp filter (filtered: a gVisor container, whose execs
// must run under the shim to be filtered at all) the shim goes on without
// the subreaper where the kernel lacks it (gVisor 2022 answers EINVAL):
// --kill then finds what is still below the shim, but not a process that
// double-forked away from it.
func execCommand(args, environ []string, filtered bool) (int, error) {
	if len(args) < 3 || args[0] == "" || args[1] != "--" {
		return exitBadHeader, errors.New("usage: podrun-shim --exec TOKEN -- CMD [ARG...]")
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 && !(filtered && e == syscall.EINVAL) {
		return exitBadHeader, fmt.Errorf("become the subreaper of the exec: %w", e)
	}
	cmd := args[2:]
	path, err := lookPath(cmd[0], envValue(environ, "PATH"))
	if err != nil {
		return exitCode(err), err
	}
	code, err := runChild(path, cmd, environ, execProcAttr())
	reapZombies()
	return code, err
}

// execProcAttr places the command in a session of its own, or, on a
// terminal (an exec with a tty), in a process group of its own made the
// terminal's foreground group: the runtime made the shim the leader of the
// terminal's session, which another session cannot take over, and the
// foreground group is where the terminal sends ^C and SIGWINCH and what a
// shell's job control needs.
func execProcAttr() *syscall.SysProcAttr {
	if isTerminal(0) {
		return &syscall.SysProcAttr{Setpgid: true, Foreground: true, Ctty: 0}
	}
	return &syscall.SysProcAttr{Setsid: true}
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	var t syscall.Termios
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return e == 0
}

// reapZombies collects the children that have already ended, so none is
// left to a PID 1 that may never wait for it; those still running outlive
// the exec, as they would without the shim.
func reapZombies() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}

// killMain kills the process tree of the exec marked TOKEN and reports
// how many processes it killed on stdout; it exits 0 once none is left.
func killMain(args []string) int {
	if len(args) != 1 || args[0] == "" {
		fmt.Fprintln(os.Stderr, "podrun-shim: usage: podrun-shim --kill TOKEN")
		return exitBadHeader
	}
	n, err := killExec("/proc", args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
		return 1
	}
	fmt.Printf("killed %d\n", n)
	return 0
}
