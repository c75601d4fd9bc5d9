package sandbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/sandbox/seccomp"
)

// filterScript prints whether a seccomp filter is in force and whether a
// nested user namespace can be made, and ends with output on both streams
// and an exit status of its own.
const filterScript = `grep Seccomp: /proc/self/status | tr -d '\t '; unshare -U true 2>/dev/null && echo unshare=ok; echo to-stderr >&2; exit 3`

// TestGVisorExecIsFiltered: an exec in a gVisor agent, whole or streamed,
// runs under the agent's seccomp profile, as the agent does: /proc shows
// the filter and a nested user namespace is refused, where runsc alone ran
// execs unfiltered (Seccomp:0, unshare=ok). Its output and exit status come
// back as the command left them.
func TestGVisorExecIsFiltered(t *testing.T) {
	p := podmanWith(t, func(c *Config) { c.GVisorURI = gvisorService(t) })
	ctx := context.Background()
	id := runnertest.StartDetached(t, p, gvisorSpec("sleep", "120"))
	agent := runnertest.Run(t, p, gvisorSpec("sh", "-c", filterScript), nil)
	if agent.Stdout != "Seccomp:2\n" {
		t.Fatalf("the gVisor agent itself printed %q; want Seccomp:2 and no unshare", agent.Stdout)
	}
	res, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sh", "-c", filterScript}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "Seccomp:2\n" || res.Stderr != "to-stderr\n" || res.ExitCode != 3 {
		t.Errorf("exec: stdout %q, stderr %q, exit %d; want Seccomp:2 without unshare=ok, to-stderr, 3", res.Stdout, res.Stderr, res.ExitCode)
	}
	var out, errOut bytes.Buffer
	code, err := p.ExecStream(ctx, id, runner.ExecStreamSpec{Command: []string{"sh", "-c", filterScript}, Timeout: time.Minute,
		ExecIO: runner.ExecIO{Stdout: &out, Stderr: &errOut}})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "Seccomp:2\n" || errOut.String() != "to-stderr\n" || code != 3 {
		t.Errorf("streamed exec: stdout %q, stderr %q, exit %d; want Seccomp:2 without unshare=ok, to-stderr, 3", out.String(), errOut.String(), code)
	}
	nested, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sh", "-c", nestedNamespaceScript}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range parseProbe(nested.Stdout) {
		if v == "ok" || (k == "unshare_r_caps" && v != "") {
			t.Errorf("exec: %s = %q; want it refused", k, v)
		}
	}
}

// gvisorAnswers are the probes gVisor's kernel answers itself, in the exec
// as in the agent, whatever the filter lets through.
var gvisorAnswers = map[string]string{
	"mknod_tmp":      "a device node in gVisor's own tmpfs (see TestGVisorSyscalls)",
	"pidfd_getfd":    "gVisor (2022) has no pidfd_getfd: ENOSYS",
	"personality_32": "gVisor runs Linux personality only: EINVAL",
}

