package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/specgen"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
	"github.com/podrun/podrun/runner/shimproto"
)

// newShimPodman returns a sandbox with the test run's shim.
func newShimPodman(t testing.TB, observe func(op string, d time.Duration)) *Podman {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testConfig()
	cfg.ShimPath, cfg.Observe = shimPath, observe
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// shimSpec is a contract spec run under the shim.
func shimSpec(command ...string) runner.Spec {
	s := runnertest.Spec(labels, command...)
	s.Shim = true
	return s
}

// request is what the runner writes on a shim'd container's stdin: the header, then the body.
func request(t testing.TB, env map[string]string, body []byte) []byte {
	t.Helper()
	h, err := shimproto.Encode(shimproto.Header{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return append(h, body...)
}

func TestShimPassesHeaderEnv(t *testing.T) {
	p := newShimPodman(t, nil)
	spec := shimSpec("sh", "-c", `echo $Http_Method $Http_X_Test $FROM_SPEC`)
	spec.Env = map[string]string{"FROM_SPEC": "spec", "Http_X_Test": "overridden"}
	env := map[string]string{"Http_Method": "POST", "Http_X_Test": "it's me"}
	out := runnertest.Run(t, p, spec, request(t, env, nil))
	if out.Exit.Code != 0 || out.Stdout != "POST it's me spec\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", out.Exit.Code, out.Stdout, out.Stderr)
	}
}

func TestShimBinaryBody(t *testing.T) {
	p := newShimPodman(t, nil)
	body := make([]byte, 1<<20)
	rand.Read(body)
	out := runnertest.Run(t, p, shimSpec("cat"), request(t, map[string]string{"Http_Method": "PUT"}, body))
	if out.Exit.Code != 0 || !bytes.Equal([]byte(out.Stdout), body) {
		t.Errorf("exit %d, %d bytes out (identical: %v), stderr %q", out.Exit.Code, len(out.Stdout), out.Stdout == string(body), out.Stderr)
	}
}

func TestShimUsesImageCommand(t *testing.T) {
	var mu sync.Mutex
	inspects := 0
	p := newShimPodman(t, func(op string, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if op == "image_inspect" {
			inspects++
		}
	})
	// The busybox image's CMD is /bin/sh, which runs the body as a script.
	for i := range 2 {
		out := runnertest.Run(t, p, shimSpec(), request(t, map[string]string{"Http_Method": "GET"}, []byte("echo cmd-$Http_Method-$0\n")))
		if out.Exit.Code != 0 || out.Stdout != "cmd-GET-/bin/sh\n" {
			t.Errorf("run %d: exit %d, stdout %q, stderr %q", i, out.Exit.Code, out.Stdout, out.Stderr)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if inspects != 1 {
		t.Errorf("the image was inspected %d times, want once (cached)", inspects)
	}
}

func TestShimScratchImage(t *testing.T) {
	p := newShimPodman(t, nil)
	ref := buildHelloImage(t)
	spec := runnertest.Spec(labels) // no command: the image's ENTRYPOINT
	spec.Image, spec.Shim = ref, true
	env := map[string]string{"Http_Method": "POST", "Http_Path": "/hello-go"}
	out := runnertest.Run(t, p, spec, request(t, env, []byte("twelve bytes")))
	want := "Hello from Go! You sent POST /hello-go with a body of 12 bytes.\n"
	if out.Exit.Code != 0 || out.Stdout != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", out.Exit.Code, out.Stdout, out.Stderr, want)
	}
}

// buildHelloImage builds the hello-go example, FROM scratch, under a name of
// this test run's own, and removes it when the test ends.
func buildHelloImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	example := filepath.Join("..", "examples", "functions", "hello-go")
	if err := buildStatic(filepath.Join(dir, "hello"), filepath.Join(example, "main.go")); err != nil {
		t.Fatal(err)
	}
	ref := "localhost/podrun/test-hello-go:" + strings.ToLower(runID)
	podmanCLI(t, "build", "--quiet", "--tag", ref, "--file", filepath.Join(example, "Containerfile"), dir)
	t.Cleanup(func() { podmanCLI(t, "rmi", "--force", ref) })
	return ref
}

// podmanCLI runs the podman command against the service the tests use (--url), so it works in its storage.
func podmanCLI(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("podman", append([]string{"--url", uri}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestShimIsConfined(t *testing.T) {
	p := newShimPodman(t, nil)
	spec := shimSpec("sh", "-c", probeScript+`awk '$5 == "/.podrun/shim" {print "shim_mount=" $6}' /proc/self/mountinfo`)
	spec.Limits = hardLimits
	out := runnertest.Run(t, p, spec, request(t, nil, nil))
	if out.Exit.Code != 0 {
		t.Fatalf("probe exited %d: %s", out.Exit.Code, out.Stderr)
	}
	got := parseProbe(out.Stdout)
	checkConfined(t, got)
	if got["rootfs"] != "readonly" || got["net"] != "lo" {
		t.Errorf("rootfs %s, net %q", got["rootfs"], got["net"])
	}
	opts := strings.Split(got["shim_mount"], ",")
	for _, want := range []string{"ro", "nosuid", "nodev"} {
		if !slices.Contains(opts, want) {
			t.Errorf("the shim is mounted %q, want %s", got["shim_mount"], want)
		}
	}
}

func TestShimFailures(t *testing.T) {
	p := newShimPodman(t, nil)
	tests := []struct {
		name  string
		spec  runner.Spec
		stdin []byte
		code  int
	}{
		{"command not found", shimSpec("no-such-command"), request(t, nil, nil), 127},
		{"not executable", shimSpec("/etc/passwd"), request(t, nil, nil), 126},
		{"no header", shimSpec("cat"), []byte("just a body"), 125},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runnertest.Run(t, p, tt.spec, tt.stdin)
			if out.Exit.Code != tt.code || !strings.HasPrefix(out.Stderr, "podrun-shim: ") {
				t.Errorf("exit %d, stderr %q; want %d from the shim", out.Exit.Code, out.Stderr, tt.code)
			}
		})
	}
}

func TestShimWithoutShimPath(t *testing.T) {
	p := newPodman(t)
	id, err := p.Create(context.Background(), shimSpec("true"))
	if !errors.Is(err, ErrNoShimPath) {
		if id != "" {
			_ = p.Remove(context.Background(), id)
		}
		t.Fatalf("Create = %q, %v; want ErrNoShimPath", id, err)
	}
}

func TestShimPathChecked(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "shim")
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{notExec, filepath.Join(t.TempDir(), "missing")} {
		cfg := testConfig()
		cfg.ShimPath = path
		if _, err := New(context.Background(), cfg); err == nil {
			t.Errorf("New with shim %s: no error", path)
		}
	}
}

func TestShimParallel32(t *testing.T) {
	p := newShimPodman(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 32
	ids := make([]string, n)
	for i := range ids {
		ids[i] = runnertest.Create(t, p, shimSpec("sh", "-c", `echo "$Http_X_Id"; cat`))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		wg.Go(func() {
			body := bytes.Repeat(fmt.Appendf(nil, "body-%d-", i), 500+i)
			var stdout, stderr bytes.Buffer
			in := bytes.NewReader(request(t, map[string]string{"Http_X_Id": fmt.Sprint(i)}, body))
			a, err := p.Attach(ctx, id, runner.Streams{Stdin: in, Stdout: &stdout, Stderr: &stderr})
			if err == nil {
				err = p.Start(ctx, id)
			}
			var exit runner.Exit
			if err == nil {
				exit, err = a.Wait(ctx)
			}
			want := append(fmt.Appendf(nil, "%d\n", i), body...)
			switch {
			case err != nil:
				errs[i] = err
			case exit.Code != 0 || !bytes.Equal(stdout.Bytes(), want):
				errs[i] = fmt.Errorf("exit %d, stdout %d bytes (own: %v), stderr %q", exit.Code, stdout.Len(), bytes.Equal(stdout.Bytes(), want), stderr.String())
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("invocation %d: %v", i, err)
		}
	}
}

func TestHardenWithShim(t *testing.T) {
	noShimCfg := testConfig()
	cfg := noShimCfg
	cfg.ShimPath = "/opt/podrun/podrun-shim"
	plain := Harden(runnertest.Spec(labels, "cat"), cfg)
	spec := runnertest.Spec(labels, "cat")
	spec.Shim = true
	s := Harden(spec, cfg)
	if !slices.Equal(s.Entrypoint, []string{ShimTarget}) || !slices.Equal(s.Command, []string{"cat"}) {
		t.Errorf("entrypoint %q, command %q", s.Entrypoint, s.Command)
	}
	// Every container gets the shim, for exec; only its use as entrypoint differs.
	for _, spec := range []*specgen.SpecGenerator{s, plain} {
		m := spec.Mounts[len(spec.Mounts)-1]
		if m.Source != cfg.ShimPath || m.Destination != ShimTarget || !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "nosuid") {
			t.Errorf("shim mount %+v", m)
		}
	}
	noShim := Harden(runnertest.Spec(labels, "cat"), noShimCfg)
	if len(plain.Mounts) != len(noShim.Mounts)+1 {
		t.Errorf("mounts with a shim path %+v, without %+v", plain.Mounts, noShim.Mounts)
	}
	// Everything else is the plain container's hardening.
	s.Entrypoint = plain.Entrypoint
	if !reflect.DeepEqual(s, plain) {
		t.Errorf("the shim changed more than the entrypoint")
	}
}

// TestShimExitComesWithTheStream checks that a shim'd process's exit status is
// read from the end of its stderr, with no inspect, and that a container killed
// before its shim could say anything still gets its status from Podman.
func TestShimExitComesWithTheStream(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	p := newShimPodman(t, func(op string, _ time.Duration) {
		mu.Lock()
		calls[op]++
		mu.Unlock()
	})
	ctx := context.Background()
	inspects := func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls["inspect"]
	}
	run := func(id string, stdin []byte) (runner.Exit, string) {
		t.Helper()
		var stderr bytes.Buffer
		a, err := p.Attach(ctx, id, runner.Streams{Stdin: bytes.NewReader(stdin), Stderr: &stderr, Shim: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		exit, err := a.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return exit, stderr.String()
	}
	for _, tt := range []struct {
		script string
		code   int
	}{{`echo oops >&2; exit 3`, 3}, {`true`, 0}, {`kill -KILL $$`, 137}} {
		id := runnertest.Create(t, p, shimSpec("sh", "-c", tt.script))
		before := inspects()
		exit, stderr := run(id, request(t, nil, nil))
		if exit.Code != tt.code || inspects() != before {
			t.Errorf("%q: exit %d with %d inspects, stderr %q; want %d with none", tt.script, exit.Code, inspects()-before, stderr, tt.code)
		}
	}

	// Killed as a whole (a timeout), the shim says nothing: Podman is asked.
	id := runnertest.Create(t, p, shimSpec("sleep", "60"))
	var stderr bytes.Buffer
	a, err := p.Attach(ctx, id, runner.Streams{Stdin: bytes.NewReader(request(t, nil, nil)), Stderr: &stderr, Shim: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(ctx, id); err != nil {
		t.Fatal(err)
	}
	before := inspects()
	exit, err := a.Wait(ctx)
	if err != nil || exit.Code != 137 || inspects() == before {
		t.Errorf("killed: exit %+v, %v, %d inspects, stderr %q; want 137 from an inspect", exit, err, inspects()-before, stderr.String())
	}
}
