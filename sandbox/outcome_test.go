package sandbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/sandbox/podmantest"
)

func TestFindMemoryCgroups(t *testing.T) {
	for _, tt := range []struct {
		name, mountinfo string
		want            memoryCgroups
	}{
		{"v1 hybrid", "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
			"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
			memoryCgroups{root: "/sys/fs/cgroup/memory"}},
		{"v1 memory after the unified mount", "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n" +
			"32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n" +
			"35 31 0:32 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory,nosuid\n",
			memoryCgroups{root: "/sys/fs/cgroup/mem ory"}},
		{"v2", "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
			memoryCgroups{root: "/sys/fs/cgroup", v2: true}},
		{"a bind mount of a subtree is no hierarchy", "50 23 0:32 /libpod_parent /mnt rw - cgroup cgroup rw,memory\n", memoryCgroups{}},
		{"none", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", memoryCgroups{}},
	} {
		if got := findMemoryCgroups([]byte(tt.mountinfo)); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestOOMKillCountsAreRead(t *testing.T) {
	root := t.TempDir()
	write := func(dir, name, text string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v1, v2 := memoryCgroups{root: root}, memoryCgroups{root: root, v2: true}
	write(filepath.Join(root, "libpod_parent", "libpod-a"), "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
	write(filepath.Join(root, "libpod_parent", "libpod-b"), "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
	write(filepath.Join(root, "libpod_parent", "libpod-b"), "memory.failcnt", "12\n") // hit the limit, reclaimed, not killed
	write(filepath.Join(root, "libpod_parent", "libpod-old"), "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n")
	write(filepath.Join(root, "libpod_parent", "libpod-old"), "memory.failcnt", "3\n")
	write(filepath.Join(root, "machine.slice", "libpod-c.scope"), "memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
	for _, tt := range []struct {
		m    memoryCgroups
		id   string
		want bool
	}{
		{v1, "a", true}, {v1, "b", false}, {v1, "old", true}, {v1, "gone", false},
		{v2, "c", true}, {v2, "a", false}, {memoryCgroups{}, "a", false},
	} {
		if got := tt.m.oomKilled(tt.id); got != tt.want {
			t.Errorf("oomKilled(%s) with %+v = %v, want %v", tt.id, tt.m, got, tt.want)
		}
	}
}

func TestMemoryHogIsOOMKilledByTheKernel(t *testing.T) {
	p := newShimPodman(t, nil)
	hog := "x=a; while true; do x=$x$x; done"
	for _, spec := range []runner.Spec{runnertest.Spec(labels, "sh", "-c", hog), shimSpec("sh", "-c", hog)} {
		spec.Limits = runner.Limits{Memory: 32 << 20, CPUs: 1, PIDs: 32}
		var stdin []byte
		if spec.Shim {
			stdin = request(t, nil, nil)
		}
		out := runnertest.Run(t, p, spec, stdin)
		if out.Exit.Code != 137 || !out.Exit.OOMKilled {
			t.Errorf("memory hog (shim %v) exited %+v, want 137 and OOMKilled (stderr %q)", spec.Shim, out.Exit, out.Stderr)
		}
	}
}

// TestKillsFromOutsideAreNotOOMKills kills containers with a memory limit
// the ways an operator would (podman kill, podman rm -f), many times, since
// the old mistake showed only in some tries.
func TestKillsFromOutsideAreNotOOMKills(t *testing.T) {
	p := newShimPodman(t, nil)
	operator := newPodman(t) // another client: the kill comes from outside the attachment
	ctx := context.Background()
	const tries = 6
	var wg sync.WaitGroup
	for i := range 2 * tries {
		spec := runnertest.Spec(labels, "sleep", "600")
		var stdin []byte
		if i%2 == 1 {
			spec, stdin = shimSpec("sleep", "600"), request(t, nil, nil)
		}
		spec.Limits = runner.Limits{Memory: 32 << 20, CPUs: 1, PIDs: 32}
		id := runnertest.Create(t, p, spec)
		streams := runner.Streams{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Shim: spec.Shim}
		if stdin != nil {
			streams.Stdin = bytes.NewReader(stdin)
		}
		a, err := p.Attach(ctx, id, streams)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		remove := i < tries
		wg.Go(func() {
			time.Sleep(300 * time.Millisecond)
			how, err := "podman kill", error(nil)
			if remove {
				how = "podman rm -f"
				err = operator.Remove(ctx, id)
			} else {
				err = operator.Kill(ctx, id)
			}
			if err != nil {
				t.Errorf("%s: %v", how, err)
				return
			}
			exit, err := a.Wait(ctx)
			switch {
			case remove && errors.Is(err, runner.ErrNoContainer):
				// Gone before its exit could be read: nothing claims an OOM kill.
			case err != nil:
				t.Errorf("%s (shim %v): Wait: %v", how, spec.Shim, err)
			case exit.Code != 137 || exit.OOMKilled:
				t.Errorf("%s (shim %v): exit %+v, want 137 without OOMKilled", how, spec.Shim, exit)
			}
		})
	}
	wg.Wait()
}

func TestAServiceRestartBreaksStreamsNotContainers(t *testing.T) {
	svc := podmantest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := testConfig()
	cfg.URI, cfg.ShimPath = svc.URI(), shimPath
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	script := "sleep 10; echo done" // outlasts the outage: each call then fails only after the bindings' retries
	specs := []runner.Spec{runnertest.Spec(labels, "sh", "-c", script), shimSpec("sh", "-c", script)}
	atts := make([]runner.Attachment, len(specs))
	ids := make([]string, len(specs))
	for i, spec := range specs {
		ids[i] = runnertest.Create(t, p, spec)
		streams := runner.Streams{Shim: spec.Shim}
		if spec.Shim {
			streams.Stdin = bytes.NewReader(request(t, nil, nil))
		}
		if atts[i], err = p.Attach(ctx, ids[i], streams); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx, ids[i]); err != nil {
			t.Fatal(err)
		}
	}

	begin := time.Now()
	svc.Stop(syscall.SIGTERM)
	t.Logf("service stopped in %v", time.Since(begin))
	for i, a := range atts {
		_, err := a.Wait(ctx)
		if err == nil || errors.Is(err, runner.ErrNoContainer) {
			t.Fatalf("Wait (shim %v) while the service is down = %v; want an error that is not ErrNoContainer", specs[i].Shim, err)
		}
		if !errors.Is(err, runner.ErrUnavailable) {
			t.Errorf("Wait (shim %v) while the service is down = %v; want ErrUnavailable", specs[i].Shim, err)
		}
	}
	if _, err := p.Inspect(ctx, ids[0]); !errors.Is(err, runner.ErrUnavailable) {
		t.Errorf("Inspect while the service is down = %v, want ErrUnavailable", err)
	}
	if _, err := p.List(ctx, labels); !errors.Is(err, runner.ErrUnavailable) {
		t.Errorf("List while the service is down = %v, want ErrUnavailable", err)
	}
	if _, err := p.Attach(ctx, ids[0], runner.Streams{}); !errors.Is(err, runner.ErrUnavailable) {
		t.Errorf("Attach while the service is down = %v, want ErrUnavailable", err)
	}
	time.Sleep(time.Second)
	begin = time.Now()
	svc.Restart()
	t.Logf("service back in %v", time.Since(begin))

	// Attach to both before waiting for either: a container that ends before its attach has no
	// stream to give its output to.
	outs := make([]bytes.Buffer, len(specs))
	for i, spec := range specs {
		if atts[i], err = p.Attach(ctx, ids[i], runner.Streams{Stdout: &outs[i], Shim: spec.Shim}); err != nil {
			t.Fatalf("attach again (shim %v): %v", spec.Shim, err)
		}
	}
	for i, spec := range specs {
		exit, err := atts[i].Wait(ctx)
		if err != nil || exit.Code != 0 || outs[i].String() != "done\n" {
			t.Errorf("after the restart (shim %v): exit %+v, %v, output %q; want 0 and done", spec.Shim, exit, err, outs[i].String())
		}
	}
}