// TestGVisorExecSyscalls runs the system-call probes in an exec of a gVisor
// agent: every answer is the one podrun's profile gives under runc (each
// errno the profile names) or, where gvisorAnswers says, the agent's, so what the profile denies is denied in the
// exec too; the agent's own process refuses the same calls, though runsc
// (2022) answers EPERM to each whatever errno the profile names.
func TestGVisorExecSyscalls(t *testing.T) {
	gv := gvisorService(t) // before the image build: it may skip
	image, _ := buildAbuseImage(t)
	p := podmanWith(t, func(c *Config) { c.GVisorURI = gv })
	spec := gvisorSpec("/abuse", "sys")
	spec.Image, spec.Limits = image, hardLimits
	out := runnertest.Run(t, p, spec, nil)
	want := parseProbe(out.Stdout)
	agent := gvisorSpec("sleep", "120")
	agent.Image, agent.Limits = image, hardLimits
	id := runnertest.StartDetached(t, p, agent)
	res, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: []string{"/abuse", "sys"}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("/abuse sys in an exec exited %d: %s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	got := parseProbe(res.Stdout)
	denied := 0
	for _, pr := range syscallProbes {
		switch {
		case gvisorAnswers[pr.name] != "":
			if got[pr.name] != want[pr.name] {
				t.Errorf("%s/%s: %q in an exec, %q in the agent", pr.group, pr.name, got[pr.name], want[pr.name])
			}
		case got[pr.name] != pr.podrun:
			t.Errorf("%s/%s: %q in a gVisor exec; want %s, as under runc", pr.group, pr.name, got[pr.name], pr.podrun)
		}
		if (got[pr.name] == "ok") != (want[pr.name] == "ok") {
			t.Errorf("%s/%s: %q in an exec, %q in the agent: one allows what the other refuses", pr.group, pr.name, got[pr.name], want[pr.name])
		}
		if got[pr.name] != "ok" {
			denied++
		}
	}
	if len(got) != len(syscallProbes) {
		t.Errorf("%d probes answered in the exec, want %d:\n%s%s", len(got), len(syscallProbes), res.Stdout, res.Stderr)
	}
	t.Logf("%d system-call probes in a gVisor exec, %d refused", len(got), denied)
}

// TestGVisorExecPrograms: ordinary programs run in a filtered gVisor exec,
// with their stdin, output and exit status: a shell, busybox applets, a
// static Go program (the abuse probe's own binary, answering "ok" to plain
// calls), and a missing command (127).
func TestGVisorExecPrograms(t *testing.T) {
	gv := gvisorService(t)
	image, _ := buildAbuseImage(t)
	p := podmanWith(t, func(c *Config) { c.GVisorURI = gv })
	agent := gvisorSpec("sleep", "120")
	agent.Image = image
	id := runnertest.StartDetached(t, p, agent)
	cases := []struct {
		cmd            []string
		stdin          string
		stdout, stderr string
		code           int
	}{
		{[]string{"echo", "hello"}, "", "hello\n", "", 0},
		{[]string{"sh", "-c", "cat; echo err >&2; exit 42"}, "in\n", "in\n", "err\n", 42},
		{[]string{"sh", "-c", "seq 1 1000 | sort -rn | head -n 2 | tr '\\n' ,; echo"}, "", "1000,999,\n", "", 0},
		{[]string{"sh", "-c", "mkdir -p /tmp/d && echo x > /tmp/d/f && tar -C /tmp -cf - d | tar -tf - | sort | tr '\\n' ' '"}, "", "d/ d/f ", "", 0},
		{[]string{"sh", "-c", "wc -c < /proc/self/status >/dev/null && awk 'BEGIN{print 6*7}'"}, "", "42\n", "", 0},
		{[]string{"sh", "-c", "sleep 0.1 & wait; id -u"}, "", "0\n", "", 0},
		{[]string{"sh", "-c", "/abuse sys | grep -E '^(clone_plain|socket_inet|unshare_files)=' | sort"}, "", "clone_plain=ok\nsocket_inet=ok\nunshare_files=ok\n", "", 0},
	}
	for _, c := range cases {
		res, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: c.cmd, Stdin: []byte(c.stdin), Timeout: time.Minute})
		if err != nil {
			t.Fatalf("%q: %v", c.cmd, err)
		}
		if res.Stdout != c.stdout || res.Stderr != c.stderr || res.ExitCode != c.code {
			t.Errorf("%q: stdout %q, stderr %q, exit %d; want %q, %q, %d", c.cmd, res.Stdout, res.Stderr, res.ExitCode, c.stdout, c.stderr, c.code)
		}
	}
	res, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: []string{"no-such-command"}, Timeout: time.Minute})
	if err != nil || res.ExitCode != 127 {
		t.Errorf("a missing command: exit %d, %v; want 127", res.ExitCode, err)
	}
}

