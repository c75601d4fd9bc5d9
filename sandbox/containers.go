package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/containers/podman/v5/libpod/define"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/domain/entities/reports"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/podrun/podrun/runner"
)

// Inspect reports a container's state.
func (p *Podman) Inspect(ctx context.Context, id string) (runner.Container, error) {
	data, err := p.inspect(ctx, id)
	if err != nil {
		return runner.Container{}, err
	}
	c := runner.Container{ID: data.ID, Name: data.Name, CreatedAt: data.Created}
	if data.Config != nil {
		c.Labels = data.Config.Labels
	}
	if st := data.State; st != nil {
		c.State, c.Running, c.ExitCode = state(st.Status), st.Running, int(st.ExitCode)
		c.OOMKilled = finished(st) && p.exitOf(data).OOMKilled
		c.StartedAt, c.FinishedAt = st.StartedAt, st.FinishedAt
	}
	return c, nil
}

func (p *Podman) inspect(ctx context.Context, id string) (*define.InspectContainerData, error) {
	var data *define.InspectContainerData
	err := p.do(ctx, "inspect", func(ctx context.Context) (err error) {
		data, err = containers.Inspect(ctx, id, nil)
		return err
	})
	if err != nil {
		return nil, wrapErr("inspect", id, err)
	}
	return data, nil
}

// Kill sends SIGKILL; a container that is not running is already where Kill wants it.
func (p *Podman) Kill(ctx context.Context, id string) error {
	err := p.do(ctx, "kill", func(ctx context.Context) error {
		return containers.Kill(ctx, id, new(containers.KillOptions).WithSignal("SIGKILL"))
	})
	if notRunning(err) {
		return nil // it exited on its own
	}
	if err != nil {
		return wrapErr("kill", id, err)
	}
	return nil
}

// Stop sends SIGTERM, then SIGKILL after timeout (rounded up to whole seconds), and returns once stopped.
func (p *Podman) Stop(ctx context.Context, id string, timeout time.Duration) error {
	secs := uint(math.Ceil(max(timeout, 0).Seconds()))
	start := time.Now()
	err := containers.Stop(p.call(ctx), id, new(containers.StopOptions).WithTimeout(secs))
	p.observe("stop", start)
	if notRunning(err) {
		if paused, perr := p.stopPaused(ctx, id, secs); paused {
			return perr
		}
	}
	if err != nil {
		return wrapErr("stop", id, err)
	}
	return nil
}

// Remove kills and removes a container with its anonymous volumes; ErrNoContainer if it is gone.
func (p *Podman) Remove(ctx context.Context, id string) error {
	p.fresh.Delete(id)
	p.noExecShim.Delete(id)
	p.execShimOK.Delete(id)
	p.execFilters.Delete(id)
	delay := 50 * time.Millisecond
	for retry := false; ; retry = true {
		err := p.remove(ctx, id)
		if retry && errors.Is(err, runner.ErrNoContainer) {
			return nil // the failed attempt removed it after all, or Podman's cleanup did
		}
		if err == nil || !transientRemoveError(err) || delay > 2*time.Second {
			return err
		}
		if sleep(ctx, delay) != nil {
			return err
		}
		delay *= 2
	}
}

// transientRemoveError reports a removal that fails only for now: containers
// inited in parallel can briefly hold copies of each other's /dev/shm mount
// (EBUSY), and a container that exits on its own while the force-remove kills
// it makes the kill fail ("container state improper"). The container stays
// listed either way.
func transientRemoveError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "device or resource busy") || strings.Contains(msg, "container state improper")
}

func (p *Podman) remove(ctx context.Context, id string) error {
	// Timeout 0: kill at once rather than SIGTERM and the default 10 s grace.
	opts := new(containers.RemoveOptions).WithForce(true).WithVolumes(true).WithTimeout(0)
	var rms []*reports.RmReport
	err := p.do(ctx, "remove", func(ctx context.Context) (err error) {
		rms, err = containers.Remove(ctx, id, opts)
		return err
	})
	if err != nil {
		return wrapErr("remove", id, err)
	}
	for _, r := range rms {
		if r.Err != nil {
			return wrapErr("remove", id, r.Err)
		}
	}
	return nil
}

// state maps Podman's states to the words the CLI shows: "configured" (not
// yet initialized) is created, and "stopped" (exited, not yet cleaned up) is exited.
func state(s string) string {
	switch s {
	case "configured":
		return "created"
	case "stopped":
		return "exited"
	}
	return s
}

// List returns every container, running or not, carrying all the given labels.
func (p *Podman) List(ctx context.Context, labels map[string]string) ([]runner.Container, error) {
	filter := make([]string, 0, len(labels))
	for k, v := range labels {
		filter = append(filter, k+"="+v) // the label filter matches key=value (several are ANDed)
	}
	sort.Strings(filter)
	opts := new(containers.ListOptions).WithAll(true)
	if len(filter) > 0 {
		opts = opts.WithFilters(map[string][]string{"label": filter})
	}
	var list []types.ListContainer
	err := p.do(ctx, "list", func(ctx context.Context) (err error) {
		list, err = containers.List(ctx, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", unavailable(err))
	}
	out := make([]runner.Container, 0, len(list))
	for _, l := range list {
		c := runner.Container{
			ID:        l.ID,
			Labels:    l.Labels,
			State:     state(l.State),
			Running:   l.State == "running", // a paused one is State paused, not running
			ExitCode:  int(l.ExitCode),
			CreatedAt: l.Created,
		}
		if len(l.Names) > 0 {
			c.Name = l.Names[0]
		}
		if l.StartedAt > 0 {
			c.StartedAt = time.Unix(l.StartedAt, 0)
		}
		if l.ExitedAt > 0 && l.Exited {
			c.FinishedAt = time.Unix(l.ExitedAt, 0)
		}
		out = append(out, c)
	}
	return out, nil
}
