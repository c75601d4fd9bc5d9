package sandbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/sandbox/podmantest"
)

// gvisorService returns the URI of a Podman service whose default runtime
// is runsc behind the wrapper scripts/setup-gvisor.sh writes: the one `make
// test` started (PODRUN_TEST_GVISOR_SOCKET), else one of the test's own. It
// skips where runsc is not installed, but fails in CI (CI=true), where `make
// test` installs it. The wrapper must outlive the containers: t.TempDir's
// removal runs after the cleanups registered later.
func gvisorService(tb testing.TB) string {
	tb.Helper()
	if s := os.Getenv("PODRUN_TEST_GVISOR_SOCKET"); s != "" {
		return s
	}
	runsc, err := exec.LookPath("runsc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("runsc is not installed and PODRUN_TEST_GVISOR_SOCKET is not set (make test runs scripts/setup-gvisor.sh): %v", err)
		}
		tb.Skipf("runsc is not installed (scripts/setup-gvisor.sh installs it): %v", err)
	}
	dir := tb.TempDir()
	wrapper := filepath.Join(dir, "runsc-podrun")
	script := "#!/bin/sh\nexec " + runsc + " --network=none --oci-seccomp --host-uds=open \"$@\"\n"
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("[engine]\nruntime = \""+wrapper+"\"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return podmantest.Start(tb, podmantest.Env("CONTAINERS_CONF="+conf)).URI()
}

func gvisorSpec(command ...string) runner.Spec {
	s := runnertest.Spec(labels, command...)
	s.Isolation = runner.IsolationGVisor
	return s
}

// TestGVisorKernel: an agent, an exec in it and a function (under the shim)
// asking for gVisor see gVisor's kernel, not the host's, with the same
// hardening, while the ordinary service starts, execs in and removes them.
func TestGVisorKernel(t *testing.T) {
	p := podmanWith(t, func(c *Config) { c.GVisorURI = gvisorService(t) })
	ctx := context.Background()
	host, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Fatal(err)
	}
	hostVersion, err := os.ReadFile("/proc/version")
	if err != nil {
		t.Fatal(err)
	}
	// dmesg is no proof: the profile denies syslog inside gVisor too.
	// gVisor's Sentry answers uname and /proc/version with a fixed 4.4.0.
	spec := gvisorSpec("sh", "-c", probeScript+`echo kernel=$(uname -r); echo "version=$(cat /proc/version)"; echo dmesg=$(dmesg 2>&1)`)
	spec.Limits = hardLimits
	out := runnertest.Run(t, p, spec, nil)
	got := parseProbe(out.Stdout)
	if got["kernel"] != "4.4.0" || got["kernel"] == strings.TrimSpace(string(host)) || got["version"] == strings.TrimSpace(string(hostVersion)) {
		t.Fatalf("agent sees kernel %q, %q (host %s); want gVisor's\n%s%s", got["kernel"], got["version"], host, out.Stdout, out.Stderr)
	}
	for _, k := range []string{"CapEff:", "CapPrm:", "CapBnd:"} {
		if got[k] != "0000000000000000" {
			t.Errorf("under gVisor %s = %q, want no capabilities", k, got[k])
		}
	}
	if got["rootfs"] != "readonly" || got["tmp"] != "writable" || got["net"] != "lo" || !strings.Contains(got["dmesg"], "not permitted") {
		t.Errorf("under gVisor: rootfs %s, /tmp %s, net %q, dmesg %q", got["rootfs"], got["tmp"], got["net"], got["dmesg"])
	}
	id := runnertest.StartDetached(t, p, gvisorSpec("sleep", "120"))
	// gVisor shows its own user namespace inside; the sandbox's host processes
	// must run in a user namespace of the container's own (userns=auto).
	data, err := p.inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := os.ReadFile("/proc/" + strconv.Itoa(data.State.Pid) + "/uid_map"); err != nil || strings.HasPrefix(strings.TrimSpace(string(m)), "0 ") && strings.Fields(string(m))[1] == "0" {
		t.Errorf("gVisor sandbox process %d on the host: uid_map %q (%v), want an unprivileged range", data.State.Pid, m, err)
	}
	res, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"uname", "-r"}, Timeout: time.Minute})
	if err != nil || strings.TrimSpace(res.Stdout) != got["kernel"] {
		t.Errorf("exec under gVisor: %+v, %v", res, err)
	}
	fn := gvisorSpec("sh", "-c", "uname -r; cat")
	fn.Shim = true
	fout := runnertest.Run(t, p, fn, request(t, nil, []byte("body")))
	if fout.Stdout != got["kernel"]+"\nbody" {
		t.Errorf("function under gVisor wrote %q, %q", fout.Stdout, fout.Stderr)
	}
	t.Logf("kernel under gVisor %s, host %s", got["kernel"], strings.TrimSpace(string(host)))
}