// TestGVisorExecTimeoutKills: an exec in a gVisor agent that outlives its
// timeout is killed with its children, through the shim under the filter.
func TestGVisorExecTimeoutKills(t *testing.T) {
	p := podmanWith(t, func(c *Config) { c.GVisorURI = gvisorService(t) })
	id := runnertest.StartDetached(t, p, gvisorSpec("sleep", "120"))
	ctx := context.Background()
	_, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sh", "-c", "sleep 300 & sleep 301; wait"}, Timeout: 2 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("exec past its timeout: %v; want DeadlineExceeded", err)
	}
	res, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sh", "-c", "ps -o args | grep -c '^sleep 30[01]' || true"}, Timeout: time.Minute})
	if err != nil || strings.TrimSpace(res.Stdout) != "0" {
		t.Errorf("sleeps left after the timeout: %q %q, %v; want 0", res.Stdout, res.Stderr, err)
	}
}

// TestGVisorFiles: file transfers in a gVisor agent (the shim under the
// filter): upload, byte-identical download, listing, tar, removal.
func TestGVisorFiles(t *testing.T) {
	p := podmanWith(t, func(c *Config) { c.GVisorURI, c.TmpfsSize = gvisorService(t), 32<<20 })
	ctx := context.Background()
	spec := keepAliveSpec("")
	spec.Isolation = runner.IsolationGVisor
	id := runnertest.StartDetached(t, p, spec)
	data, err := io.ReadAll(randomData(7, 3<<20))
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/up/data.bin", Mode: 0o640, Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if e.Size != int64(len(data)) || e.Mode != 0o640 || e.Type != runner.FileTypeFile {
		t.Errorf("entry %+v; want a file of %d bytes, mode 0640", e, len(data))
	}
	if _, b := readAll(t, p, id, "/tmp/up/data.bin", false); !bytes.Equal(b, data) {
		t.Errorf("downloaded %d bytes, not the %d uploaded", len(b), len(data))
	}
	if _, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/up/t", Archive: true, Body: strings.NewReader(tarOf(t, "sub/a.txt", "aaa"))}); err != nil {
		t.Fatal(err)
	}
	fr, _ := readAll(t, p, id, "/tmp/up", false)
	var names []string
	for _, e := range fr.Entries {
		names = append(names, e.Name)
	}
	if strings.Join(names, ",") != "data.bin,t" {
		t.Errorf("listing %q; want data.bin,t", names)
	}
	if _, b := readAll(t, p, id, "/tmp/up/t", true); tarNames(t, b) != "sub/,sub/a.txt=aaa" {
		t.Errorf("tar of /tmp/up/t holds %s", tarNames(t, b))
	}
	res, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sh", "-c", "cat /tmp/up/t/sub/a.txt"}, Timeout: time.Minute})
	if err != nil || res.Stdout != "aaa" {
		t.Errorf("the unpacked file seen by an exec: %q, %v", res.Stdout, err)
	}
	if _, err := p.RemoveFile(ctx, id, "/tmp/up"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadFile(ctx, id, "/tmp/up", false); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("ReadFile after RemoveFile = %v; want ErrNotFound", err)
	}
}

