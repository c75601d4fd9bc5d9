package runner

import (
	"context"
	"fmt"
)

// PutFunction creates or replaces a function and resizes its warm pool.
func (r *Runner) PutFunction(ctx context.Context, name string, req FunctionRequest) (Function, bool, error) {
	f, err := req.Validate(name, r.cfg.Policy, r.cfg.FunctionPolicy)
	if err != nil {
		return Function{}, false, err
	}
	if err := r.checkSecrets(ctx, f.Secrets); err != nil {
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
	r.pools.Set(f)
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
	r.pools.Remove(name)
	return nil
}

// ScaleFunction sets how many warm containers a function keeps ready,
// capped at the policy's MaxWarm; it returns the function as stored.
func (r *Runner) ScaleFunction(ctx context.Context, name string, warm int) (Function, error) {
	if warm < 0 {
		return Function{}, invalid("replicas", "must not be negative")
	}
	f, err := r.Function(ctx, name)
	if err != nil {
		return Function{}, err
	}
	f.Warm = min(warm, r.cfg.FunctionPolicy.MaxWarm)
	f.UpdatedAt = r.now()
	if _, err := r.store.PutFunction(ctx, f); err != nil {
		return Function{}, fmt.Errorf("scale function %s: %w", name, err)
	}
	r.pools.Set(f)
	return f, nil
}

// WarmReady reports how many warm containers of a function are ready now.
func (r *Runner) WarmReady(name string) int { return r.pools.Ready(name) }

// LoadFunctions stores functions declared in the configuration, replacing stored ones of the same name.
func (r *Runner) LoadFunctions(ctx context.Context, reqs map[string]FunctionRequest) error {
	for name, req := range reqs {
		if _, _, err := r.PutFunction(ctx, name, req); err != nil {
			return fmt.Errorf("function %s from the configuration: %w", name, err)
		}
	}
	return nil
}
