package seccomp

import (
	"slices"
	"syscall"
)

// Clone flags that create a namespace. CLONE_NEWTIME (0x80) only exists for
// unshare and clone3: in clone's flags that bit belongs to the exit signal.
const (
	cloneNewNS     = 0x00020000
	cloneNewCgroup = 0x02000000
	cloneNewUTS    = 0x04000000
	cloneNewIPC    = 0x08000000
	cloneNewUser   = 0x10000000
	cloneNewPID    = 0x20000000
	cloneNewNet    = 0x40000000
	cloneNewTime   = 0x00000080
)

// namespaceFlags are the clone flags that make a namespace, one bit each.
var namespaceFlags = []uint64{cloneNewNS, cloneNewCgroup, cloneNewUTS, cloneNewIPC, cloneNewUser, cloneNewPID, cloneNewNet}

// Socket families (socket(2)'s first argument) and the netlink protocol of the audit subsystem.
const (
	afUnix       = 1
	afInet       = 2
	afInet6      = 10
	afNetlink    = 16
	netlinkAudit = 9
)

// Personalities an ordinary program asks for: Linux, 32-bit Linux, and the query.
const (
	perLinux   = 0x0
	perLinux32 = 0x8
	perQuery   = 0xffffffff
)

// A group is a set of system calls given one action, for one reason.
type group struct {
	reason string
	names  []string
	// errno is what a denied call returns; 0 allows the calls.
	errno syscall.Errno
	// args, if set, narrow the rule to calls whose arguments match all of them.
	args []arg
	// anyArg, if set, narrows it to calls whose arguments match any one of
	// them: a rule each, as seccomp cannot test "any of these bits" at once.
	anyArg []arg
	// arches, if set, limits the rule to these architectures (Go's names, as Podman reads them).
	arches []string
}

