package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/sandbox/seccomp"
)

// TestPruneStateDir: New removes old installed files of other builds that no
// container names, and stale temporary files; it keeps its own files, a
// recent file of another build (a daemon that may still use it), an old one
// a container still loads, and anything it did not install.
func TestPruneStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-stalePrune - time.Hour)
	write := func(name string, data []byte, mtime time.Time) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("podrun-shim-0123456789abcdef", []byte("an old shim"), old)
	write(".tmp-seccomp-123", []byte("half"), time.Now().Add(-2*tmpPrune))
	write("hosts-1111111111111111", []byte("recent"), time.Now())
	write("notes", []byte("not podrun's"), old)
	inUse := write("seccomp-fedcba9876543210", seccomp.JSON(), time.Now())
	// A container that loads the old profile: made by a Podman configured with it.
	user := podmanWith(t, func(c *Config) { c.StateDir, c.SeccompProfile = dir, inUse })
	id, err := user.Create(context.Background(), runnertest.Spec(labels, "true"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = user.Remove(context.Background(), id) })
	if err := os.Chtimes(inUse, old, old); err != nil {
		t.Fatal(err)
	}

	p := podmanWith(t, func(c *Config) { c.StateDir = dir })
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	for _, want := range []string{"hosts-1111111111111111", "notes", "seccomp-fedcba9876543210", filepath.Base(p.cfg.SeccompProfile), filepath.Base(p.cfg.hostsPath)} {
		if !slices.Contains(names, want) {
			t.Errorf("%s was pruned; left: %v", want, names)
		}
	}
	for _, gone := range []string{"podrun-shim-0123456789abcdef", ".tmp-seccomp-123"} {
		if slices.Contains(names, gone) {
			t.Errorf("%s was kept; left: %v", gone, names)
		}
	}
}