// TestGVisorExecRefusedUnfiltered: a gVisor container podrun cannot filter
// execs in (made without the compiled filter, as by an older podrun, or
// reached by a sandbox without the shim) gets no exec and no file transfer:
// a FieldError naming isolation, never an unfiltered run.
func TestGVisorExecRefusedUnfiltered(t *testing.T) {
	gv := gvisorService(t)
	old := podmanWith(t, func(c *Config) { c.GVisorURI = gv })
	old.cfg.filterPath = "" // as a podrun before the filter created its containers
	id := runnertest.StartDetached(t, old, gvisorSpec("sleep", "120"))
	p := podmanWith(t, func(c *Config) { c.GVisorURI = gv })
	noShim := podmanWith(t, func(c *Config) { c.GVisorURI, c.ShimPath = gv, "" })
	ctx := context.Background()
	refused := func(what string, err error) {
		t.Helper()
		var fe *runner.FieldError
		if !errors.As(err, &fe) || fe.Field != "isolation" || !errors.Is(err, runner.ErrInvalid) {
			t.Errorf("%s: %v; want a FieldError naming isolation", what, err)
		}
	}
	_, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"true"}, Timeout: time.Minute})
	refused("exec in a container without the filter", err)
	_, err = p.ExecStream(ctx, id, runner.ExecStreamSpec{Command: []string{"true"}, Timeout: time.Minute, ExecIO: runner.ExecIO{Stdout: io.Discard, Stderr: io.Discard}})
	refused("streamed exec in a container without the filter", err)
	_, err = p.ReadFile(ctx, id, "/etc/hostname", false)
	refused("file read in a container without the filter", err)

	filtered := runnertest.StartDetached(t, p, gvisorSpec("sleep", "120"))
	_, err = noShim.Exec(ctx, filtered, runner.ExecSpec{Command: []string{"true"}, Timeout: time.Minute})
	refused("exec without the shim", err)
	res, err := p.Exec(ctx, filtered, runner.ExecSpec{Command: []string{"true"}, Timeout: time.Minute})
	if err != nil || res.ExitCode != 0 {
		t.Errorf("exec in a container with the filter: %+v, %v", res, err)
	}
}

// BenchmarkExecIsolation measures an exec of echo in a running agent, its
// median round trip in ms: under runc (the shim; runc filters), under gVisor
// (the shim installing the filter), and under gVisor run directly, without
// shim or filter, as before podrun filtered gVisor execs.
// go test -tags "$GO_TAGS" -run '^$' -bench ExecIsolation -benchtime 50x ./sandbox
func BenchmarkExecIsolation(b *testing.B) {
	gv := gvisorService(b)
	p := podmanWith(b, func(c *Config) { c.GVisorURI = gv })
	ctx := context.Background()
	for _, mode := range []string{"runc", "gvisor", "gvisor-unfiltered"} {
		spec := runnertest.Spec(labels, "sleep", "600")
		if mode != "runc" {
			spec.Isolation = runner.IsolationGVisor
		}
		id, err := p.Create(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Remove(context.Background(), id) })
		if err := p.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.Run(mode, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			for range b.N {
				begin := time.Now()
				var res runner.ExecResult
				var err error
				if mode == "gvisor-unfiltered" {
					res, err = p.exec(ctx, id, []string{"echo", "hi"}, runner.ExecSpec{MaxOutput: 4 << 10}, "")
				} else {
					res, err = p.Exec(ctx, id, runner.ExecSpec{Command: []string{"echo", "hi"}, Timeout: time.Minute})
				}
				times = append(times, time.Since(begin))
				if err != nil || res.Stdout != "hi\n" {
					b.Fatalf("exec: %+v, %v", res, err)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*9/10].Microseconds())/1000, "p90-ms")
		})
	}
}

// TestGVisorExecRefusedUncompilableProfile: a configured profile podrun
// cannot compile (here one with an SCMP_ACT_TRACE rule, which needs a
// tracer) does not stop the sandbox; gVisor agents start under it, and
// their execs are refused with the reason, naming isolation.
func TestGVisorExecRefusedUncompilableProfile(t *testing.T) {
	gv := gvisorService(t)
	profile := bytes.Replace(seccomp.JSON(), []byte(`"syscalls": [`), []byte(`"syscalls": [{"names": ["afs_syscall"], "action": "SCMP_ACT_TRACE", "args": []},`), 1)
	path := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(path, profile, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	p := podmanWith(t, func(c *Config) { c.GVisorURI, c.SeccompProfile = gv, path })
	id := runnertest.StartDetached(t, p, gvisorSpec("sleep", "120"))
	_, err := p.Exec(context.Background(), id, runner.ExecSpec{Command: []string{"true"}, Timeout: time.Minute})
	var fe *runner.FieldError
	if !errors.As(err, &fe) || fe.Field != "isolation" || !strings.Contains(fe.Message, "SCMP_ACT_TRACE") {
		t.Errorf("exec under a profile podrun cannot compile: %v; want a FieldError naming isolation and the action", err)
	}
}
