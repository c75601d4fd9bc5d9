package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"github.com/podrun/podrun/runner/shimproto"
	"golang.org/x/sys/unix"
)

// maxFilterLen is BPF_MAXINSNS, the longest filter the kernel takes.
const maxFilterLen = 4096

// installFilter reads a seccomp filter from path and installs it on every
// thread of the shim (SECCOMP_FILTER_FLAG_TSYNC), so that whichever thread
// forks the command, the command and all it starts run under it. It sets
// no_new_privs first, as an unprivileged process must (the container has it
// already). A filter that cannot be read or installed is an error: the
// caller runs nothing then.
func installFilter(path string) error {
	prog, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read seccomp filter: %w", err)
	}
	if len(prog) == 0 || len(prog)%8 != 0 || len(prog)/8 > maxFilterLen {
		return fmt.Errorf("seccomp filter %s: %d bytes is not a program of 1 to %d instructions", path, len(prog), maxFilterLen)
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
		return fmt.Errorf("set no_new_privs: %w", e)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	r, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	switch {
	case e != 0:
		return fmt.Errorf("install seccomp filter %s: %w", path, e)
	case r != 0: // TSYNC: the thread that could not be synchronized
		return fmt.Errorf("install seccomp filter %s: thread %d cannot take it", path, r)
	}
	return nil
}

// filteredArgs installs the filter if args start with SeccompFlag FILE and
// returns the rest of args, and whether a filter is in place.
func filteredArgs(args []string) (rest []string, filtered bool, err error) {
	if len(args) == 0 || args[0] != shimproto.SeccompFlag {
		return args, false, nil
	}
	if len(args) < 2 || args[1] == "" {
		return nil, false, errors.New("usage: podrun-shim --seccomp FILE MODE...")
	}
	if err := installFilter(args[1]); err != nil {
		return nil, false, err
	}
	return args[2:], true, nil
}
