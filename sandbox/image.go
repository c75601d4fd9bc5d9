package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/podrun/podrun/runner"
)

// EnsureImage returns at once if the image is present and otherwise pulls it
// within Config.PullTimeout; failing that it returns runner.ErrImageUnavailable.
func (p *Podman) EnsureImage(ctx context.Context, ref string) error {
	var ok bool
	err := p.do(ctx, "image_exists", func(ctx context.Context) (err error) {
		ok, err = images.Exists(ctx, ref, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("look up image %s: %w", ref, err)
	}
	if ok {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, p.cfg.PullTimeout)
	defer cancel()
	start := time.Now()
	_, err = images.Pull(p.call(pctx), ref, new(images.PullOptions).WithQuiet(true).WithPolicy("missing"))
	p.observe("image_pull", start)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("pull image %s: %w", ref, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("image %s is not present locally and could not be pulled: %v: %w", ref, err, runner.ErrImageUnavailable)
	}
	return nil
}