// allowed are the calls ordinary programs make: shells, language runtimes,
// busybox applets, compilers, git. Together with the conditional rules in
// filtered they are Podman 4.3's default allow list minus the denied groups;
// a test holds the three lists against each other.
var allowed = []group{
	{reason: "files and directories: open, read, write, stat, link, rename, truncate, sync, ioctl on open files", names: []string{
		"_llseek", "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat",
		"dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod",
		"fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "flock", "fstat", "fstat64",
		"fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
		"getdents64", "ioctl", "lchown", "lchown32", "link", "linkat", "lseek", "lstat", "lstat64", "mkdir", "mkdirat",
		"mknod", "mknodat", "name_to_handle_at", "newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2",
		"pwrite64", "pwritev", "pwritev2", "read", "readahead", "readdir", "readlink", "readlinkat", "readv", "rename",
		"renameat", "renameat2", "rmdir", "sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64",
		"statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask",
		"unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "write", "writev",
	}},
	{reason: "extended attributes of files", names: []string{
		"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr", "llistxattr",
		"lremovexattr", "lsetxattr", "removexattr", "setxattr",
	}},
	{reason: "waiting for events: pipes, poll, select, epoll, eventfd, signalfd, timerfd, inotify, fanotify marks, POSIX AIO", names: []string{
		"_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
		"epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark", "inotify_add_watch", "inotify_init",
		"inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_setup", "io_submit", "pipe",
		"pipe2", "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select", "signalfd", "signalfd4",
		"timerfd", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
	}},
	{reason: "memory of the process itself: mapping, protection, locking (bounded by RLIMIT_MEMLOCK), NUMA policy, memfd", names: []string{
		"brk", "get_mempolicy", "madvise", "mbind", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock",
		"mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap",
		"pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages", "set_mempolicy",
	}},
	{reason: "processes and threads: fork, exec, wait, exit, scheduling, limits, futexes, pidfds to signal, self-sandboxing (seccomp, landlock)", names: []string{
		"capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "futex", "futex_time64",
		"get_robust_list", "get_thread_area", "getcpu", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
		"getrlimit", "getrusage", "getsid", "gettid", "ioprio_get", "ioprio_set", "landlock_add_rule",
		"landlock_create_ruleset", "landlock_restrict_self", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
		"process_mrelease", "restart_syscall", "rseq", "sched_get_priority_max", "sched_get_priority_min",
		"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
		"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
		"sched_yield", "seccomp", "set_robust_list", "set_thread_area", "set_tid_address", "setpgid", "setpriority",
		"setrlimit", "setsid", "syscall", "times", "ugetrlimit", "vfork", "wait4", "waitid", "waitpid",
	}},
	{reason: "signals", names: []string{
		"alarm", "kill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
		"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaction", "sigaltstack",
		"signal", "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "tgkill", "tkill",
	}},
	{reason: "user and group IDs, within the container's own user namespace", names: []string{
		"getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getresgid",
		"getresgid32", "getresuid", "getresuid32", "getuid", "getuid32", "setfsgid", "setfsgid32", "setfsuid",
		"setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid",
		"setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
	}},
	{reason: "clocks, timers and sleeping (adjtimex and clock_adjtime only read the clock without CAP_SYS_TIME)", names: []string{
		"adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
		"clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep",
		"setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
		"timer_settime", "timer_settime64",
	}},
	{reason: "sockets once created (socket itself is filtered by family below), in the container's own network namespace", names: []string{
		"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv", "recvfrom",
		"recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
		"socketpair",
	}},
	{reason: "System V and POSIX IPC, in the container's own IPC namespace (freed when it ends)", names: []string{
		"ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
		"mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
		"semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
	}},
	{reason: "system information and randomness", names: []string{"getrandom", "sysinfo", "uname"}},
	{reason: "x86-64 thread-local storage", names: []string{"arch_prctl"}, arches: []string{"amd64", "x32"}},
	{reason: "ARM cache and TLS calls", names: []string{"arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls", "sync_file_range2"}, arches: []string{"arm", "arm64"}},
	{reason: "POWER's sync_file_range", names: []string{"sync_file_range2"}, arches: []string{"ppc64le"}},
	{reason: "s390 PCI and runtime instrumentation", names: []string{"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}, arches: []string{"s390", "s390x"}},
}

// filtered are the calls allowed or denied by their arguments.
var filtered = []group{
	{reason: "clone: threads and processes, but no new namespace (every namespace flag clear)",
		names: []string{"clone"}, args: []arg{maskedEq(0, cloneNamespaceMask(), 0)}, arches: notS390},
	{reason: "unshare: a private file table or filesystem state, but no new namespace",
		names: []string{"unshare"}, args: []arg{maskedEq(0, cloneNamespaceMask()|cloneNewTime, 0)}},
	{reason: "personality: Linux, 32-bit Linux, or the query; any other persona (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, UNAME26...) gets the default ENOSYS, as a rule cannot say 'none of these values'",
		names: []string{"personality"}, args: []arg{eq(0, perLinux)}},
	{reason: "personality (see above)", names: []string{"personality"}, args: []arg{eq(0, perLinux32)}},
	{reason: "personality (see above)", names: []string{"personality"}, args: []arg{eq(0, perQuery)}},
	{reason: "socket: local, IPv4 and IPv6 sockets", names: []string{"socket"}, args: []arg{eq(0, afUnix)}},
	{reason: "socket (see above)", names: []string{"socket"}, args: []arg{eq(0, afInet)}},
	{reason: "socket (see above)", names: []string{"socket"}, args: []arg{eq(0, afInet6)}},
	{reason: "socket: netlink for the container's own network configuration, but not the audit subsystem",
		names: []string{"socket"}, args: []arg{eq(0, afNetlink), ne(2, netlinkAudit)}},
}

// otherFamilies match every socket family but AF_UNIX (1), AF_INET (2),
// AF_INET6 (10) and AF_NETLINK (16), one comparison per rule: libseccomp
// does not AND two comparisons of one argument, so "not 1 and not 2" cannot
// be written, only ranges that leave the allowed values out.
var otherFamilies = []arg{
	eq(0, 0), eq(0, 3), maskedEq(0, ^uint64(3), 4), maskedEq(0, ^uint64(1), 8), // 0, 3, 4-7, 8-9
	eq(0, 11), maskedEq(0, ^uint64(3), 12), gt(0, 16), // 11, 12-15, 17 and up
}

// notS390 are the architectures where clone's flags are its first argument.
var notS390 = []string{"amd64", "x86", "x32", "arm64", "arm", "ppc64le", "mips64", "mips64n32", "mipsel64", "mipsel64n32"}

func cloneNamespaceMask() uint64 {
	var m uint64
	for _, f := range namespaceFlags {
		m |= f
	}
	return m
}

// denied are the calls a sandbox for untrusted code has no business making,
// each group with the reason. They answer EPERM, as a call the kernel refused,
// except clone3, whose ENOSYS makes libc fall back to clone, whose flags the
// filter can read (clone3 passes them in memory, out of seccomp's sight).
var denied = []group{
	{reason: "namespaces: a new user namespace hands its creator every capability in it and with them the kernel's mount, network-administration and other privileged code; setns joins another's",
		names: []string{"setns"}, errno: syscall.EPERM},
	{reason: "namespaces: clone with a namespace flag (one rule per flag, as seccomp cannot test 'any of these bits')",
		names: []string{"clone"}, errno: syscall.EPERM, anyArg: flagSet(0, namespaceFlags...), arches: notS390},
	{reason: "namespaces: unshare with a namespace flag (one rule per flag)",
		names: []string{"unshare"}, errno: syscall.EPERM, anyArg: flagSet(0, slices.Concat(namespaceFlags, []uint64{cloneNewTime})...)},
	{reason: "namespaces: clone3 passes its flags in memory, where seccomp cannot read them; ENOSYS makes glibc and others fall back to clone",
		names: []string{"clone3"}, errno: syscall.ENOSYS},
	{reason: "the kernel keyring: shared kernel state with a history of reference-count and use-after-free bugs, and a way to stash data outside the container's memory limit",
		names: []string{"keyctl", "add_key", "request_key"}, errno: syscall.EPERM},
	{reason: "tracing and reading or writing another process's memory: ptrace, cross-memory attach, comparing or stealing another process's files, moving its pages",
		names: []string{"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "process_madvise", "pidfd_getfd", "migrate_pages", "move_pages"}, errno: syscall.EPERM},
	{reason: "eBPF: programs verified and run in the kernel, a large attack surface",
		names: []string{"bpf"}, errno: syscall.EPERM},
	{reason: "perf events: kernel profiling, a source of kernel addresses and of privilege escalation bugs",
		names: []string{"perf_event_open"}, errno: syscall.EPERM},
	{reason: "userfaultfd: lets a process stall the kernel mid-copy, the usual tool to win kernel race conditions",
		names: []string{"userfaultfd"}, errno: syscall.EPERM},
	{reason: "io_uring: a second system-call interface that seccomp does not see, with a long list of privilege escalation bugs",
		names: []string{"io_uring_setup", "io_uring_enter", "io_uring_register"}, errno: syscall.EPERM},
	{reason: "mounting, old and new API, and changing the root: a container's filesystem is fixed when it starts",
		names: []string{"mount", "umount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"}, errno: syscall.EPERM},
	{reason: "kernel modules and kexec: loading code into the host kernel or replacing it",
		names: []string{"init_module", "finit_module", "delete_module", "create_module", "query_module", "get_kernel_syms", "kexec_load", "kexec_file_load"}, errno: syscall.EPERM},
	{reason: "administering the host: reboot, swap, accounting, host and domain names, the system clock, I/O ports, quotas, the NFS server, the kernel log (kernel addresses), file handles that escape bind mounts",
		names: []string{"reboot", "swapon", "swapoff", "acct", "sethostname", "setdomainname", "settimeofday", "stime", "clock_settime", "clock_settime64", "vhangup", "ioperm", "iopl", "quotactl", "quotactl_fd", "nfsservctl", "syslog", "lookup_dcookie", "fanotify_init", "open_by_handle_at", "pciconfig_iobase", "pciconfig_read", "pciconfig_write"}, errno: syscall.EPERM},
	{reason: "obsolete or rarely used kernel paths: the old sysctl, bdflush and sysfs calls, uselib, ustat, vm86, the x86 LDT, vmsplice and io_pgetevents (as Podman denies them), old stat and uname forms",
		names: []string{"_sysctl", "bdflush", "sysfs", "uselib", "ustat", "vm86", "vm86old", "modify_ldt", "vmsplice", "io_pgetevents", "nice", "oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname", "sgetmask", "ssetmask", "swapcontext"}, errno: syscall.EPERM},
	{reason: "socketcall: 32-bit x86's socket multiplexer passes its arguments in memory, so it would bypass the socket family filter",
		names: []string{"socketcall"}, errno: syscall.EPERM},
	{reason: "socket: other families (vsock to the hypervisor, packet, AF_ALG crypto, Bluetooth, rarely used protocols whose modules the kernel would load on demand)",
		names: []string{"socket"}, errno: syscall.EAFNOSUPPORT, anyArg: otherFamilies},
	{reason: "socket: netlink to the audit subsystem (as Podman denies it without CAP_AUDIT_WRITE)",
		names: []string{"socket"}, errno: syscall.EINVAL, args: []arg{eq(0, afNetlink), eq(2, netlinkAudit)}},
}
