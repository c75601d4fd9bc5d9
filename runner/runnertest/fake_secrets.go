package runnertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/runner"
)

// fakeSecrets is the Fake's secret store: values in memory, never shown.
type fakeSecrets struct {
	mu sync.Mutex
	m  map[string]fakeSecret
}

type fakeSecret struct {
	value            []byte
	created, updated time.Time
}

var _ runner.SecretStore = (*Fake)(nil)

// Secrets lists the stored secrets by name.
func (f *Fake) Secrets(context.Context) ([]runner.Secret, error) {
	if err := f.down("secrets"); err != nil {
		return nil, err
	}
	f.secrets.mu.Lock()
	defer f.secrets.mu.Unlock()
	out := []runner.Secret{}
	for name, s := range f.secrets.m {
		out = append(out, runner.Secret{Name: name, CreatedAt: s.created, UpdatedAt: s.updated})
	}
	slices.SortFunc(out, func(a, b runner.Secret) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// CreateSecret stores a new secret; runner.ErrConflict if the name is taken.
func (f *Fake) CreateSecret(_ context.Context, name string, value []byte) error {
	f.secrets.mu.Lock()
	defer f.secrets.mu.Unlock()
	if _, ok := f.secrets.m[name]; ok {
		return fmt.Errorf("secret %s: %w", name, runner.ErrConflict)
	}
	if f.secrets.m == nil {
		f.secrets.m = map[string]fakeSecret{}
	}
	now := time.Now()
	f.secrets.m[name] = fakeSecret{value: slices.Clone(value), created: now, updated: now}
	return nil
}

// ReplaceSecret changes a secret's value; runner.ErrNotFound if there is none.
func (f *Fake) ReplaceSecret(_ context.Context, name string, value []byte) error {
	f.secrets.mu.Lock()
	defer f.secrets.mu.Unlock()
	s, ok := f.secrets.m[name]
	if !ok {
		return fmt.Errorf("secret %s: %w", name, runner.ErrNotFound)
	}
	s.value, s.updated = slices.Clone(value), time.Now()
	f.secrets.m[name] = s
	return nil
}

// DeleteSecret removes a secret; runner.ErrNotFound if there is none.
func (f *Fake) DeleteSecret(_ context.Context, name string) error {
	f.secrets.mu.Lock()
	defer f.secrets.mu.Unlock()
	if _, ok := f.secrets.m[name]; !ok {
		return fmt.Errorf("secret %s: %w", name, runner.ErrNotFound)
	}
	delete(f.secrets.m, name)
	return nil
}

// SecretValue returns what a container created with the secret would read, for tests.
func (f *Fake) SecretValue(name string) ([]byte, bool) {
	f.secrets.mu.Lock()
	defer f.secrets.mu.Unlock()
	s, ok := f.secrets.m[name]
	return slices.Clone(s.value), ok
}

// checkSecrets fails a create naming a secret the store does not hold, as Podman does.
func (f *Fake) checkSecrets(spec runner.Spec) error {
	for _, name := range spec.Secrets {
		if _, ok := f.SecretValue(name); !ok {
			return fmt.Errorf("create container from %s: no secret %q: %w", spec.Image, name, runner.ErrNotFound)
		}
	}
	return nil
}

// ContainerSecrets returns the secrets a container was created to mount,
// also once it is removed (an invocation's container goes as it ends).
func (f *Fake) ContainerSecrets(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mounted[id])
}
