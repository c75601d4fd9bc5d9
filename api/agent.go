package api

// State is where an agent is in its lifecycle.
type State string

// The agent states. pending, running, paused and terminating are live; the rest are final.
const (
	StatePending     State = "pending"
	StateRunning     State = "running"
	StatePaused      State = "paused" // frozen by POST /v1/agents/{id}/pause until /resume
	StateSucceeded   State = "succeeded"
	StateFailed      State = "failed"
	StateExpired     State = "expired"
	StateTerminating State = "terminating"
	StateTerminated  State = "terminated"
)

// States lists every state in lifecycle order.
var States = []State{StatePending, StateRunning, StatePaused, StateSucceeded, StateFailed, StateExpired, StateTerminating, StateTerminated}

// LiveStates are the states in which an agent may still hold a running container.
var LiveStates = []State{StatePending, StateRunning, StatePaused, StateTerminating}

// Live reports whether the agent has not reached a final state yet.
func (s State) Live() bool {
	return s == StatePending || s == StateRunning || s == StatePaused || s == StateTerminating
}

// Reasons say why an agent ended where it did (Agent.Reason).
const (
	ReasonExit        = "exit"         // the process exited by itself
	ReasonOOM         = "oom"          // the kernel killed it for memory
	ReasonError       = "error"        // podrun or the container engine failed it (see Agent.Message)
	ReasonKilled      = "killed"       // SIGKILL not sent for memory: podman kill, podman rm -f, ...
	ReasonLost        = "lost"         // its container disappeared
	ReasonTTL         = "ttl"          // its time to live ran out
	ReasonIdle        = "idle"         // no activity for its idle timeout
	ReasonDeleted     = "deleted"      // a client deleted it
	ReasonOutputLimit = "output_limit" // an invocation wrote more than the function's max_output
	ReasonClientGone  = "client_gone"  // a synchronous invocation's client went away
)

// How an invocation's container was prepared (Agent.Start, the X-Podrun-Start header).
const (
	StartCold = "cold"
	StartWarm = "warm"
)

// Agent is one process running in its own hardened container: the answer of POST /v1/agents,
// GET and PATCH /v1/agents/{id}, DELETE /v1/agents/{id} (202) and of an asynchronous invocation.
type Agent struct {
	// ID is podrun's id of the agent, the {id} of its routes.
	ID string `json:"id"`
	// Function names the function an invocation ran; optional, absent for agents made by POST /v1/agents.
	Function string `json:"function,omitempty"`
	// Image is the container image reference.
	Image string `json:"image"`
	// Command is the program and its arguments; empty means the image's own entrypoint and command.
	Command []string `json:"command"`
	// Env holds the extra environment variables the process got.
	Env map[string]string `json:"env"`
	// State is where the agent is now.
	State State `json:"state"`
	// Reason says why a final agent ended (one of the Reason constants); "" while live.
	Reason string `json:"reason"`
	// Message is the cause of a failure in words; optional, absent when there is nothing to say.
	Message string `json:"message,omitempty"`
	// ExitCode is the process's exit status; null until it has exited (and for agents that never ran).
	ExitCode *int `json:"exit_code"`
	// ContainerID is the container engine's id; "" until the container is created.
	ContainerID string `json:"container_id"`
	// Limits are the resources the container may use, defaults filled in.
	Limits Limits `json:"limits"`
	// LimitsEnforced says whether the host enforces Limits (a rootless cgroup v1 host does not).
	LimitsEnforced bool `json:"limits_enforced"`
	// Labels are the client's key=value labels, for filtering lists.
	Labels map[string]string `json:"labels"`
	// CreatedAt is when podrun accepted the agent.
	CreatedAt Time `json:"created_at"`
	// Async is true for an invocation answered 202, whose output is kept as its Result; optional.
	Async bool `json:"async,omitempty"`
	// CallbackURL is where an asynchronous invocation's result is POSTed; optional.
	CallbackURL string `json:"callback_url,omitempty"`
	// Start says how an invocation's container was prepared, StartCold or StartWarm; optional.
	Start string `json:"start,omitempty"`
	// StartedAt is when the process started; null before.
	StartedAt *Time `json:"started_at"`
	// FinishedAt is when the agent reached a final state; null before.
	FinishedAt *Time `json:"finished_at"`
	// ExpiresAt is the deadline after which podrun kills the agent if it is still live; a final
	// agent keeps the deadline it had.
	ExpiresAt *Time `json:"expires_at"`
	// ContainerRemoved says whether podrun has removed the agent's container.
	ContainerRemoved bool `json:"container_removed"`
	// KeepAlive says the agent runs no command of its own: its PID 1 is podrun's shim, and it
	// lives until its TTL or DELETE, for exec and file transfers; optional, absent when false.
	KeepAlive bool `json:"keep_alive,omitempty"`
	// IdleTimeout is how long the agent may go without activity (exec, file transfers, log
	// follows, PATCH) before it expires with reason idle, a Go duration; optional, absent for none.
	IdleTimeout string `json:"idle_timeout,omitempty"`
	// IdleExpiresAt is when a running agent idles out unless used before; null when it has no
	// idle timeout or is not running (a paused agent's idle clock is stopped).
	IdleExpiresAt *Time `json:"idle_expires_at"`
	// WebhookURL receives the agent's lifecycle events (WebhookEvent); optional.
	WebhookURL string `json:"webhook_url,omitempty"`
	// Isolation is IsolationRunc or IsolationGVisor.
	Isolation string `json:"isolation"`
	// Egress is what the agent may connect to; optional, absent for an agent without network.
	Egress *Egress `json:"egress,omitempty"`
	// Usage is what the resource monitor measured; optional, only in GET /v1/agents/{id}, absent
	// before the first sample (a pass of the monitor, or the reading taken as the process exits).
	Usage *Usage `json:"usage,omitempty"`
}

