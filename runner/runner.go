package runner

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
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

// Runner is the agent lifecycle service: it records agents and hands each
// to its supervisor, which owns its container; it expires agents at their
// deadline and sweeps up after them. The warm pools and the callback
// deliverer are components of their own. See doc.go for who owns what.
type Runner struct {
	cfg      Config
	sb       Sandbox
	store    Store
	log      *slog.Logger
	obs      Observer
	enforced bool
	host     Host // what the sandbox said at Open
	opened   bool // Open succeeded: Close reports what it stopped

	journal   *journal     // the one gate of agents' states and events
	agents    *supervisors // the owners of agents' containers
	pools     *warmPools
	callbacks *deliverer
	monitor   *monitor

	deadlines chan struct{}  // signalled when an earlier deadline may exist
	activity  activity       // agents in use now (Touch), which do not idle out
	pausing   [16]sync.Mutex // serializes pause and resume of one agent (by hash of its ID)
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
	log, obs := cfg.Logger, cfg.Observer
	j := &journal{store: store, obs: obs, log: log, clock: cfg.Now, feed: newFeed()}
	callbacks := newDeliverer(cfg.Notifier, cfg.Webhooks, store, cfg.CallbackAttempts, cfg.CallbackBackoff, log)
	j.webhook = callbacks.Kick
	r := &Runner{
		cfg: cfg, sb: sb, store: store, log: log, obs: obs,
		journal:   j,
		callbacks: callbacks,
		agents: newSupervisors(sb, store, j, cfg.Limiter, callbacks, log, supervision{
			instance: cfg.Instance, stopTimeout: cfg.StopTimeout, callTimeout: cfg.CallTimeout, logTail: cfg.LogTail,
			defaultMaxOutput: cfg.FunctionPolicy.DefaultMaxOutput, defaultConcurrency: cfg.FunctionPolicy.DefaultConcurrency,
			egress: cfg.Egress,
		}),
		pools: newWarmPools(sb, obs, log, poolConfig{
			instance: cfg.Instance, callTimeout: cfg.CallTimeout, maxIdle: cfg.WarmMaxIdle, now: cfg.Now,
			egress: cfg.Egress,
		}),
		monitor:   newMonitor(sb, store, j, obs, log, cfg.Thresholds),
		deadlines: make(chan struct{}, 1),
		activity:  activity{held: map[string]int{}},
	}
	j.deadline = r.notifyDeadline
	r.agents.monitor = r.monitor
	return r, nil
}

// Runtimes says which runtime runs each isolation this runner gives, as
// the sandbox reported at Open; nil before.
func (r *Runner) Runtimes() map[string]string { return maps.Clone(r.host.Runtimes) }

// Open probes the host, refuses to run where limits would be ignored, takes
// back the agents a previous run of this instance left behind, and opens
// the warm pools and the callback deliverer.
func (r *Runner) Open(ctx context.Context) error {
	host, err := r.sb.Probe(ctx)
	if err != nil {
		return fmt.Errorf("probe container host: %w", err)
	}
	r.host = host
	if why := LimitsUnenforced(host); why != "" {
		if !r.cfg.AllowUnenforcedLimits {
			return fmt.Errorf("%w: %s", ErrUnenforced, why)
		}
		r.log.Warn("resource limits are NOT enforced on this host; agents are marked limits_enforced=false", logWhy, why)
	} else {
		r.enforced = true
	}
	if err := r.reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile with containers: %w", err)
	}
	live, err := r.store.LiveAgents(ctx)
	if err != nil {
		return fmt.Errorf("start warm pools: %w", err)
	}
	inUse := map[string]bool{}
	for _, a := range live {
		inUse[a.ContainerID] = true
	}
	fns, err := r.store.Functions(ctx)
	if err != nil {
		return fmt.Errorf("start warm pools: %w", err)
	}
	if err := r.pools.Open(ctx, fns, inUse); err != nil {
		return fmt.Errorf("start warm pools: %w", err)
	}
	if err := r.callbacks.Open(ctx); err != nil {
		return fmt.Errorf("resume callbacks: %w", err)
	}
	r.opened = true
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

// Close stops supervising and waits for every goroutine the runner started.
// Agents' containers keep running (the next Open takes them back); warm
// containers, useless to a later run, are removed; callbacks not yet
// delivered resume after the next Open.
func (r *Runner) Close() error {
	supervised := r.agents.close()
	warm := r.pools.Close()
	r.agents.wait()
	r.callbacks.Close()
	if r.opened {
		r.log.Info("runner stopped", logStopped, supervised, logWarm, warm)
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

func (r *Runner) now() time.Time { return r.journal.now() }
