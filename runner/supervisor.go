package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/runner/shimproto"
)

// supervisor is the one owner of one agent's container, from launch or
// adoption to removal: it holds the agent, the container's ID, its
// attachment and the caller's streams, and has one method per mode (launch,
// adopt, recordExit, cleanup). Its methods run on its own goroutine (see
// supervisors.run); other goroutines only ask it to stop (requestStop) or
// wait for its start (started).
type supervisor struct {
	sv        *supervisors
	agent     Agent    // as supervision began; the store has its current state
	io        *agentIO // the caller's streams; nil for a container taken back or cleaned up
	container string   // the container's ID, once there is one
	egressKey string   // its egress listener's key while open; closed when supervision ends
	place     *Place   // an asynchronous invocation's place in the admission line (supervisors.launch)

	// started is closed once the agent has left pending, or the supervisor is done.
	started     chan struct{}
	startedOnce sync.Once
	// done is closed once the supervisor's goroutine has ended.
	done chan struct{}

	// stopped is closed at the first stop request; stopWhy says which stop
	// (ReasonDeleted, ReasonTTL, ...). One stop can win an agent's transition,
	// so one reason is all there is; it is sent again after every reattach.
	mu      sync.Mutex
	stopped chan struct{}
	stopWhy string
}

// requestStop asks the supervisor to stop the container for reason; safe from any goroutine.
func (s *supervisor) requestStop(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopWhy == "" {
		s.stopWhy = reason
		close(s.stopped)
	}
}

// stopReason returns the stop requested, if any.
func (s *supervisor) stopReason() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopWhy, s.stopWhy != ""
}

func (s *supervisor) markStarted() { s.startedOnce.Do(func() { close(s.started) }) }

func (s *supervisor) event(ctx context.Context, phase, detail string) {
	s.sv.journal.event(ctx, s.agent.ID, phase, detail)
}

// launch runs a pending agent: it waits for an asynchronous invocation's
// slot, creates its container (or takes the prepared one), connects the
// streams, starts it and watches it to the end.
func (s *supervisor) launch(ctx context.Context) {
	if s.agent.Kind() == KindAsync {
		release, err := s.admit(ctx)
		if err != nil {
			if ctx.Err() == nil { // stopped while queued; on shutdown it stays pending for the next start
				s.cleanup(ctx)
			}
			return
		}
		defer release()
	}
	s.connect(ctx)
	var att Attachment
	var ok bool
	if w := s.io.prepared; w != nil {
		att, ok = s.handOver(ctx, w)
	} else {
		att, ok = s.create(ctx)
	}
	if !ok {
		return
	}
	s.markRunning(ctx)
	s.watch(ctx, att)
}

// adopt takes back a container that ran on while podrun was down: it
// attaches again and watches it. A stop the agent's state asks for (DELETE,
// say, just before the restart) is sent once attached.
func (s *supervisor) adopt(ctx context.Context, c Container) {
	s.container = c.ID
	if len(s.agent.Egress) > 0 {
		// Its listener died with the previous run: open it again, in the
		// same directory, which the container still has mounted.
		key := s.agent.ID
		if c.Labels[LabelPool] != "" {
			key = strings.TrimPrefix(c.Name, "/") // a warm container's listener is named after it
		}
		if _, err := openEgress(s.sv.cfg.egress, key, s.agent.ID, s.agent.Egress); err != nil {
			s.sv.log.Warn("reopen egress proxy", logAgent, s.agent.ID, logErr, err)
		} else {
			s.egressKey = key
		}
	}
	if mustStop(s.agent) {
		s.requestStop(stopReason(s.agent))
	}
	att, ok := s.reattach(ctx)
	if !ok {
		return
	}
	s.event(ctx, PhaseRunning, "taken back after restart")
	s.watch(ctx, att)
}

// recordExit records the end of a container that exited while podrun was down.
func (s *supervisor) recordExit(ctx context.Context, c Container) {
	s.container = c.ID
	s.finish(ctx, Exit{Code: c.ExitCode, OOMKilled: c.OOMKilled, FinishedAt: c.FinishedAt})
}

