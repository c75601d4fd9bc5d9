package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/podrun/podrun/runner"
)

// Pruning ages: an installed file (seccomp profile, hosts file, shim) of
// another build is removed once it is older than stalePrune and no container
// names it; a half-written one left by a crash, once older than tmpPrune.
// Files are named by content (see install), so each build of podrun, and
// each test run, leaves its own shim copy behind; New touches its own files,
// so the files of a daemon that started within stalePrune are kept even
// before it made a container.
const (
	stalePrune = 7 * 24 * time.Hour
	tmpPrune   = time.Hour
)

// installed matches the names install gives: prefix-16 hex digits.
var installed = regexp.MustCompile(`^(seccomp|seccomp-filter|hosts|podrun-shim)-[0-9a-f]{16}$`)

// pruneStateDir removes from the state dir what podrun no longer needs: the
// installed files of other builds that are old and that no container of any
// podrun (label runner.LabelInstance) mounts or loads, and stale temporary
// files. It returns the names it removed. Containers are inspected only when
// there is something to prune.
func (p *Podman) pruneStateDir(ctx context.Context, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(p.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("prune state dir: %w", err)
	}
	current := map[string]bool{p.cfg.SeccompProfile: true, p.cfg.hostsPath: true, p.cfg.ShimPath: true, p.cfg.filterPath: true}
	var stale []string
	var removed []string
	for _, e := range entries {
		path := filepath.Join(p.cfg.StateDir, e.Name())
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || current[path] {
			continue
		}
		age := now.Sub(info.ModTime())
		switch {
		case strings.HasPrefix(e.Name(), ".tmp-") && age > tmpPrune:
			if os.Remove(path) == nil {
				removed = append(removed, e.Name())
			}
		case installed.MatchString(e.Name()) && age > stalePrune:
			stale = append(stale, path)
		}
	}
	if len(stale) == 0 {
		return removed, nil
	}
	used, err := p.referenced(ctx, stale)
	if err != nil {
		return removed, err
	}
	for _, path := range stale {
		if !used[path] && os.Remove(path) == nil {
			removed = append(removed, filepath.Base(path))
		}
	}
	return removed, nil
}

// referenced says which of paths a podrun container of any instance names
// in its configuration (a mount's source, its seccomp profile).
func (p *Podman) referenced(ctx context.Context, paths []string) (map[string]bool, error) {
	opts := new(containers.ListOptions).WithAll(true).WithFilters(map[string][]string{"label": {runner.LabelInstance}})
	var list []types.ListContainer
	err := p.do(ctx, "list", func(ctx context.Context) (err error) {
		list, err = containers.List(ctx, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("prune state dir: list containers: %w", unavailable(err))
	}
	used := map[string]bool{}
	for _, c := range list {
		data, err := p.inspect(ctx, c.ID)
		if err != nil {
			continue // gone meanwhile
		}
		b, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		for _, path := range paths {
			if strings.Contains(string(b), path) {
				used[path] = true
			}
		}
	}
	return used, nil
}
