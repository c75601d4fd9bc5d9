package runner

import (
	"context"
	"errors"
	"fmt"
)

// PutFunction creates or replaces a function and resizes its warm pool.
func (r *Runner) PutFunction(ctx context.Context, name string, req FunctionRequest) (Function, bool, error) {
	f, err := req.Validate(name, r.cfg.Policy, r.cfg.FunctionPolicy)
	if err != nil {
		return Function{}, false, err
	}
	if err := r.sb.EnsureImage(ctx, f.Image); err != nil {
		return Function{}, false, err
	}
	now := r.now()
	f.CreatedAt, f.UpdatedAt = now, now
	created, err := r.store.PutFunction(ctx, f)
	if err != nil {
		return Function{}, false, fmt.Errorf("store function %s: %w", name, err)
	}
	if !created {
		if stored, err := r.store.Function(ctx, name); err == nil {
			f.CreatedAt = stored.CreatedAt
		}
	}
	r.pools.set(f)
	return f, created, nil
}

// Function returns one function.
func (r *Runner) Function(ctx context.Context, name string) (Function, error) {
	if !ValidFunctionName(name) {
		return Function{}, fmt.Errorf("function %q: %w", name, ErrNotFound)
	}
	return r.store.Function(ctx, name)
}

// Functions returns every function.
func (r *Runner) Functions(ctx context.Context) ([]Function, error) { return r.store.Functions(ctx) }

// DeleteFunction removes a function and drains its warm pool; its agents stay.
func (r *Runner) DeleteFunction(ctx context.Context, name string) error {
	if !ValidFunctionName(name) {
		return fmt.Errorf("function %q: %w", name, ErrNotFound)
	}
	if err := r.store.DeleteFunction(ctx, name); err != nil {
		return err
	}
	r.pools.remove(name)
	return nil
}

// Result returns an asynchronous invocation's result; ErrConflict while it still runs.
func (r *Runner) Result(ctx context.Context, agentID string) (Result, error) {
	res, err := r.store.Result(ctx, agentID)
	if !errors.Is(err, ErrNotFound) {
		return res, err
	}
	a, err := r.store.Agent(ctx, agentID)
	if err != nil {
		return Result{}, err
	}
	if a.Kind() != KindAsync {
		return Result{}, fmt.Errorf("agent %s is not an asynchronous invocation: %w", agentID, ErrNotFound)
	}
	if a.State.Live() {
		return Result{}, fmt.Errorf("%w: agent %s is %s; its result is not ready", ErrConflict, agentID, a.State)
	}
	return Result{}, fmt.Errorf("agent %s left no result: %w", agentID, ErrNotFound)
}

// LoadFunctions stores functions declared in the configuration, replacing stored ones of the same name.
func (r *Runner) LoadFunctions(ctx context.Context, reqs map[string]FunctionRequest) error {
	for name, req := range reqs {
		if _, _, err := r.PutFunction(ctx, name, req); err != nil {
			return fmt.Errorf("function %s from the configuration: %w", name, err)
		}
	}
	return nil
}
