package httpapi

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/podrun/podrun/runner"
)

// fakeSecrets holds the fake's secrets; the fake's mu guards it.
type fakeSecrets map[string][]byte

func (f *fakeService) ScaleFunction(ctx context.Context, name string, warm int) (runner.Function, error) {
	if err := f.enter("ScaleFunction"); err != nil {
		return runner.Function{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fn, ok := f.fn.funcs[name]
	if !ok {
		return runner.Function{}, fmt.Errorf("function %s: %w", name, runner.ErrNotFound)
	}
	fn.Warm = min(warm, testFunctionPolicy.MaxWarm)
	f.fn.funcs[name] = fn
	return fn, nil
}

// WarmReady reports the pool as always full.
func (f *fakeService) WarmReady(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fn.funcs[name].Warm
}

func (f *fakeService) Secrets(ctx context.Context) ([]runner.Secret, error) {
	if err := f.enter("Secrets"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []runner.Secret{}
	for _, name := range slices.Sorted(maps.Keys(f.secrets)) {
		out = append(out, runner.Secret{Name: name})
	}
	return out, nil
}

func (f *fakeService) PutSecret(ctx context.Context, name string, value []byte, replace bool) error {
	if err := f.enter("PutSecret"); err != nil {
		return err
	}
	if !runner.ValidSecretName(name) {
		return &runner.FieldError{Field: "name", Message: "bad name"}
	}
	if len(value) == 0 {
		return &runner.FieldError{Field: "value", Message: "empty"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, exists := f.secrets[name]
	switch {
	case replace && !exists:
		return fmt.Errorf("secret %s: %w", name, runner.ErrNotFound)
	case !replace && exists:
		return fmt.Errorf("secret %s: %w", name, runner.ErrConflict)
	}
	if f.secrets == nil {
		f.secrets = fakeSecrets{}
	}
	f.secrets[name] = slices.Clone(value)
	return nil
}

func (f *fakeService) DeleteSecret(ctx context.Context, name string) error {
	if err := f.enter("DeleteSecret"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.secrets[name]; !ok {
		return fmt.Errorf("secret %s: %w", name, runner.ErrNotFound)
	}
	delete(f.secrets, name)
	return nil
}