// TestGVisorSyscalls runs the system-call probes under gVisor with podrun's
// profile (runsc --oci-seccomp applies it inside the sandbox): what podrun
// denies under runc is refused there too.
func TestGVisorSyscalls(t *testing.T) {
	gv := gvisorService(t) // before the image build: it may skip
	image, _ := buildAbuseImage(t)
	p := podmanWith(t, func(c *Config) { c.GVisorURI = gv })
	spec := gvisorSpec("/abuse", "sys")
	spec.Image, spec.Limits = image, hardLimits
	out := runnertest.Run(t, p, spec, nil)
	got := parseProbe(out.Stdout)
	for _, pr := range syscallProbes {
		// gVisor's own kernel lets root make a device node in its own tmpfs:
		// it opens gVisor's emulated devices, never the host's.
		if pr.podrun != "ok" && got[pr.name] == "ok" && pr.name != "mknod_tmp" {
			t.Errorf("%s: allowed under gVisor, %s under runc", pr.name, pr.podrun)
		}
	}
	if len(got) != len(syscallProbes) {
		t.Errorf("%d probes answered under gVisor, want %d:\n%s%s", len(got), len(syscallProbes), out.Stdout, out.Stderr)
	}
}

// TestIsolationRefused: gVisor without a gVisor service, and unknown isolations, are ErrInvalid.
func TestIsolationRefused(t *testing.T) {
	p := podmanWith(t, nil)
	for _, iso := range []string{runner.IsolationGVisor, "kata"} {
		s := runnertest.Spec(labels, "true")
		s.Isolation = iso
		if _, err := p.Create(context.Background(), s); !errors.Is(err, runner.ErrInvalid) {
			t.Errorf("isolation %q: Create = %v, want ErrInvalid", iso, err)
		}
	}
	cfg := testConfig()
	cfg.GVisorURI = uri
	if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "not runsc") {
		t.Errorf("a gVisor URI naming a runc service: New = %v, want refused", err)
	}
}

// BenchmarkIsolation compares runc and gVisor: a cold cycle (create, attach,
// start, wait, remove) and a warm round trip (attach to a started cat, write,
// read to the end). go test -run '^$' -bench Isolation ./sandbox
func BenchmarkIsolation(b *testing.B) {
	gv := gvisorService(b)
	for _, iso := range []string{"runc", runner.IsolationGVisor} {
		p := podmanWith(b, func(c *Config) { c.GVisorURI = gv })
		spec := func(cmd ...string) runner.Spec {
			s := runnertest.Spec(labels, cmd...)
			if iso != "runc" {
				s.Isolation = iso
			}
			return s
		}
		b.Run(iso+"/cold", func(b *testing.B) {
			ctx := context.Background()
			start := time.Now()
			for range b.N {
				id, err := p.Create(ctx, spec("echo", "hi"))
				if err != nil {
					b.Fatal(err)
				}
				var out bytes.Buffer
				a, err := p.Attach(ctx, id, runner.Streams{Stdin: strings.NewReader(""), Stdout: &out})
				if err == nil {
					err = p.Start(ctx, id)
				}
				if err == nil {
					_, err = a.Wait(ctx)
				}
				if err != nil || out.String() != "hi\n" {
					b.Fatalf("cycle: %v, %q", err, out.String())
				}
				if err := p.Remove(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b, time.Since(start))
		})
		b.Run(iso+"/warm", func(b *testing.B) {
			ctx := context.Background()
			var total time.Duration
			for range b.N {
				b.StopTimer()
				id, err := p.Create(ctx, spec("cat"))
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Start(ctx, id); err != nil {
					b.Fatal(err)
				}
				var out bytes.Buffer
				b.StartTimer()
				begin := time.Now()
				a, err := p.Attach(ctx, id, runner.Streams{Stdin: strings.NewReader("ping\n"), Stdout: &out})
				if err == nil {
					_, err = a.Wait(ctx)
				}
				total += time.Since(begin)
				b.StopTimer()
				if err != nil || out.String() != "ping\n" {
					b.Fatalf("round trip: %v, %q", err, out.String())
				}
				if err := p.Remove(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b, total)
		})
	}
}
