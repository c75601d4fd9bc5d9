//go:build ignore

// Abuse probes a container from inside, for the abuse suite (abuse_test.go).
// It is static and goes in an image beside busybox. Each probe prints one
// line, "NAME=RESULT": "ok" when the kernel did what was asked, else the errno
// name (EPERM, ENOSYS, ...), or a measured value.
//
//	abuse sys             every system-call probe, each in a child process
//	abuse one NAME        one system-call probe in this process
//	abuse names           the system-call probes' names
//	abuse shm MiB         fill a System V shared memory segment of MiB and keep it
//	abuse connect ADDR    TCP connect to ADDR (host:port)
//	abuse abstract NAME   connect to the abstract unix socket @NAME
//	abuse kaddr           kernel addresses visible in /proc/kallsyms (count of non-zero)
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// probes call the kernel with arguments chosen so that, past seccomp, the
// kernel answers without changing anything outside this process, and with
// an answer other than EPERM where it can (a bad pointer, flag or fd is
// checked before privileges), so that EPERM means seccomp said no.
var probes = map[string]func() error{
	// Namespaces.
	"unshare_user":       func() error { return unix.Unshare(unix.CLONE_NEWUSER) },
	"unshare_user_net":   func() error { return unix.Unshare(unix.CLONE_NEWUSER | unix.CLONE_NEWNET) },
	"unshare_user_mount": func() error { return unix.Unshare(unix.CLONE_NEWUSER | unix.CLONE_NEWNS) },
	"unshare_files":      func() error { return unix.Unshare(unix.CLONE_FILES) }, // no namespace: allowed
	"clone_newuser":      func() error { return spawn(unix.CLONE_NEWUSER) },
	"clone_plain":        func() error { return spawn(0) }, // fork and exec: allowed
	"clone3":             func() error { return raw(unix.SYS_CLONE3, 0, 0) },
	"setns":              func() error { return raw(unix.SYS_SETNS, ^uintptr(0), 0) },
	// The keyring.
	"keyctl_join": func() error { _, err := unix.KeyctlJoinSessionKeyring("podrun-probe"); return err },
	"add_key": func() error {
		_, err := unix.AddKey("user", "podrun-probe", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
		return err
	},
	"request_key": func() error {
		_, err := unix.RequestKey("user", "podrun-probe-none", "", unix.KEY_SPEC_PROCESS_KEYRING)
		return err
	},
	// Tracing and other processes' memory.
	"ptrace_traceme":    func() error { return raw(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0) },
	"process_vm_readv":  func() error { return vm(unix.SYS_PROCESS_VM_READV) },
	"process_vm_writev": func() error { return vm(unix.SYS_PROCESS_VM_WRITEV) },
	"pidfd_getfd": func() error {
		fd, err := unix.PidfdOpen(os.Getpid(), 0)
		if err != nil {
			return fmt.Errorf("pidfd_open: %w", err)
		}
		_, err = unix.PidfdGetfd(fd, 0, 0)
		return err
	},
	"kcmp":            func() error { return raw(unix.SYS_KCMP, uintptr(os.Getpid()), uintptr(os.Getpid()), 0, 0, 0) },
	"process_madvise": func() error { return raw(unix.SYS_PROCESS_MADVISE, ^uintptr(0), 0, 0, 0, 0) },
	"migrate_pages":   func() error { return raw(unix.SYS_MIGRATE_PAGES, 0, 0, 0, 0) },
	// Kernel interfaces with a record of escalation bugs.
	"bpf":             func() error { return raw(unix.SYS_BPF, unix.BPF_MAP_CREATE, 0, 0) },
	"perf_event_open": func() error { return raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0) },
	"userfaultfd":     func() error { return raw(unix.SYS_USERFAULTFD, 1 /* UFFD_USER_MODE_ONLY */) },
	"io_uring_setup":  func() error { return raw(unix.SYS_IO_URING_SETUP, 1, 0) },
	"vmsplice":        func() error { return raw(unix.SYS_VMSPLICE, ^uintptr(0), 0, 0, 0) },
	// Mounting.
	"mount":         func() error { return raw(unix.SYS_MOUNT, 0, 0, 1 /* a bad pointer: EFAULT past seccomp */, 0, 0) },
	"umount2":       func() error { return raw(unix.SYS_UMOUNT2, 0, 0xffff /* bad flags: EINVAL */) },
	"pivot_root":    func() error { return raw(unix.SYS_PIVOT_ROOT, 0, 0) },
	"chroot":        func() error { return unix.Chroot("/") },
	"open_tree":     func() error { return rawFd(unix.SYS_OPEN_TREE, atFdcwd, ptr("/"), 0) },
	"move_mount":    func() error { return raw(unix.SYS_MOVE_MOUNT, ^uintptr(0), 0, ^uintptr(0), 0, 0) },
	"fsopen":        func() error { return rawFd(unix.SYS_FSOPEN, ptr("tmpfs"), 0) },
	"fsconfig":      func() error { return raw(unix.SYS_FSCONFIG, ^uintptr(0), 0, 0, 0, 0) },
	"fsmount":       func() error { return raw(unix.SYS_FSMOUNT, ^uintptr(0), 0, 0) },
	"fspick":        func() error { return rawFd(unix.SYS_FSPICK, atFdcwd, ptr("/"), 0) },
	"mount_setattr": func() error { return raw(unix.SYS_MOUNT_SETATTR, ^uintptr(0), 0, 0xffffffff, 0, 0) },
	// Kernel modules and kexec.
	"init_module":   func() error { return raw(unix.SYS_INIT_MODULE, 0, 0, 0) },
	"finit_module":  func() error { return raw(unix.SYS_FINIT_MODULE, ^uintptr(0), 0, 0) },
	"delete_module": func() error { return raw(unix.SYS_DELETE_MODULE, ptr("podrun_none"), 0) },
	"kexec_load":    func() error { return raw(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0) },
	// The host's administration.
	"reboot":            func() error { return raw(unix.SYS_REBOOT, 0, 0, 0, 0) },
	"swapon":            func() error { return raw(unix.SYS_SWAPON, ptr("/nonexistent"), 0) },
	"acct":              func() error { return raw(unix.SYS_ACCT, 0) },
	"settimeofday":      func() error { return raw(unix.SYS_SETTIMEOFDAY, 0, 0) },
	"sethostname":       func() error { return unix.Sethostname([]byte("probe")) },
	"syslog_size":       func() error { return raw(unix.SYS_SYSLOG, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, 0, 0) },
	"iopl":              func() error { return raw(unix.SYS_IOPL, 3) },
	"open_by_handle_at": func() error { return raw(unix.SYS_OPEN_BY_HANDLE_AT, ^uintptr(0), 0, 0) },
	// Obsolete or unusual calls.
	"modify_ldt":        func() error { return rawFd(unix.SYS_MODIFY_LDT, 0, ptr(strings.Repeat("x", 64)), 64) },
	"personality_uname": func() error { return raw(unix.SYS_PERSONALITY, 0x0020000 /* UNAME26 */) },
	"personality_32":    func() error { return raw(unix.SYS_PERSONALITY, 0x8) }, // allowed
	"uselib":            func() error { return raw(unix.SYS_USELIB, 0) },
	// Socket families.
	"socket_inet":  func() error { return sock(unix.AF_INET, unix.SOCK_STREAM, 0) }, // allowed
	"socket_unix":  func() error { return sock(unix.AF_UNIX, unix.SOCK_STREAM, 0) }, // allowed
	"socket_vsock": func() error { return sock(unix.AF_VSOCK, unix.SOCK_STREAM, 0) },
	"socket_alg":   func() error { return sock(unix.AF_ALG, unix.SOCK_SEQPACKET, 0) },
	"socket_packet": func() error {
		return sock(unix.AF_PACKET, unix.SOCK_RAW, 0)
	},
	"socket_netlink_route": func() error { return sock(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE) }, // allowed
	"socket_netlink_audit": func() error { return sock(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT) },
	// Ordinary calls, which must keep working.
	"mknod_tmp": func() error { return unix.Mknod("/tmp/probe-null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) },
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: abuse sys|one NAME|names|shm MiB|connect ADDR|abstract NAME|kaddr")
	}
	switch os.Args[1] {
	case "sys":
		for _, name := range names() {
			out, _ := exec.Command(os.Args[0], "one", name).CombinedOutput()
			fmt.Print(string(out))
		}
	case "one":
		f := probes[os.Args[2]]
		if f == nil {
			fail("no probe " + os.Args[2])
		}
		fmt.Printf("%s=%s\n", os.Args[2], result(f()))
	case "names":
		fmt.Println(strings.Join(names(), " "))
	case "shm":
		fmt.Printf("sysv_shm=%s\n", result(sysvShm(os.Args[2])))
	case "connect":
		c, err := net.Dial("tcp", os.Args[2])
		if err == nil {
			c.Close()
		}
		fmt.Printf("connect=%s\n", result(err))
	case "abstract":
		c, err := net.Dial("unix", "@"+os.Args[2])
		if err == nil {
			c.Close()
		}
		fmt.Printf("abstract=%s\n", result(err))
	case "kaddr":
		fmt.Printf("kaddr=%d\n", kernelAddresses())
	default:
		fail("unknown command " + os.Args[1])
	}
}

func names() []string {
	var n []string
	for k := range probes {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// result names an error by its errno, the part the suite compares.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
		return fmt.Sprintf("errno%d", int(errno))
	}
	return "error:" + strings.ReplaceAll(err.Error(), " ", "_")
}

func raw(nr uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	_, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	return nil
}

// rawFd is raw for a call that returns a file descriptor (or a count), closed at once.
func rawFd(nr uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	r, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	if nr != unix.SYS_MODIFY_LDT {
		unix.Close(int(r))
	}
	return nil
}

func ptr(s string) uintptr {
	b := append([]byte(s), 0)
	return uintptr(unsafe.Pointer(&b[0]))
}

// spawn starts this program again (to print nothing) with extra clone flags.
func spawn(flags uintptr) error {
	cmd := exec.Command(os.Args[0], "names")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	return cmd.Run()
}

// vm copies 8 bytes of this process's memory to itself with process_vm_readv or _writev.
func vm(nr uintptr) error {
	src, dst := []byte("podrun!!"), make([]byte, 8)
	local := unix.Iovec{Base: &dst[0], Len: 8}
	remote := unix.Iovec{Base: &src[0], Len: 8}
	return raw(nr, uintptr(os.Getpid()), uintptr(unsafe.Pointer(&local)), 1, uintptr(unsafe.Pointer(&remote)), 1, 0)
}

func sock(domain, typ, proto int) error {
	fd, err := unix.Socket(domain, typ, proto)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// sysvShm creates a System V shared memory segment, writes every page, and
// leaves it (no IPC_RMID): it lives as long as the IPC namespace does.
func sysvShm(mib string) error {
	var n int
	if _, err := fmt.Sscan(mib, &n); err != nil {
		return err
	}
	size := n << 20
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600)
	if err != nil {
		return err
	}
	b, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		return err
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return unix.SysvShmDetach(b)
}

// kernelAddresses counts the symbols in /proc/kallsyms with a non-zero address.
func kernelAddresses() int {
	b, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if addr, _, ok := strings.Cut(line, " "); ok && strings.Trim(addr, "0") != "" {
			n++
		}
	}
	return n
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "abuse:", msg)
	os.Exit(2)
}

// atFdcwd is AT_FDCWD as a system call argument.
var atFdcwd = ^uintptr(99) // -100