// cleanup stops the container of an agent nobody watches if it is being
// deleted, removes it and completes the termination; launch also ends here
// when a stop comes before the container has started.
func (s *supervisor) cleanup(ctx context.Context) {
	a, err := s.sv.store.Agent(ctx, s.agent.ID)
	if err != nil {
		s.sv.log.Error("load agent", logAgent, s.agent.ID, logErr, err)
		return
	}
	if a.ContainerID == "" {
		a.ContainerID = s.container
	}
	// A container of its own that never started (stopped before its start)
	// needs no SIGTERM: only one that may have run unwatched does.
	unwatched := s.container == ""
	if a.State == StateTerminating && a.ContainerID != "" && a.RemovedAt.IsZero() && unwatched {
		s.event(ctx, PhaseStopping, ReasonDeleted)
		callCtx, cancel := s.sv.bounded(ctx)
		defer cancel()
		if err := s.sv.sb.Stop(callCtx, a.ContainerID, s.sv.cfg.stopTimeout); err != nil && !errors.Is(err, ErrNoContainer) {
			s.sv.log.Debug("stop container", logAgent, a.ID, logErr, err)
		}
	}
	s.dispose(ctx, a)
}

// concurrency is the function's max_concurrency, or the default if it is gone.
func (s *supervisor) concurrency(ctx context.Context) int {
	if f, err := s.sv.store.Function(ctx, s.agent.Function); err == nil {
		return f.MaxConcurrency
	}
	return s.sv.cfg.defaultConcurrency
}

