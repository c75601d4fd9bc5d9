package shimproto

// The shim's exec modes. podrun runs an exec's command as
// `SHIM ExecFlag TOKEN -- CMD [ARG...]`, and kills everything that exec
// started with another exec, `SHIM KillFlag TOKEN`; TOKEN is a random
// string that marks the first shim's command line.
const (
	ExecFlag = "--exec"
	KillFlag = "--kill"
)

// SeccompFlag, first on the shim's command line, `SHIM SeccompFlag FILE
// MODE...`, makes the shim install the seccomp filter in FILE (classic BPF,
// the kernel's struct sock_filter array in native byte order) on all its
// threads before it does anything else in MODE (ExecFlag, KillFlag,
// FilesFlag): podrun's execs in gVisor containers, which runsc starts
// without the container's profile. What the shim starts inherits the filter.
const SeccompFlag = "--seccomp"
