package runner

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Container labels podrun sets on every container it creates.
const (
	LabelAgent    = "podrun.agent"
	LabelInstance = "podrun.instance"
	LabelFunction = "podrun.function"
	LabelPool     = "podrun.pool" // a warm container prepared for this function
)

// Runner is the agent lifecycle service: it creates agents, supervises their
// containers, expires them at their deadline and cleans up after them.
type Runner struct {
	cfg      Config
	sb       Sandbox
	store    Store
	log      *slog.Logger
	obs      Observer
	enforced bool

	deadlines chan struct{} // signalled when an earlier deadline may exist

	ctx    context.Context // ends at Close; supervisors run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	active map[string]*supervisor // agents with a goroutine owning their container
	opened bool                   // Open succeeded: Close reports what it stopped
	closed bool

	pools *pools
}

// New returns a Runner over sb and store, or an error naming the first field
// of cfg that makes no sense; call Open before use. It takes cfg as given:
// the defaults live in package configs.
func New(sb Sandbox, store Store, cfg Config) (*Runner, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{
		cfg: cfg, sb: sb, store: store, log: cfg.Logger, obs: cfg.Observer,
		deadlines: make(chan struct{}, 1),
		ctx:       ctx, cancel: cancel,
		active: make(map[string]*supervisor),
	}
	r.pools = newPools(r)
	return r, nil
}

// Open probes the host, refuses to run where limits would be ignored, and
// takes back the agents a previous run of this instance left behind.
func (r *Runner) Open(ctx context.Context) error {
	host, err := r.sb.Probe(ctx)
	if err != nil {
		return fmt.Errorf("probe container host: %w", err)
	}
	if why := LimitsUnenforced(host); why != "" {
		if !r.cfg.AllowUnenforcedLimits {
			return fmt.Errorf("%w: %s", ErrUnenforced, why)
		}
		r.log.Warn("resource limits are NOT enforced on this host; agents are marked limits_enforced=false", "why", why)
	} else {
		r.enforced = true
	}
	if err := r.reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile with containers: %w", err)
	}
	if err := r.startPools(ctx); err != nil {
		return fmt.Errorf("start warm pools: %w", err)
	}
	if err := r.resumeCallbacks(ctx); err != nil {
		return fmt.Errorf("resume callbacks: %w", err)
	}
	r.mu.Lock()
	r.opened = true
	r.mu.Unlock()
	return nil
}

// LimitsUnenforced explains why the host would silently ignore memory, CPU or PID limits, or returns "".
func LimitsUnenforced(h Host) string {
	if h.Rootless && h.CgroupVersion != "v2" {
		return "rootless Podman on cgroup v1 ignores memory, CPU and PID limits; " +
			"fix: boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) and delegate the memory, pids and cpu controllers " +
			"to the user, or point podrun at a rootful Podman socket; or pass --allow-unenforced-limits to run anyway"
	}
	var missing []string
	for _, c := range []string{"memory", "pids", "cpu"} {
		if !slices.Contains(h.Controllers, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("the cgroup controllers %v are not available to containers; "+
			"fix: enable and delegate them (cgroup v2: Delegate=memory pids cpu for the user's service), "+
			"or pass --allow-unenforced-limits to run anyway", missing)
	}
	return ""
}

// LimitsEnforced reports whether the host enforces agents' resource limits.
func (r *Runner) LimitsEnforced() bool { return r.enforced }

// Close stops supervising. Agents' containers keep running (the next Open
// takes them back); warm containers, useless to a later run, are removed.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	supervised, opened := len(r.active), r.opened
	r.mu.Unlock()
	warm := r.pools.closeAll()
	r.cancel()
	r.wg.Wait()
	if opened {
		r.log.Info("runner stopped", "supervisors_stopped", supervised, "warm_containers_removed", warm)
	}
	return nil
}

// DeadlineChanged is signalled when a deadline is added or moved; the reaper waits on it.
func (r *Runner) DeadlineChanged() <-chan struct{} { return r.deadlines }

func (r *Runner) notifyDeadline() {
	select {
	case r.deadlines <- struct{}{}:
	default:
	}
}

func (r *Runner) now() time.Time { return r.cfg.Now().UTC() }

// bounded gives one sandbox call its deadline.
func (r *Runner) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.CallTimeout)
}

// event appends a container phase to an agent's history; a failure is logged, not fatal.
func (r *Runner) event(ctx context.Context, agentID, phase, detail string) {
	err := r.store.AppendEvent(ctx, Event{AgentID: agentID, Time: r.now(), Type: EventContainer, Name: phase, Detail: detail})
	if err != nil && ctx.Err() == nil {
		r.log.Warn("append event", "agent", agentID, "phase", phase, "err", err)
	}
}

// transition applies a state change and reports it to the observer.
func (r *Runner) transition(ctx context.Context, id string, c Change) (Agent, error) {
	if c.At.IsZero() {
		c.At = r.now()
	}
	a, err := r.store.Transition(ctx, id, c)
	if err == nil {
		r.obs.Transitioned(c.To)
		r.log.Debug("agent transition", "agent", id, "state", c.To, "reason", c.Reason)
		// A final state is reached once, so this counts each asynchronous
		// invocation once, however it ends; Invoke counts synchronous ones.
		if a.Kind() == KindAsync && !a.State.Live() {
			r.obs.Invoked(a.Function, a.Start, Outcome(a), c.At.Sub(a.CreatedAt))
		}
	}
	return a, err
}
