package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/podrun/podrun/runner"
)

// harmlessWarnings are substrings of create warnings that do not weaken the
// container. Any other warning fails the create: Podman reports dropped
// limits (limitsIgnoredWarning) only as warnings.
var harmlessWarnings = []string{
	// None seen so far with the hardened spec on Podman 4.3.1 (rootful, runc,
	// cgroup v1). Add an entry only with a note on why it is harmless.
}

// limitsIgnoredWarning is how Podman (4.3 to 5.x) says a rootless container on
// cgroup v1 gets no memory, CPU or PID limits. It is accepted only where the
// operator allowed unenforced limits and the probe found them unenforceable
// (see Config.AllowUnenforcedLimits): agents there say limits_enforced false.
const limitsIgnoredWarning = "Resource limits are not supported and ignored on cgroups V1 rootless systems"

// Create creates a hardened container; it fails, leaving nothing behind, if Podman warns.
func (p *Podman) Create(ctx context.Context, rs runner.Spec) (string, error) {
	if rs.KeepAlive {
		if err := p.keepAliveSpec(rs); err != nil {
			return "", err
		}
	}
	// Egress runs the command under the shim too (withEgress); a keep-alive
	// container's PID 1 is the shim already.
	if !rs.Shim && (rs.EgressDir == "" || rs.KeepAlive) {
		return p.create(ctx, rs, rs.Image)
	}
	ss, err := p.shimSpec(ctx, rs)
	if err != nil {
		return "", err
	}
	id, err := p.create(ctx, ss, rs.Image)
	if err != nil && ss.Image != rs.Image && imageGone(err) {
		// The image pinned from the cache was removed (its tag rebuilt): look once more.
		p.forgetImage(rs.Image)
		if ss, err = p.shimSpec(ctx, rs); err != nil {
			return "", err
		}
		id, err = p.create(ctx, ss, rs.Image)
	}
	return id, err
}

func imageGone(err error) bool {
	return statusCode(err) == http.StatusNotFound || strings.Contains(err.Error(), "image not known")
}

// create creates the container rs describes; ref names its image in errors.
func (p *Podman) create(ctx context.Context, rs runner.Spec, ref string) (string, error) {
	s := Harden(rs, p.cfg)
	p.mountSecrets(s, rs.Secrets)
	if err := p.checkIsolation(rs); err != nil {
		return "", fmt.Errorf("create container from %s: %w", ref, err)
	}
	if rs.Isolation == runner.IsolationGVisor {
		forGVisor(s)
		mountFilter(s, p.cfg.filterPath)
	}
	var resp types.ContainerCreateResponse
	err := p.do(ctx, "create", func(ctx context.Context) (err error) {
		resp, err = containers.CreateWithSpec(p.creator(ctx, rs), s, nil)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create container from %s: %w", ref, err)
	}
	if err := p.checkRuntime(ctx, rs, resp.ID); err != nil {
		return "", errors.Join(fmt.Errorf("create container from %s: %w", ref, err), p.cleanup(ctx, resp.ID))
	}
	if len(resp.Warnings) > 0 {
		accepted, err := p.acceptedWarnings(ctx)
		if err != nil {
			accepted = nil // without the host's answer nothing is accepted
		}
		if w := unexpectedWarnings(resp.Warnings, accepted...); len(w) > 0 {
			err := fmt.Errorf("create container from %s: podman warned %q, refusing a container that may not be confined", ref, strings.Join(w, "; "))
			return "", errors.Join(err, p.cleanup(ctx, resp.ID))
		}
	}
	p.fresh.Store(resp.ID, struct{}{})
	return resp.ID, nil
}

// unexpectedWarnings returns the warnings that are neither harmless nor among accepted.
func unexpectedWarnings(warnings []string, accepted ...string) []string {
	var out []string
	for _, w := range warnings {
		if !slices.ContainsFunc(harmlessWarnings, containedIn(w)) && !slices.ContainsFunc(accepted, containedIn(w)) {
			out = append(out, w)
		}
	}
	return out
}

func containedIn(w string) func(string) bool {
	return func(sub string) bool { return strings.Contains(w, sub) }
}

// Start starts a created container; if that fails the container is removed, as
// Podman would otherwise keep it (and one of its 2048 locks) forever.
func (p *Podman) Start(ctx context.Context, id string) error {
	p.fresh.Delete(id)
	err := p.do(ctx, "start", func(ctx context.Context) error { return containers.Start(ctx, id, nil) })
	if err == nil {
		return nil
	}
	err = wrapErr("start", id, err)
	if errors.Is(err, runner.ErrNoContainer) {
		return err
	}
	return errors.Join(err, p.cleanup(ctx, id))
}

// cleanup removes a container on a failure path, even if ctx is already done.
func (p *Podman) cleanup(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.Remove(ctx, id); err != nil && !errors.Is(err, runner.ErrNoContainer) {
		return fmt.Errorf("clean up after failure: %w", err)
	}
	return nil
}
