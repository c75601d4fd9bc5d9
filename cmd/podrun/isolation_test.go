package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/configs"
)

// gvisorSocket is the gVisor Podman service `make test` starts
// (scripts/setup-gvisor.sh): PODRUN_TEST_GVISOR_SOCKET, else the script's
// socket if it is there. Without one the test skips, but fails in CI.
func gvisorSocket(t *testing.T) string {
	t.Helper()
	if s := os.Getenv("PODRUN_TEST_GVISOR_SOCKET"); s != "" {
		return s
	}
	const sock = "/run/podman/podrun-gvisor.sock"
	if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
		return "unix://" + sock
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no gVisor Podman service: make test starts one (scripts/setup-gvisor.sh) and sets PODRUN_TEST_GVISOR_SOCKET")
	}
	t.Skip("no gVisor Podman service (run scripts/setup-gvisor.sh as root)")
	return ""
}

// hostKernel is the host's kernel release.
func hostKernel(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestIsolationThroughTheAPI: an agent and a function (cold and from its
// warm pool) that ask for gvisor see gVisor's kernel from inside, and show
// isolation gvisor; those that ask for nothing get the configured default,
// runc, and the host's kernel; replacing a function's isolation replaces
// its warm containers.
func TestIsolationThroughTheAPI(t *testing.T) {
	gv := gvisorSocket(t)
	d := startDaemon(t, func(c *configs.Config) { c.Sandbox.GVisorSocket = gv })
	host := hostKernel(t)
	ready, err := d.api.Ready(context.Background())
	if err != nil || !strings.HasPrefix(ready.Runtimes[api.IsolationRunc], "runc") || !strings.HasPrefix(ready.Runtimes[api.IsolationGVisor], "runsc") {
		t.Errorf("/readyz: %+v, %v; want the runtimes of runc and gvisor", ready, err)
	}
	const show = `echo "$(uname -r) $(cat /proc/version)"`

	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", show}, Isolation: api.IsolationGVisor})
	if a.Isolation != api.IsolationGVisor {
		t.Errorf("created agent shows isolation %q", a.Isolation)
	}
	a = d.await(t, a.ID, time.Minute, api.StateSucceeded, api.StateFailed)
	out := d.logs(t, a.ID, api.LogOptions{})
	if a.State != api.StateSucceeded || !strings.HasPrefix(out, "4.4.0 Linux version 4.4.0") || strings.Contains(out, host) {
		t.Errorf("gvisor agent %s (%s): %q; want gVisor's 4.4.0, not the host's %s", a.State, a.Message, out, host)
	}
	if got := d.get(t, a.ID); got.Isolation != api.IsolationGVisor {
		t.Errorf("GET shows isolation %q", got.Isolation)
	}

	b := d.create(t, api.AgentRequest{Command: []string{"uname", "-r"}})
	b = d.await(t, b.ID, time.Minute, api.StateSucceeded, api.StateFailed)
	if out := strings.TrimSpace(d.logs(t, b.ID, api.LogOptions{})); b.Isolation != api.IsolationRunc || out != host {
		t.Errorf("default agent: isolation %q, kernel %q; want runc, %s", b.Isolation, out, host)
	}

	// An exec in a gVisor agent, whole or streamed, runs under the agent's
	// seccomp profile (runsc alone would run it unfiltered).
	sleeper := d.create(t, api.AgentRequest{Command: []string{"sleep", "60"}, Isolation: api.IsolationGVisor})
	d.await(t, sleeper.ID, time.Minute, api.StateRunning)
	script := `uname -r; grep Seccomp: /proc/self/status | tr -d '\t '; unshare -U true 2>/dev/null && echo unshare=ok; echo e >&2; exit 5`
	res, err := d.api.Exec(context.Background(), sleeper.ID, api.ExecRequest{Command: []string{"sh", "-c", script}})
	if err != nil || res.Stdout != "4.4.0\nSeccomp:2\n" || res.Stderr != "e\n" || res.ExitCode != 5 {
		t.Errorf("exec in a gvisor agent: %+v, %v; want gVisor's kernel, Seccomp:2, no unshare, e, exit 5", res, err)
	}
	var sout, serr strings.Builder
	code, err := d.api.ExecStreamHTTP(context.Background(), sleeper.ID, api.ExecRequest{Command: []string{"sh", "-c", script}}, &sout, &serr)
	if err != nil || sout.String() != "4.4.0\nSeccomp:2\n" || serr.String() != "e\n" || code != 5 {
		t.Errorf("streamed exec in a gvisor agent: %q %q, exit %d, %v; want gVisor's kernel, Seccomp:2, no unshare, e, exit 5", sout.String(), serr.String(), code, err)
	}

	d.putFunction(t, "gv", api.FunctionRequest{Command: []string{"sh", "-c", "uname -r"}, Warm: ptr(1), Isolation: api.IsolationGVisor})
	f, err := d.api.Function(context.Background(), "gv")
	if err != nil || f.Isolation != api.IsolationGVisor {
		t.Fatalf("GET function: %+v, %v", f, err)
	}
	warm := awaitWarm(t, d, "gv", "")
	ans := d.invoke(t, "gv", nil, nil)
	if string(ans.out) != "4.4.0\n" || ans.header.Get(api.HeaderStart) != api.StartWarm {
		t.Errorf("warm gvisor invocation (%s): %q, start %s", warm, ans.out, ans.header.Get(api.HeaderStart))
	}
	// Another isolation is another container: the pool is drained and refilled under runc.
	d.putFunction(t, "gv", api.FunctionRequest{Command: []string{"sh", "-c", "uname -r"}, Warm: ptr(1), Isolation: api.IsolationRunc})
	awaitWarm(t, d, "gv", warm)
	ans = d.invoke(t, "gv", nil, nil)
	if strings.TrimSpace(string(ans.out)) != host {
		t.Errorf("after the switch to runc, the function saw kernel %q, want the host's %s", ans.out, host)
	}
}

// TestIsolationRefusedWhereUnavailable: without a gVisor service, an agent
// or function asking for gvisor is refused with 400 naming isolation, before
// anything runs; an unknown isolation likewise.
func TestIsolationRefusedWhereUnavailable(t *testing.T) {
	d := startDaemon(t, nil)
	ctx := context.Background()
	for _, iso := range []string{api.IsolationGVisor, "kata"} {
		_, err := d.api.CreateAgent(ctx, api.AgentRequest{Image: testImage, Command: []string{"true"}, Isolation: iso})
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Field != "isolation" {
			t.Errorf("agent with isolation %q: %v, want 400 naming isolation", iso, err)
		}
		_, _, err = d.api.PutFunction(ctx, "f", api.FunctionRequest{Image: testImage, Isolation: iso})
		if !errors.As(err, &e) || e.Status != 400 || e.Field != "isolation" {
			t.Errorf("function with isolation %q: %v, want 400 naming isolation", iso, err)
		}
	}
	if got := d.runnerAgents(t); len(got) != 0 {
		t.Errorf("refused requests made %d agents", len(got))
	}
	if ready, err := d.api.Ready(ctx); err != nil || len(ready.Runtimes) != 1 || ready.Runtimes[api.IsolationRunc] == "" {
		t.Errorf("/readyz without gVisor: %+v, %v; want runc's runtime only", ready, err)
	}
}

// TestCLIIsolationAndEgressFlags: podrun run passes --isolation and
// --egress on, and the server's refusals name the field.
func TestCLIIsolationAndEgressFlags(t *testing.T) {
	d := startDaemon(t, nil)
	if r := d.podrun(t, "", "run", "--isolation", "gvisor", testImage, "true").want(t, 125, "run --isolation gvisor"); !strings.Contains(r.stderr, "isolation") || !strings.Contains(r.stderr, "400 invalid") {
		t.Errorf("--isolation gvisor without gVisor: %s", r)
	}
	if r := d.podrun(t, "", "run", "--egress", "a b", testImage, "true").want(t, 125, "run --egress 'a b'"); !strings.Contains(r.stderr, "egress.allow[0]") {
		t.Errorf("--egress with a bad rule: %s", r)
	}
	r := d.podrun(t, "", "--json", "run", "-d", "--isolation", "runc", "--egress", "Example.COM:443", testImage, "true").want(t, 0, "run -d --egress")
	var a api.Agent
	jsonFrom(t, r.stdout, &a)
	if a.Isolation != api.IsolationRunc || a.Egress == nil || len(a.Egress.Allow) != 1 || a.Egress.Allow[0] != "example.com:443" {
		t.Errorf("run -d --egress: agent %+v", a)
	}
}

// TestGVisorFileTransferOverHTTP: the files API moves files in and out of a
// gVisor agent (the shim, under the agent's seccomp profile), as it does
// for a runc agent.
func TestGVisorFileTransferOverHTTP(t *testing.T) {
	gv := gvisorSocket(t)
	d := startDaemon(t, func(c *configs.Config) { c.Sandbox.GVisorSocket = gv })
	a := d.create(t, api.AgentRequest{KeepAlive: true, TTL: "5m", Isolation: api.IsolationGVisor})
	a = d.await(t, a.ID, time.Minute, api.StateRunning)
	fileRoundTrip(t, d, a)
}
