package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/secrets"
	"github.com/containers/podman/v5/pkg/specgen"
	"github.com/podrun/podrun/runner"
)

var _ runner.SecretStore = (*Podman)(nil)

// Podman's secret store is shared by everyone using the service. podrun's
// secrets are told apart by name: "podrun.<instance>.<name>" (Podman 4.3
// neither keeps a secret's labels nor filters by them). The label is sent too,
// for newer services and people listing secrets by hand.
const (
	secretPrefix = "podrun."
	secretLabel  = "podrun.secret"
)

// secretMode lets any user of the container read its secrets: the container
// runs one function, its user may be any UID the image names, and the mount
// stays read-only.
const secretMode = 0o444

// podmanSecretName is the name in Podman's store of podrun's secret name.
func (p *Podman) podmanSecretName(name string) string {
	return p.secretScope() + name
}

// secretScope prefixes this instance's secret names.
func (p *Podman) secretScope() string {
	if p.cfg.Instance == "" {
		return secretPrefix
	}
	return secretPrefix + p.cfg.Instance + "."
}

// Secrets lists podrun's secrets (names without the prefix), by name.
func (p *Podman) Secrets(ctx context.Context) ([]runner.Secret, error) {
	var reports []*secretReport
	err := p.do(ctx, "list secrets", func(ctx context.Context) error {
		rs, err := secrets.List(ctx, nil)
		for _, r := range rs {
			reports = append(reports, &secretReport{name: r.Spec.Name, created: r.CreatedAt, updated: r.UpdatedAt})
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", unavailable(err))
	}
	scope := p.secretScope()
	out := []runner.Secret{}
	for _, r := range reports {
		name, ok := strings.CutPrefix(r.name, scope)
		if ok && runner.ValidSecretName(name) {
			out = append(out, runner.Secret{Name: name, CreatedAt: r.created, UpdatedAt: r.updated})
		}
	}
	slices.SortFunc(out, func(a, b runner.Secret) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// CreateSecret stores a new secret in Podman's store; runner.ErrConflict if the name is taken.
func (p *Podman) CreateSecret(ctx context.Context, name string, value []byte) error {
	full := p.podmanSecretName(name)
	err := p.do(ctx, "create secret", func(ctx context.Context) error {
		_, err := secrets.Create(ctx, bytes.NewReader(value), new(secrets.CreateOptions).
			WithName(full).WithLabels(map[string]string{secretLabel: name}))
		return err
	})
	switch {
	case err == nil:
		return nil
	case statusCode(err) == http.StatusConflict || strings.Contains(err.Error(), "in use"):
		return fmt.Errorf("secret %s already exists: %w", name, runner.ErrConflict)
	}
	// Podman's message never holds the value; it may name the secret.
	return fmt.Errorf("create secret %s: %w", name, unavailable(err))
}

// ReplaceSecret changes a secret's value: Podman 4.3 cannot replace one in
// place, so it is removed and created again; a container created in between
// fails its create rather than start without it.
func (p *Podman) ReplaceSecret(ctx context.Context, name string, value []byte) error {
	if err := p.DeleteSecret(ctx, name); err != nil {
		return err
	}
	return p.CreateSecret(ctx, name, value)
}

// DeleteSecret removes a secret from Podman's store; runner.ErrNotFound if there is none.
func (p *Podman) DeleteSecret(ctx context.Context, name string) error {
	err := p.do(ctx, "remove secret", func(ctx context.Context) error {
		return secrets.Remove(ctx, p.podmanSecretName(name))
	})
	switch {
	case err == nil:
		return nil
	case statusCode(err) == http.StatusNotFound || strings.Contains(err.Error(), "no such secret"):
		return fmt.Errorf("secret %s: %w", name, runner.ErrNotFound)
	}
	return fmt.Errorf("remove secret %s: %w", name, unavailable(err))
}

type secretReport struct {
	name             string
	created, updated time.Time
}

// mountSecrets mounts each named secret read-only at runner.SecretDir/NAME.
// Podman copies the value into the container's run directory at create, owned
// by root of the container's user namespace.
func (p *Podman) mountSecrets(s *specgen.SpecGenerator, names []string) {
	for _, name := range names {
		s.Secrets = append(s.Secrets, specgen.Secret{
			Source: p.podmanSecretName(name),
			Target: path.Join(runner.SecretDir, name),
			Mode:   secretMode,
		})
	}
}
