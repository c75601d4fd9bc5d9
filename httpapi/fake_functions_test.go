package httpapi

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/podrun/podrun/runner"
)

var testFunctionPolicy = runner.FunctionPolicy{
	DefaultTimeout:     30 * time.Second,
	MaxTimeout:         5 * time.Minute,
	MaxWarm:            4,
	DefaultConcurrency: 2,
	MaxConcurrency:     8,
	DefaultMaxOutput:   6 << 20,
	MaxMaxOutput:       64 << 20,
}

// fakeFunctions is the fake's function store and invocation recorder; the fake's mu guards it.
type fakeFunctions struct {
	funcs   map[string]runner.Function
	results map[string]runner.Result
	lastInv runner.Invocation
	// invoke replaces the default behaviour: echo the body, exit 0.
	invoke func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error)
}

func (f *fakeService) PutFunction(ctx context.Context, name string, req runner.FunctionRequest) (runner.Function, bool, error) {
	if err := f.enter("PutFunction"); err != nil {
		return runner.Function{}, false, err
	}
	fn, err := req.Validate(name, testPolicy, testFunctionPolicy)
	if err != nil {
		return runner.Function{}, false, fmt.Errorf("put function %s: %w", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, exists := f.fn.funcs[name]
	fn.CreatedAt, fn.UpdatedAt = time.Now(), time.Now()
	if exists {
		fn.CreatedAt = old.CreatedAt
	}
	if f.fn.funcs == nil {
		f.fn.funcs = map[string]runner.Function{}
	}
	f.fn.funcs[name] = fn
	return fn, !exists, nil
}

func (f *fakeService) Function(ctx context.Context, name string) (runner.Function, error) {
	if err := f.enter("Function"); err != nil {
		return runner.Function{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.fn.funcs[name]
	if !ok {
		return runner.Function{}, fmt.Errorf("function %s: %w", name, runner.ErrNotFound)
	}
	return fn, nil
}

func (f *fakeService) Functions(ctx context.Context) ([]runner.Function, error) {
	if err := f.enter("Functions"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runner.Function
	for _, name := range slices.Sorted(maps.Keys(f.fn.funcs)) {
		out = append(out, f.fn.funcs[name])
	}
	return out, nil
}

func (f *fakeService) DeleteFunction(ctx context.Context, name string) error {
	if err := f.enter("DeleteFunction"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.fn.funcs[name]; !ok {
		return fmt.Errorf("function %s: %w", name, runner.ErrNotFound)
	}
	delete(f.fn.funcs, name)
	return nil
}

func (f *fakeService) Invoke(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
	if err := f.enter("Invoke"); err != nil {
		return runner.InvokeResult{}, err
	}
	f.mu.Lock()
	f.fn.lastInv = inv
	_, known := f.fn.funcs[inv.Function]
	invoke := f.fn.invoke
	f.mu.Unlock()
	if !known {
		return runner.InvokeResult{}, fmt.Errorf("function %s: %w", inv.Function, runner.ErrNotFound)
	}
	if invoke != nil {
		return invoke(ctx, inv)
	}
	a := runner.Agent{ID: runner.NewID(time.Now()), Function: inv.Function, State: runner.StatePending, Isolation: runner.IsolationRunc,
		Async: inv.Async, CallbackURL: inv.CallbackURL, Start: runner.StartCold}
	if inv.Async {
		// Like the runner: the body is read whole before the 202.
		if _, err := io.ReadAll(inv.Body); err != nil {
			return runner.InvokeResult{}, fmt.Errorf("read invocation body: %w", err)
		}
		return runner.InvokeResult{Agent: a}, nil
	}
	inv.Started(a)
	if _, err := io.Copy(inv.Output, inv.Body); err != nil {
		return runner.InvokeResult{}, err
	}
	a.State = runner.StateSucceeded
	return runner.InvokeResult{Agent: a}, nil
}

func (f *fakeService) Result(ctx context.Context, agentID string) (runner.Result, error) {
	if err := f.enter("Result"); err != nil {
		return runner.Result{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	res, ok := f.fn.results[agentID]
	if !ok {
		return runner.Result{}, fmt.Errorf("result of %s: %w", agentID, runner.ErrNotFound)
	}
	return res, nil
}

// addFunction stores a function directly.
func (f *fakeService) addFunction(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fn.funcs == nil {
		f.fn.funcs = map[string]runner.Function{}
	}
	f.fn.funcs[name] = runner.Function{Name: name, Image: "busybox", Timeout: 30 * time.Second}
}

// onInvoke replaces the fake's invocation behaviour.
func (f *fakeService) onInvoke(fn func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fn.invoke = fn
}

func (f *fakeService) lastInvocation() runner.Invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fn.lastInv
}

// addResult stores an asynchronous invocation's result.
func (f *fakeService) addResult(r runner.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fn.results == nil {
		f.fn.results = map[string]runner.Result{}
	}
	f.fn.results[r.AgentID] = r
}
