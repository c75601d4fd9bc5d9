package runner

import (
	"time"
)

// State is where an agent is in its lifecycle.
type State string

// The agent states. pending, running, paused and terminating are live; the rest are final.
const (
	StatePending     State = "pending"
	StateRunning     State = "running"
	StatePaused      State = "paused" // frozen by the cgroup freezer (POST /pause); its TTL runs on, its idle timeout does not
	StateSucceeded   State = "succeeded"
	StateFailed      State = "failed"
	StateExpired     State = "expired"
	StateTerminating State = "terminating"
	StateTerminated  State = "terminated"
)

// States lists every state, in lifecycle order.
var States = []State{StatePending, StateRunning, StatePaused, StateSucceeded, StateFailed, StateExpired, StateTerminating, StateTerminated}

// LiveStates are the states in which an agent may still hold a running container.
var LiveStates = []State{StatePending, StateRunning, StatePaused, StateTerminating}

// Live reports whether the agent has not reached a final state.
func (s State) Live() bool {
	return s == StatePending || s == StateRunning || s == StatePaused || s == StateTerminating
}

// Valid reports whether s names a known state.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Reasons say why an agent ended where it did.
const (
	ReasonExit    = "exit"
	ReasonOOM     = "oom" // the kernel's OOM killer killed it (at its memory limit)
	ReasonError   = "error"
	ReasonKilled  = "killed" // SIGKILL (137) not sent for memory: podman kill, podman rm -f, ...
	ReasonLost    = "lost"
	ReasonTTL     = "ttl"
	ReasonIdle    = "idle" // no activity for its idle timeout
	ReasonDeleted = "deleted"
)

// Limits are the resources one agent's container may use.
type Limits struct {
	Memory int64 // bytes; swap is set equal, so no swap
	CPUs   float64
	PIDs   int64
}

// Agent is one request-scoped process running in its own hardened container.
type Agent struct {
	ID             string
	Function       string
	Image          string
	Command        []string
	Env            map[string]string
	Stdin          []byte
	State          State
	Reason         string
	Message        string // why a failed, expired or terminated agent ended, in words
	ExitCode       *int
	ContainerID    string
	Limits         Limits
	LimitsEnforced bool
	Labels         map[string]string
	CreatedAt      time.Time
	StartedAt      time.Time
	FinishedAt     time.Time
	ExpiresAt      time.Time
	// Async is set for invocations answered 202 whose output is kept as a Result.
	Async       bool
	CallbackURL string
	// Start says how an invocation's container was prepared: StartCold or StartWarm.
	Start string
	// Isolation is IsolationRunc or IsolationGVisor.
	Isolation string
	// Egress is the canonical egress allow list (see EgressRule); nil: no network but loopback.
	Egress []string
	// RemovedAt is when podrun removed the agent's container; zero while it may exist.
	RemovedAt time.Time
	// KeepAlive says the agent runs no command: its PID 1 is podrun's shim
	// waiting for signals, so it lives until its TTL or DELETE (Spec.KeepAlive).
	KeepAlive bool
	// IdleTimeout is how long a running agent may go without activity
	// (Runner.Touch) before it expires with reason idle; 0: never.
	IdleTimeout time.Duration
	// IdleExpiresAt is when a running agent idles out unless touched; zero
	// when it has no idle timeout or is not running (a paused agent's idle
	// clock stops, and starts afresh at resume).
	IdleExpiresAt time.Time
	// WebhookURL receives a signed JSON event at every state change of the
	// agent and before its deadline; "" sends none.
	WebhookURL string
	// WarnAt is when the "expiring" webhook event is due: ExpiresAt minus the
	// configured warn_before; zero when there is no webhook or it was sent.
	WarnAt time.Time
	// Usage is what the resource monitor measured; nil before its first
	// sample. Only Runner.Agent fills it in.
	Usage *Usage
}

// How an invocation's container was prepared.
const (
	StartCold = "cold"
	StartWarm = "warm"
)

// Event is one entry in an agent's history: a state transition or a container phase.
type Event struct {
	ID      int64
	AgentID string
	Time    time.Time
	Type    string // EventState, EventContainer, EventAlert or EventResolved
	Name    string // the state, the container phase or the alert kind
	Detail  string
}

// Event types.
const (
	EventState     = "state"
	EventContainer = "container"
	EventAlert     = "alert"    // Name is the alert kind (AlertMemory, ...), Detail the value, limit and threshold
	EventResolved  = "resolved" // an alert's value fell back below its threshold (less the hysteresis)
)

// Container phases recorded as events.
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
	PhasePaused   = "paused"  // frozen by PauseAgent
	PhaseResumed  = "resumed" // thawed by ResumeAgent
)
