package runner

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// SecretDir is where a function's secrets are mounted, one read-only file
// per secret named after it, as OpenFaaS mounts them.
const SecretDir = "/var/openfaas/secrets"

// MaxSecretSize is the largest secret value Podman's secret store accepts, in bytes (exclusive).
const MaxSecretSize = 512000

// secretNamePattern is what a secret name may look like: a DNS-subdomain-like
// word that is also a valid file name and a valid part of a Podman secret name.
const secretNamePattern = `[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?`

var secretName = regexp.MustCompile(`^` + secretNamePattern + `$`)

// ValidSecretName reports whether name can name a secret.
func ValidSecretName(name string) bool { return secretName.MatchString(name) }

// Secret is one secret's description; its value never leaves the secret store but into a container.
type Secret struct {
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SecretStore keeps secret values out of podrun's database and logs: the
// sandbox holds them and mounts them into the containers of the functions
// that name them (Spec.Secrets). Names are podrun's own; a store keeps them
// apart from secrets it holds for anyone else.
type SecretStore interface {
	// Secrets lists podrun's secrets, by name.
	Secrets(ctx context.Context) ([]Secret, error)
	// CreateSecret stores a new secret; ErrConflict if the name is taken.
	CreateSecret(ctx context.Context, name string, value []byte) error
	// ReplaceSecret changes an existing secret's value; ErrNotFound if there is none.
	ReplaceSecret(ctx context.Context, name string, value []byte) error
	// DeleteSecret removes a secret; ErrNotFound if there is none.
	DeleteSecret(ctx context.Context, name string) error
}

// secretStore is the sandbox's secret store, or an error saying it has none.
func (r *Runner) secretStore() (SecretStore, error) {
	ss, ok := r.sb.(SecretStore)
	if !ok {
		return nil, fmt.Errorf("secrets: the sandbox keeps no secrets: %w", ErrInvalid)
	}
	return ss, nil
}

// Secrets lists the secrets functions may name.
func (r *Runner) Secrets(ctx context.Context) ([]Secret, error) {
	ss, err := r.secretStore()
	if err != nil {
		return nil, err
	}
	return ss.Secrets(ctx)
}

// PutSecret creates a secret, or with replace changes an existing one's
// value. Warm containers of the functions naming it are replaced, so no
// invocation after the change sees the old value.
func (r *Runner) PutSecret(ctx context.Context, name string, value []byte, replace bool) error {
	if !ValidSecretName(name) {
		return invalid("name", "must match %s", secretNamePattern)
	}
	if len(value) == 0 || len(value) >= MaxSecretSize {
		return invalid("value", "must hold 1 to %d bytes", MaxSecretSize-1)
	}
	ss, err := r.secretStore()
	if err != nil {
		return err
	}
	if !replace {
		return ss.CreateSecret(ctx, name, value)
	}
	if err := ss.ReplaceSecret(ctx, name, value); err != nil {
		return err
	}
	return r.renewPoolsUsing(ctx, name)
}

// DeleteSecret removes a secret; ErrConflict while a function names it.
func (r *Runner) DeleteSecret(ctx context.Context, name string) error {
	if !ValidSecretName(name) {
		return fmt.Errorf("secret %q: %w", name, ErrNotFound)
	}
	ss, err := r.secretStore()
	if err != nil {
		return err
	}
	users, err := r.functionsUsing(ctx, name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("secret %s is used by function %s: %w", name, users[0].Name, ErrConflict)
	}
	return ss.DeleteSecret(ctx, name)
}

// checkSecrets reports the first of names the secret store does not hold, as a FieldError.
func (r *Runner) checkSecrets(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	have, err := r.Secrets(ctx)
	if err != nil {
		return err
	}
	for i, name := range names {
		if !slices.ContainsFunc(have, func(s Secret) bool { return s.Name == name }) {
			return invalid(fmt.Sprintf("secrets[%d]", i), "no secret named %q: create it first", name)
		}
	}
	return nil
}

// functionsUsing returns the functions that name secret.
func (r *Runner) functionsUsing(ctx context.Context, secret string) ([]Function, error) {
	fs, err := r.store.Functions(ctx)
	if err != nil {
		return nil, err
	}
	var users []Function
	for _, f := range fs {
		if slices.Contains(f.Secrets, secret) {
			users = append(users, f)
		}
	}
	return users, nil
}

// renewPoolsUsing replaces the warm containers of the functions naming
// secret: Podman copies a secret's value into a container when creating it.
func (r *Runner) renewPoolsUsing(ctx context.Context, secret string) error {
	users, err := r.functionsUsing(ctx, secret)
	if err != nil {
		return err
	}
	for _, f := range users {
		r.pools.Remove(f.Name)
		r.pools.Set(f)
	}
	return nil
}
