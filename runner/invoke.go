package runner

import (
	"context"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/podrun/podrun/runner/shimproto"
)

// Invoke runs one invocation of a function in a container that never served
// anyone. Synchronous: it streams stdout to inv.Output and returns when the
// process has ended; if ctx ends first (the client left) the agent is killed.
// Asynchronous: it records the agent durably and returns at once.
func (r *Runner) Invoke(ctx context.Context, inv Invocation) (InvokeResult, error) {
	begin := time.Now()
	f, err := r.Function(ctx, inv.Function)
	if err != nil {
		return InvokeResult{}, err
	}
	if inv.Async {
		return r.invokeAsync(ctx, f, inv)
	}
	release, err := r.cfg.Limiter.Acquire(ctx, f.Name, f.MaxConcurrency)
	if err != nil {
		return InvokeResult{}, err
	}
	defer release()

	a := r.newInvocation(f, inv.Env)
	warm, hit := r.pools.take(f.Name)
	if hit {
		a.Start, a.ContainerID = StartWarm, warm.id
	}
	if err := r.store.CreateAgent(ctx, a); err != nil {
		r.pools.discard(warm)
		return InvokeResult{}, fmt.Errorf("store invocation: %w", err)
	}
	r.obs.AgentCreated()
	r.obs.Transitioned(StatePending)
	r.notifyDeadline()
	if inv.Started != nil {
		inv.Started(a)
	}
	overflow := fmt.Sprintf("it wrote more than its max_output of %d bytes", f.MaxOutput)
	aio := &agentIO{
		stdin:       inv.Body,
		stdout:      NewCappedWriter(inv.Output, f.MaxOutput, func() { go r.endInvocation(a.ID, ReasonOutputLimit, overflow) }),
		prepared:    warm,
		exited:      make(chan struct{}),
		outputEnded: inv.OutputEnded,
	}
	if aio.stdin == nil {
		aio.stdin = eofReader{}
	}
	if inv.OutputEnded != nil {
		// The shim's exit line ends its stderr a little before the stream
		// ends, which waits for the container's exit.
		aio.stderr = &shimproto.ExitWatcher{OnExit: aio.endOutput}
	}
	if !r.supervise(a, nil, aio) {
		r.pools.discard(warm)
		return InvokeResult{}, fmt.Errorf("invoke %s: runner is closed", f.Name)
	}
	select {
	case <-aio.exited:
	case <-ctx.Done():
		r.endInvocation(a.ID, ReasonClientGone, "the client went away before the answer")
		<-aio.exited
	}
	r.pools.refill(f.Name) // now, not at the take: a refill's create would compete with this request
	final, err := r.store.Agent(context.WithoutCancel(ctx), a.ID)
	if err != nil {
		return InvokeResult{}, err
	}
	code := -1
	if final.ExitCode != nil {
		code = *final.ExitCode
	}
	r.obs.Invoked(f.Name, a.Start, Outcome(final), time.Since(begin))
	return InvokeResult{Agent: final, ExitCode: code}, nil
}

// invokeAsync records the invocation with its body; a supervisor runs it when a slot is free.
func (r *Runner) invokeAsync(ctx context.Context, f Function, inv Invocation) (InvokeResult, error) {
	a := r.newInvocation(f, inv.Env)
	a.Async, a.CallbackURL = true, inv.CallbackURL
	if inv.Body != nil {
		body, err := io.ReadAll(inv.Body)
		if err != nil {
			return InvokeResult{}, fmt.Errorf("%w: read request body: %v", ErrInvalid, err)
		}
		a.Stdin = body
	}
	if err := r.store.CreateAgent(ctx, a); err != nil {
		return InvokeResult{}, fmt.Errorf("store invocation: %w", err)
	}
	r.obs.AgentCreated()
	r.obs.Transitioned(StatePending)
	r.notifyDeadline()
	r.supervise(a, nil, nil)
	return InvokeResult{Agent: a, ExitCode: -1}, nil
}

// newInvocation is the pending agent for one invocation of f.
func (r *Runner) newInvocation(f Function, reqEnv map[string]string) Agent {
	now := r.now()
	env := maps.Clone(f.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, reqEnv)
	return Agent{
		ID: NewID(now), Function: f.Name, Image: f.Image, Command: f.Command, Env: env,
		Limits: f.Limits, LimitsEnforced: r.enforced, Labels: map[string]string{},
		State: StatePending, Start: StartCold, CreatedAt: now, ExpiresAt: now.Add(f.Timeout),
	}
}

// endInvocation fails a live invocation for reason (the client left, too much output) and kills it.
func (r *Runner) endInvocation(id, reason, message string) {
	cur, err := r.transition(r.ctx, id, Change{
		To: StateFailed, Reason: reason, Message: message, Detail: reason,
	})
	if err != nil {
		return // already final: nothing to end
	}
	r.stop(cur, reason)
}

// admitBackground waits as long as it takes for an asynchronous invocation's
// slot; a released slot wakes it. ok is false once ctx ends.
func (r *Runner) admitBackground(ctx context.Context, function string) (release func(), ok bool) {
	max := r.cfg.FunctionPolicy.DefaultConcurrency
	if f, err := r.store.Function(ctx, function); err == nil {
		max = f.MaxConcurrency
	}
	release, err := r.cfg.Limiter.Wait(ctx, function, max)
	return release, err == nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
