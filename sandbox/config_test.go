package sandbox

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/sandbox/podmantest"
)

// TestConfigHasNoDefaultsOfItsOwn: a zero field is refused, naming its key,
// never replaced by a value of the sandbox's choosing; podrun's defaults
// reach the sandbox only through ConfigFrom.
func TestConfigHasNoDefaultsOfItsOwn(t *testing.T) {
	_, err := Config{}.check()
	if err == nil {
		t.Fatal("a zero Config is accepted")
	}
	for _, key := range []string{"podman_socket", "sandbox.network", "sandbox.tmpfs_size", "sandbox.shm_size", "sandbox.state_dir", "sandbox.nofile", "sandbox.nproc",
		"sandbox.userns_size", "sandbox.log_max_size", "sandbox.pull_timeout", "sandbox.max_concurrent_calls"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("the zero Config's error does not name %s: %v", key, err)
		}
	}
	def := configs.Default()
	c, err := ConfigFrom(def).check()
	if err != nil {
		t.Fatalf("podrun's defaults are refused: %v", err)
	}
	s := def.Sandbox
	if c.NoFile != uint64(s.NoFile) || c.NProc != uint64(s.NProc) || c.TmpfsSize != int64(s.TmpfsSize) || c.Network != s.Network ||
		c.UserNSSize != uint32(s.UserNSSize) || c.LogMaxSize != int64(s.LogMaxSize) || c.PullTimeout != s.PullTimeout.Duration ||
		c.MaxConcurrentCalls != s.MaxConcurrentCalls || c.URI != def.PodmanSocket ||
		c.ShmSize != int64(s.ShmSize) || c.StateDir != s.StateDir || c.SeccompProfile != s.SeccompProfile {
		t.Errorf("ConfigFrom(configs.Default()) = %+v, not configs' defaults %+v", c, s)
	}
	for _, network := range []string{"host", "private"} {
		bad := ConfigFrom(def)
		bad.Network = network
		var p *configs.Problem
		if _, err := bad.check(); !errors.As(err, &p) || p.Key != "sandbox.network" {
			t.Errorf("network %q: %v, want a problem with sandbox.network, as configs validation gives", network, err)
		}
	}
}

func TestCheckRlimitsNamesTheKey(t *testing.T) {
	svc := serviceRlimits{pid: 42, noFile: 20000, nProc: 32768}
	c := ConfigFrom(configs.Default())
	c.NoFile, c.NProc = 20000, 32768
	if err := c.checkRlimits(svc); err != nil {
		t.Errorf("limits equal to the service's are refused: %v", err)
	}
	c.NoFile, c.NProc = 20001, 32769
	err := c.checkRlimits(svc)
	for _, want := range []string{"sandbox.nofile (20001) is above the hard limit of open files (20000) of the Podman service (pid 42)",
		"sandbox.nproc (32769) is above the hard limit of processes (32768)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkRlimits = %v, want it to say %q", err, want)
		}
	}
}

// TestRlimitsAboveTheServiceLimitAreRefusedAtNew runs a service of the
// test's own with hard limits of 4096 open files and 2048 processes. What
// runc refuses there (a container's limit one above) New refuses, naming the
// key; the limit itself is accepted and reaches the container.
func TestRlimitsAboveTheServiceLimitAreRefusedAtNew(t *testing.T) {
	const nofile, nproc = 4096, 2048
	svc := podmantest.Start(t, podmantest.HardLimits(nofile, nproc))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// runc itself refuses one more than the service's hard limit: the check is not stricter than Podman.
	out, err := exec.CommandContext(ctx, "podman", "--url", svc.URI(), "run", "--rm", "--userns", "auto:size=65536",
		"--ulimit", "nofile=4097:4097", "--ulimit", "nproc=1024:1024", "--label", "podrun.instance="+labels["podrun.instance"],
		runnertest.Image, "true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "rlimit") {
		t.Fatalf("podman run with nofile above the service's hard limit: %v %s; want runc's rlimit error", err, out)
	}
	for _, tc := range []struct {
		nofile, nproc uint64
		key           string
	}{{nofile + 1, 1024, "sandbox.nofile"}, {1024, nproc + 1, "sandbox.nproc"}} {
		cfg := testConfig()
		cfg.URI, cfg.NoFile, cfg.NProc = svc.URI(), tc.nofile, tc.nproc
		_, err := New(ctx, cfg)
		var p *configs.Problem
		if !errors.As(err, &p) || p.Key != tc.key || !strings.Contains(err.Error(), "pid ") {
			t.Errorf("New with nofile %d, nproc %d = %v; want a problem with %s naming the service's pid", tc.nofile, tc.nproc, err, tc.key)
		}
	}
	cfg := testConfig()
	cfg.URI, cfg.NoFile, cfg.NProc = svc.URI(), nofile, nproc
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New with the service's own hard limits: %v", err)
	}
	defer p.Close()
	res := runnertest.Run(t, p, runnertest.Spec(labels, "sh", "-c", "ulimit -Hn; ulimit -Hu"), nil)
	if res.Exit.Code != 0 || res.Stdout != "4096\n2048\n" {
		t.Errorf("inside the container: exit %d, hard limits %q; want 4096 and 2048 (%s)", res.Exit.Code, res.Stdout, res.Stderr)
	}
}