// Limits are the resources one agent's container may use, as answers show them.
type Limits struct {
	// Memory is in bytes; swap is set equal, so there is no swap.
	Memory int64 `json:"memory"`
	// CPUs is in cores; 0.5 is half of one.
	CPUs float64 `json:"cpus"`
	// PIDs is the most processes and threads the container may hold at once.
	PIDs int64 `json:"pids"`
}

// AgentPage is one page of GET /v1/agents, newest agent first.
type AgentPage struct {
	// Agents is the page; [] when nothing matches.
	Agents []Agent `json:"agents"`
	// NextCursor is the cursor query parameter of the next page; optional, absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// AgentRequest is the body of POST /v1/agents. Only Image is required; every other field is
// optional and takes the server's default when left out.
type AgentRequest struct {
	// Image is the container image reference; it must exist on the server or be pullable.
	Image string `json:"image"`
	// Command is the program and its arguments; empty runs the image's own.
	Command []string `json:"command,omitempty"`
	// Env holds extra environment variables; keys must not contain '=' or NUL.
	Env map[string]string `json:"env,omitempty"`
	// Stdin is the whole standard input of the process, as text; nil gives it none.
	Stdin *string `json:"stdin,omitempty"`
	// TTL is how long the agent may live, a Go duration like "5m"; "" means the server's default.
	TTL string `json:"ttl,omitempty"`
	// Limits asks for resources; what it leaves out takes the server's defaults.
	Limits LimitsRequest `json:"limits,omitzero"`
	// Labels are key=value pairs to filter lists by; keys starting with "podrun." are reserved.
	Labels map[string]string `json:"labels,omitempty"`
	// KeepAlive asks for a sandbox that runs no command and lives until its TTL or DELETE,
	// whatever the image's command: work in it with exec and the files routes. Command and
	// Stdin must then be left out (400 naming the field otherwise).
	KeepAlive bool `json:"keep_alive,omitempty"`
	// IdleTimeout is a Go duration like "5m": the agent expires (reason idle) after no activity
	// for that long; optional, none by default.
	IdleTimeout string `json:"idle_timeout,omitempty"`
	// WebhookURL receives a signed JSON WebhookEvent at every state change and before the TTL
	// ends; optional, the server's webhooks.url by default. Loopback and private addresses are
	// refused unless the server sets webhooks.allow_private.
	WebhookURL string `json:"webhook_url,omitempty"`
	// Isolation is IsolationRunc or IsolationGVisor; optional, the server's sandbox.isolation by default.
	Isolation string `json:"isolation,omitempty"`
	// Egress lists the destinations the agent may connect to; optional, no network by default.
	Egress *Egress `json:"egress,omitempty"`
}

// LimitsRequest asks for resource limits; a field left out takes the server's default, and each
// is bounded by the server's maximum.
type LimitsRequest struct {
	// Memory is a Size of at least 6Mi; optional.
	Memory Size `json:"memory,omitempty"`
	// CPUs is in cores, at least 0.01; optional.
	CPUs *float64 `json:"cpus,omitempty"`
	// PIDs is the most processes and threads; optional.
	PIDs *int64 `json:"pids,omitempty"`
}

// PatchAgentRequest is the body of PATCH /v1/agents/{id}: a live agent's new time to live,
// counted from now.
type PatchAgentRequest struct {
	// TTL is a Go duration like "10m"; required.
	TTL string `json:"ttl"`
}

// Event types (Event.Type).
const (
	EventState     = "state"     // Name is the agent's new State
	EventContainer = "container" // Name is a container phase
	EventEgress    = "egress"    // Name is EgressAllowed or EgressDenied; Detail the destination and bytes
)

// Egress decisions, the Name of EventEgress events.
const (
	EgressAllowed = "allowed"
	EgressDenied  = "denied"
)

// Container phases, the Name of EventContainer events.
const (
	PhaseCreating = "creating"
	PhaseCreated  = "created"
	PhaseStarting = "starting"
	PhaseRunning  = "running"
	PhaseStopping = "stopping"
	PhaseStopped  = "stopped"
	PhaseRemoving = "removing"
	PhaseRemoved  = "removed"
	PhaseError    = "error"
	PhasePaused   = "paused"
	PhaseResumed  = "resumed"
)

// Event is one entry in an agent's history: a state change or a container phase.
type Event struct {
	// ID orders the events of one server; it grows with time.
	ID int64 `json:"id"`
	// AgentID names the agent.
	AgentID string `json:"agent_id"`
	// Time is when it happened.
	Time Time `json:"time"`
	// Type is EventState, EventContainer, EventEgress, EventAlert or EventResolved.
	Type string `json:"type"`
	// Name is the state, the container phase or the alert kind.
	Name string `json:"name"`
	// Detail says more, such as why; optional.
	Detail string `json:"detail,omitempty"`
}

// EventList is the answer of GET /v1/agents/{id}/events, oldest event first.
type EventList struct {
	// Events is [] for an agent with no history yet.
	Events []Event `json:"events"`
}

// Stats is one sample of a running agent's resource use: GET /v1/agents/{id}/stats.
type Stats struct {
	// CPUPercent is the share of one core used since the previous sample (100 is one full core).
	CPUPercent float64 `json:"cpu_percent"`
	// MemoryUsage and MemoryLimit are in bytes.
	MemoryUsage uint64 `json:"memory_usage"`
	MemoryLimit uint64 `json:"memory_limit"`
	// PIDs is how many processes and threads the container holds.
	PIDs uint64 `json:"pids"`
	// NetRx and NetTx are bytes received and sent over the network.
	NetRx uint64 `json:"net_rx"`
	NetTx uint64 `json:"net_tx"`
	// BlockRead and BlockWrite are bytes read from and written to block devices.
	BlockRead  uint64 `json:"block_read"`
	BlockWrite uint64 `json:"block_write"`
}

// ExecRequest is the body of POST /v1/agents/{id}/exec: a command to run inside a running agent's
// container, confined like the agent.
type ExecRequest struct {
	// Command is the program and its arguments; required.
	Command []string `json:"command"`
	// Env is set over the container's environment; optional.
	Env map[string]string `json:"env,omitempty"`
	// Workdir is the absolute directory the command starts in; optional, the container's own by
	// default.
	Workdir string `json:"workdir,omitempty"`
	// Stdin is the whole standard input, as text; optional.
	Stdin string `json:"stdin,omitempty"`
	// Timeout bounds the command, a Go duration; optional, 10s by default and at most 10m, or
	// with ?stream=true none by default and at most 24h.
	Timeout string `json:"timeout,omitempty"`
}

// ExecResult is the answer of POST /v1/agents/{id}/exec, once the command has ended.
type ExecResult struct {
	// ExitCode is the command's exit status.
	ExitCode int `json:"exit_code"`
	// Stdout and Stderr are the command's output, each cut at 1 MiB.
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// Truncated says whether either stream was cut.
	Truncated bool `json:"truncated"`
}
