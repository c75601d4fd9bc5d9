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

	a := newInvocation(f, r.now(), r.enforced)
	warm, hit := r.pools.Take(f.Name)
	if hit {
		a.Start, a.ContainerID = StartWarm, warm.id
	}
	overflow := func() { // on the stream's goroutine, which must not block
		r.agents.spawn(func(ctx context.Context) { _, _ = r.agents.end(ctx, a.ID, outputLimit(f.MaxOutput)) })
	}
	aio := &agentIO{
		stdin:       inv.Body,
		stdout:      NewCappedWriter(inv.Output, f.MaxOutput, overflow),
		prepared:    warm,
		started:     inv.Started,
		exited:      make(chan struct{}),
		outputEnded: inv.OutputEnded,
		requestEnv:  inv.Env,
	}
	if aio.stdin == nil {
		aio.stdin = eofReader{}
	}
	if inv.OutputEnded != nil {
		// The shim's exit line ends its stderr a little before the stream
		// ends, which waits for the container's exit.
		aio.stderr = &shimproto.ExitWatcher{OnExit: aio.endOutput}
	}
	if err := r.add(ctx, &a, aio); err != nil {
		r.pools.Discard(warm)
		return InvokeResult{}, fmt.Errorf("invoke %s: %w", f.Name, err)
	}
	select {
	case <-aio.exited:
	case <-ctx.Done():
		_, _ = r.agents.end(context.WithoutCancel(ctx), a.ID, clientGone("the client went away before the answer", ReasonClientGone))
		<-aio.exited
	}
	r.pools.Refill(f.Name) // now, not at the take: a refill's create would compete with this request
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

// invokeAsync records the invocation with its body; its supervisor runs it when a slot is free.
func (r *Runner) invokeAsync(ctx context.Context, f Function, inv Invocation) (InvokeResult, error) {
	a := newInvocation(f, r.now(), r.enforced)
	a.Async, a.CallbackURL = true, inv.CallbackURL
	if inv.Body != nil {
		body, err := io.ReadAll(inv.Body)
		if err != nil {
			return InvokeResult{}, fmt.Errorf("%w: read request body: %v", ErrInvalid, err)
		}
		a.Stdin = body
	}
	if err := r.add(ctx, &a, &agentIO{requestEnv: inv.Env}); err != nil {
		return InvokeResult{}, fmt.Errorf("invoke %s: %w", f.Name, err)
	}
	return InvokeResult{Agent: a, ExitCode: -1}, nil
}

// newInvocation is the pending agent for one invocation of f, created now.
// Its env is the function's alone: the request's metadata goes to the
// process through agentIO.requestEnv and is never stored with the agent.
func newInvocation(f Function, now time.Time, enforced bool) Agent {
	env := maps.Clone(f.Env)
	if env == nil {
		env = map[string]string{}
	}
	return Agent{
		ID: NewID(now), Function: f.Name, Image: f.Image, Command: f.Command, Env: env,
		Limits: f.Limits, LimitsEnforced: enforced, Labels: map[string]string{},
		State: StatePending, Start: StartCold, CreatedAt: now, ExpiresAt: now.Add(f.Timeout),
		Isolation: f.Isolation, Egress: f.Egress,
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