// admit waits as long as it takes for an asynchronous invocation's slot, at
// the place it took when it was accepted; a released slot wakes it. A stop
// while it waits ends the wait.
func (s *supervisor) admit(ctx context.Context) (release func(), err error) {
	if s.place == nil {
		s.place = s.sv.limiter.Line(s.agent.Function, s.concurrency(ctx))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.sv.g.fork(func() {
		select {
		case <-s.stopped:
			cancel()
		case <-ctx.Done():
		}
	})
	return s.place.Wait(ctx)
}

// connect completes the agent's streams: its stored stdin, behind the shim
// header for an invocation, and a result buffer for an asynchronous one.
func (s *supervisor) connect(ctx context.Context) {
	a := s.agent
	if s.io == nil {
		s.io = &agentIO{}
	}
	if s.io.stdin == nil {
		s.io.stdin = bytes.NewReader(a.Stdin)
	}
	if a.Kind().Invocation() {
		header, err := shimproto.Encode(shimproto.Header{Env: s.io.env(a.Env)})
		if err != nil {
			header = nil // cannot happen with string maps; the shim then fails loudly
		}
		s.io.stdin = io.MultiReader(bytes.NewReader(header), s.io.stdin)
	}
	if a.Kind() == KindAsync && s.io.result == nil {
		s.io.result = NewCapped(s.sv.maxOutput(ctx, a.Function))
	}
}

// create creates, attaches and starts a fresh container for the agent.
func (s *supervisor) create(ctx context.Context) (Attachment, bool) {
	a := s.agent
	callCtx, cancel := s.sv.bounded(ctx)
	defer cancel()
	s.event(ctx, PhaseCreating, "")
	spec := s.sv.spec(a)
	if a.Kind().Invocation() {
		spec.Secrets = s.sv.functionSecrets(ctx, a.Function)
	}
	var err error
	if spec.EgressDir, err = openEgress(s.sv.cfg.egress, a.ID, a.ID, a.Egress); err != nil {
		s.failStart(ctx, err)
		return nil, false
	}
	if spec.EgressDir != "" {
		s.egressKey = a.ID
	}
	t := time.Now()
	id, err := s.sv.sb.Create(callCtx, spec)
	if err != nil {
		if ctx.Err() == nil {
			s.failStart(ctx, err) // the sandbox names the operation and image
		}
		return nil, false
	}
	s.phase(PhaseCreate, t)
	s.container = id
	if err := s.sv.store.SetContainer(ctx, a.ID, id); err != nil {
		s.failStart(ctx, fmt.Errorf("record container: %w", err))
		return nil, false
	}
	s.event(ctx, PhaseCreated, id)
	if _, stopped := s.stopReason(); stopped {
		s.cleanup(ctx)
		return nil, false
	}
	out := s.timedOutput()
	t = time.Now()
	att, err := s.sv.sb.Attach(callCtx, id, Streams{Stdin: s.io.stdin, Stdout: out.writer(), Stderr: s.io.stderr, Shim: a.Kind().Invocation()})
	if err != nil {
		s.failStart(ctx, err)
		return nil, false
	}
	s.phase(PhaseAttach, t)
	s.watchOutputEnd(ctx, att)
	s.event(ctx, PhaseStarting, a.Start)
	t = time.Now()
	if err := s.sv.sb.Start(callCtx, id); err != nil {
		s.failStart(ctx, err)
		return nil, false
	}
	s.phase(PhaseStart, t)
	out.arm()
	return att, true
}

// handOver gives a container prepared ahead (created, attached, started and
// blocked on its stdin) the invocation's streams.
func (s *supervisor) handOver(ctx context.Context, w *warmContainer) (Attachment, bool) {
	defer w.io.abandon() // a no-op once connected
	s.container = w.id
	if w.key != "" && s.sv.cfg.egress != nil {
		s.sv.cfg.egress.Bind(w.key, s.agent.ID)
		s.egressKey = w.key
	}
	s.event(ctx, PhaseCreated, w.id)
	if _, stopped := s.stopReason(); stopped {
		s.cleanup(ctx)
		return nil, false
	}
	s.event(ctx, PhaseStarting, s.agent.Start)
	out := s.timedOutput()
	t := time.Now()
	out.arm()
	w.io.connect(s.io.stdin, out.writer(), s.io.stderr)
	s.phase(PhaseHandover, t)
	s.watchOutputEnd(ctx, w.att)
	return w.att, true
}

// timedOutput is the agent's output writer, timed to its first byte; nil output stays nil.
func (s *supervisor) timedOutput() timedWriter {
	w := s.io.output()
	if w == nil {
		return timedWriter{}
	}
	return timedWriter{newFirstByte(w, func(d time.Duration) {
		s.sv.journal.obs.Phase(startOf(s.agent), PhaseFirstByte, d)
	})}
}

// timedWriter is an output writer with its first-byte timer, or nothing.
type timedWriter struct{ fb *firstByte }

func (t timedWriter) writer() io.Writer {
	if t.fb == nil {
		return nil
	}
	return t.fb
}

func (t timedWriter) arm() {
	if t.fb != nil {
		t.fb.arm()
	}
}

// markRunning records that the agent's process runs. If a stop won the
// race, its state says so and its request is on the way (supervisors.end).
func (s *supervisor) markRunning(ctx context.Context) {
	_, err := s.sv.journal.transition(ctx, s.agent.ID, Change{To: StateRunning, Detail: "container " + s.container})
	if err != nil && !errors.Is(err, ErrConflict) {
		s.sv.log.Error("mark agent running", logAgent, s.agent.ID, logErr, err)
	}
	s.markStarted()
	s.event(ctx, PhaseRunning, "")
}

// watchOutputEnd tells the caller, once, when the process's output has
// ended (see Invocation.OutputEnded), if nothing did before; started as soon
// as the streams are connected, so a process that exits at once is noticed
// however long the runner takes to record its start.
func (s *supervisor) watchOutputEnd(ctx context.Context, att Attachment) {
	if s.io == nil || s.io.outputEnded == nil {
		return
	}
	s.sv.g.fork(func() {
		select {
		case <-att.Done(): // the end of the stream
			s.io.endOutput()
		case <-ctx.Done():
		}
	})
}

// functionSecrets are the secrets a function's containers mount, as the
// function names them now; none if it is gone.
func (sv *supervisors) functionSecrets(ctx context.Context, name string) []string {
	f, err := sv.store.Function(ctx, name)
	if err != nil {
		return nil
	}
	return f.Secrets
}

// spec is what the sandbox is asked to create for agent a.
func (sv *supervisors) spec(a Agent) Spec {
	labels := make(map[string]string, len(a.Labels)+3)
	for k, v := range a.Labels {
		labels[k] = v
	}
	labels[LabelAgent] = a.ID
	labels[LabelInstance] = sv.cfg.instance
	shim := a.Kind().Invocation()
	env := a.Env
	if shim {
		labels[LabelFunction] = a.Function
		env = nil // a function's request metadata goes through the shim header, like a warm container's
	}
	return Spec{Name: "podrun-" + a.ID, Image: a.Image, Command: a.Command, Env: env, Limits: a.Limits, Labels: labels, Shim: shim,
		KeepAlive: a.KeepAlive, Isolation: specIsolation(a.Isolation)}
}
