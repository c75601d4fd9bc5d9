package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
)

// Pause freezes every process of a running container through Podman's pause
// (runc pause: the cgroup freezer). Its memory stays; it uses no CPU until
// Unpause. Podman answers 409 for a container that is not running, which is
// runner.ErrConflict.
func (p *Podman) Pause(ctx context.Context, id string) error {
	err := p.do(ctx, "pause", func(ctx context.Context) error {
		return containers.Pause(ctx, id, nil)
	})
	return p.stateErr("pause", id, err)
}

// Unpause thaws a paused container; runner.ErrConflict if it is not paused.
func (p *Podman) Unpause(ctx context.Context, id string) error {
	err := p.do(ctx, "unpause", func(ctx context.Context) error {
		return containers.Unpause(ctx, id, nil)
	})
	return p.stateErr("unpause", id, err)
}

func (p *Podman) stateErr(op, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case notFound(err):
		return wrapErr(op, id, err)
	case notRunning(err):
		return fmt.Errorf("%s container %s: %w: %v", op, id, runner.ErrConflict, err)
	default:
		return wrapErr(op, id, err)
	}
}

// stopPaused stops a paused container: Podman 4.3 refuses to stop one
// ("container state improper"), and a frozen process would not see the
// SIGTERM anyway, so it is thawed first and then stopped as usual.
func (p *Podman) stopPaused(ctx context.Context, id string, secs uint) (bool, error) {
	data, err := p.inspect(ctx, id)
	if err != nil || data.State == nil || data.State.Status != runner.ContainerPaused {
		return false, nil
	}
	if err := p.Unpause(ctx, id); err != nil && !errors.Is(err, runner.ErrConflict) {
		return true, err
	}
	start := time.Now()
	err = containers.Stop(p.call(ctx), id, new(containers.StopOptions).WithTimeout(secs))
	p.observe("stop", start)
	if err != nil {
		return true, wrapErr("stop", id, err)
	}
	return true, nil
}
