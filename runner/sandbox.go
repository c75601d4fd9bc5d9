package runner

import (
	"context"
	"io"
	"time"
)

// Sandbox runs containers. It hardens every container it creates: podrun's
// security rests on the adapter, so its contract suite checks it from inside.
type Sandbox interface {
	// Probe describes the container host.
	Probe(ctx context.Context) (Host, error)
	// Ping reports whether the container service answers.
	Ping(ctx context.Context) error
	// EnsureImage makes the image present locally, pulling it if needed; ErrImageUnavailable otherwise.
	EnsureImage(ctx context.Context, ref string) error
	// Create creates a hardened, not yet started container and returns its ID.
	Create(ctx context.Context, spec Spec) (string, error)
	// Attach connects streams to a created or running container; it returns once attached.
	Attach(ctx context.Context, id string, s Streams) (Attachment, error)
	// Start starts a created container.
	Start(ctx context.Context, id string) error
	// Inspect reports a container's state.
	Inspect(ctx context.Context, id string) (Container, error)
	// Kill sends SIGKILL.
	Kill(ctx context.Context, id string) error
	// Stop sends SIGTERM, then SIGKILL after timeout, and returns once stopped.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// Remove force-removes a container; ErrNoContainer if it is already gone.
	Remove(ctx context.Context, id string) error
	// List returns the containers carrying all the given labels.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
	// Logs passes a container's output to emit one line at a time, both
	// streams in the order the engine logged them, from the start of its log;
	// an error from emit ends the read with that error. See LogRead.
	Logs(ctx context.Context, id string, r LogRead, emit func(LogLine) error) error
	// Stats samples a running container's resource use.
	Stats(ctx context.Context, id string) (Stats, error)
	// Sample reads the resource use of many running containers at once, with
	// one call to the engine, by container ID; containers that are not
	// running (or gone) are left out of the answer rather than fail it.
	Sample(ctx context.Context, ids []string) (map[string]Sample, error)
	// Exec runs a command inside a running container, confined like the container.
	Exec(ctx context.Context, id string, spec ExecSpec) (ExecResult, error)
	// Pause freezes every process of a running container (the cgroup
	// freezer): no CPU, memory kept. Kill and Remove still end a paused
	// container; Stop thaws it first so its process sees the SIGTERM.
	// ErrConflict if it is not running.
	Pause(ctx context.Context, id string) error
	// Unpause thaws a paused container; ErrConflict if it is not paused.
	Unpause(ctx context.Context, id string) error
	// ExecStream runs a command inside a running container, confined like the
	// container, with its streams connected while it runs, and returns its
	// exit code. Its whole process tree is killed when ctx ends or its
	// timeout passes, before ExecStream returns ctx's error (or
	// context.DeadlineExceeded).
	ExecStream(ctx context.Context, id string, spec ExecStreamSpec) (int, error)
}

// ContainerPaused is Container.State for a container frozen by Pause; its Running is false.
const ContainerPaused = "paused"

// Host is what the sandbox found out about the machine it runs containers on.
type Host struct {
	Version       string
	Runtime       string
	Rootless      bool
	CgroupVersion string   // "v1" or "v2"
	Controllers   []string // cgroup controllers available to containers
	// RuntimeVersion is the service's default runtime's version line, "" if unknown.
	RuntimeVersion string
	// Runtimes says, per isolation the sandbox gives (IsolationRunc,
	// IsolationGVisor), which runtime runs it, in words.
	Runtimes map[string]string
	CPUs     int   // the host's cores; 0 if unknown
	Memory   int64 // the host's memory in bytes; 0 if unknown
}

// Spec is what the runner asks of one container; the sandbox adds the hardening.
type Spec struct {
	Name    string
	Image   string
	Command []string
	Env     map[string]string
	Limits  Limits
	Labels  map[string]string
	// Shim runs the command under podrun's shim, which first reads a shimproto
	// header (extra environment) from stdin: this lets a container prepared
	// ahead of a request still get that request's metadata.
	Shim bool
	// KeepAlive makes the container's PID 1 podrun's shim waiting for
	// signals (`shim --wait`) instead of any command; Command must be empty.
	KeepAlive bool
	// Secrets names secrets of the sandbox's SecretStore to mount read-only
	// at SecretDir/NAME, readable by the container's user.
	Secrets []string
	// Isolation is "" for the sandbox's ordinary runtime, or IsolationGVisor
	// to run the container under gVisor, whose kernel stands between the
	// code and the host's; a sandbox without gVisor refuses it (ErrInvalid).
	Isolation string
	// EgressDir is the host directory holding the container's egress proxy
	// socket (EgressGate.Open), "" for none: the sandbox mounts it, sets
	// HTTP_PROXY and HTTPS_PROXY and runs the command under the shim, which
	// forwards the proxy address inside to the socket.
	EgressDir string
}

// IsolationGVisor is Spec.Isolation for gVisor (runsc).
const IsolationGVisor = "gvisor"

// Streams are the process's standard streams as seen by an attachment; nil means not attached.
type Streams struct {
	Stdin  io.Reader // read to EOF, then the container's stdin is closed
	Stdout io.Writer
	Stderr io.Writer
	// Shim says the process runs under podrun's shim, whose last line on
	// stderr is the exit status: Wait then need not ask the engine.
	Shim bool
}

// Attachment is a live connection to a container's streams.
type Attachment interface {
	// Wait returns once the process has exited and its output is drained.
	Wait(ctx context.Context) (Exit, error)
	// Done is closed once the stream has ended: the process exited, or the connection broke.
	Done() <-chan struct{}
}

// Exit is how a container's process ended.
type Exit struct {
	Code       int
	OOMKilled  bool
	FinishedAt time.Time
	// Usage is the container's resource use read as its process ended, the
	// resource monitor's last sample of it; nil if the sandbox could not read it.
	Usage *Sample
}

// Container is the sandbox's view of one container.
type Container struct {
	ID         string
	Name       string
	Labels     map[string]string
	State      string // the engine's word: created, running, exited, ...
	Running    bool
	ExitCode   int
	OOMKilled  bool
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// Stats is one sample of a container's resource use.
type Stats struct {
	CPUPercent  float64
	MemoryUsage uint64
	MemoryLimit uint64
	PIDs        uint64
	NetRx       uint64
	NetTx       uint64
	BlockRead   uint64
	BlockWrite  uint64
}

// ExecSpec is a command to run inside a running container.
type ExecSpec struct {
	Command   []string
	Env       map[string]string // set over the container's environment
	Workdir   string            // "" is the container's working directory
	Stdin     []byte
	Timeout   time.Duration
	MaxOutput int // bytes kept per stream; the rest is dropped
}

// ExecResult is the outcome of an exec.
type ExecResult struct {
	ExitCode  int
	Stdout    string
	Stderr    string
	Truncated bool // some output was dropped past MaxOutput
}
