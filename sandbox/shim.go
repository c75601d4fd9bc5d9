package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podrun/podrun/runner"
)

// ShimTarget is where the shim appears inside a container: a path no image is
// likely to use, on the read-only root (runc creates the mount point first).
const ShimTarget = "/.podrun/shim"

// ErrNoShimPath is returned by Create for a Spec with Shim when Config.ShimPath is empty.
var ErrNoShimPath = errors.New("the spec asks for podrun's shim but the sandbox has no shim path configured (sandbox.shim_path)")

// imageCacheTTL is how long an image's command is trusted: a tag rebuilt
// with another command is picked up within this time.
const imageCacheTTL = 30 * time.Second

// DefaultShimPath is podrun-shim next to the running executable, where `make build` puts it.
func DefaultShimPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the shim next to the executable: %w", err)
	}
	return filepath.Join(filepath.Dir(exe), "podrun-shim"), nil
}

// checkShim fails early, at New, for a shim binary that cannot work.
func checkShim(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("sandbox shim: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o005 != 0o005 {
		// Containers run as unmapped users to whom the host's root-owned file
		// belongs to "nobody": they need the read and execute bits for others.
		return fmt.Errorf("sandbox shim %s: want a regular file readable and executable by all, have mode %s", path, fi.Mode())
	}
	return nil
}

// mountShim bind-mounts the shim read-only from the host at ShimTarget. A
// Spec with Shim makes it the entrypoint, and the command its arguments.
func mountShim(s *specgen.SpecGenerator, shimPath string) {
	s.Mounts = append(s.Mounts, spec.Mount{
		Destination: ShimTarget,
		Type:        "bind",
		Source:      shimPath,
		Options:     []string{"bind", "ro", "nosuid", "nodev"},
	})
}

// shimSpec checks that the shim can be used and fills in the command: the
// shim replaces the image's entrypoint, so the image's own entrypoint and
// command become the shim's arguments when the spec names no command. The
// image is then pinned by ID, so command and image cannot disagree.
func (p *Podman) shimSpec(ctx context.Context, rs runner.Spec) (runner.Spec, error) {
	if p.cfg.ShimPath == "" {
		return rs, fmt.Errorf("create container from %s: %w", rs.Image, ErrNoShimPath)
	}
	if len(rs.Command) > 0 {
		return rs, nil
	}
	img, err := p.imageConfig(ctx, rs.Image)
	if err != nil {
		return rs, err
	}
	if len(img.command) == 0 {
		return rs, fmt.Errorf("create container from %s: the image has no entrypoint or command and the spec gives none: %w", rs.Image, runner.ErrInvalid)
	}
	rs.Image, rs.Command = img.id, slices.Clone(img.command)
	return rs, nil
}

// imageCache holds what the shim needs from each image, by reference.
type imageCache struct {
	mu sync.Mutex
	m  map[string]imageEntry
}

type imageEntry struct {
	id      string
	command []string // Entrypoint then Cmd
	at      time.Time
}

// imageConfig returns an image's ID and command, inspecting it at most once per imageCacheTTL.
func (p *Podman) imageConfig(ctx context.Context, ref string) (imageEntry, error) {
	c := &p.images
	c.mu.Lock()
	e, ok := c.m[ref]
	c.mu.Unlock()
	if ok && time.Since(e.at) < imageCacheTTL {
		return e, nil
	}
	var id string
	var entrypoint, cmd []string
	err := p.do(ctx, "image_inspect", func(ctx context.Context) error {
		r, err := images.GetImage(ctx, ref, nil)
		if err != nil {
			return err
		}
		if r.ImageData == nil {
			return errors.New("empty inspect report")
		}
		id = r.ID
		if r.Config != nil {
			entrypoint, cmd = r.Config.Entrypoint, r.Config.Cmd
		}
		return nil
	})
	if err != nil {
		if statusCode(err) == 404 {
			return imageEntry{}, fmt.Errorf("inspect image %s: %v: %w", ref, err, runner.ErrImageUnavailable)
		}
		return imageEntry{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	// As Podman does: an entrypoint of [""] means none.
	if len(entrypoint) == 1 && entrypoint[0] == "" {
		entrypoint = nil
	}
	e = imageEntry{id: id, command: append(slices.Clip(entrypoint), cmd...), at: time.Now()}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]imageEntry{}
	}
	c.m[ref] = e
	c.mu.Unlock()
	return e, nil
}

// forgetImage drops ref's entry, after a create from its pinned ID failed (the image may be gone).
func (p *Podman) forgetImage(ref string) {
	p.images.mu.Lock()
	delete(p.images.m, ref)
	p.images.mu.Unlock()
}

// keepAliveSpec checks a keep-alive spec: its PID 1 is the shim, so the
// shim must be configured, and it runs no command of its own.
func (p *Podman) keepAliveSpec(rs runner.Spec) error {
	if p.cfg.ShimPath == "" {
		return fmt.Errorf("create keep-alive container from %s: %w", rs.Image, ErrNoShimPath)
	}
	if len(rs.Command) > 0 || rs.Shim {
		return fmt.Errorf("create keep-alive container from %s: %w: a keep-alive container runs no command", rs.Image, runner.ErrInvalid)
	}
	return nil
}
