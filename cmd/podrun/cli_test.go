package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/internal/buildinfo"
	"github.com/podrun/podrun/runner"
)

// The version stamps the CLI binary is built with, as make build stamps them.
const (
	cliTestVersion = "v0.0.0-clitest"
	cliTestCommit  = "c0ffee"
)

var cliBinary struct {
	once sync.Once
	path string
	err  error
}

// podrunBinary builds the podrun command once, beside the test binary (go test removes that
// directory), with the test's own build tags and the version stamps of the Makefile.
func podrunBinary(t testing.TB) string {
	t.Helper()
	cliBinary.once.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			cliBinary.err = err
			return
		}
		path := filepath.Join(filepath.Dir(exe), "podrun")
		args := []string{"build", "-o", path}
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "-tags" {
					args = append(args, "-tags", s.Value)
				}
			}
		}
		const bi = "github.com/podrun/podrun/internal/buildinfo"
		args = append(args, "-ldflags", fmt.Sprintf("-X %s.Version=%s -X %s.Commit=%s", bi, cliTestVersion, bi, cliTestCommit), ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			cliBinary.err = fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, out)
			return
		}
		cliBinary.path = path
	})
	if cliBinary.err != nil {
		t.Fatalf("build podrun: %v", cliBinary.err)
	}
	return cliBinary.path
}

// cliResult is what one run of the podrun binary did.
type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// podrun runs the built binary against the daemon with stdin, and PODRUN_ADDR set to it.
func (d *testDaemon) podrun(t testing.TB, stdin string, args ...string) cliResult {
	t.Helper()
	return runPodrun(t, []string{"PODRUN_ADDR=" + d.Addr()}, stdin, args...)
}

// runPodrun runs the built binary with env added to the test's environment (PODRUN_TOKEN cleared).
func runPodrun(t testing.TB, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, podrunBinary(t), args...)
	cmd.Env = append(os.Environ(), "PODRUN_TOKEN=", "PODRUN_ADDR=")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	if err != nil && res.code < 0 {
		t.Fatalf("podrun %s: %v (%s)", strings.Join(args, " "), err, res)
	}
	return res
}

// runnerAgents lists every agent the daemon holds, asking the runner itself.
func (d *testDaemon) runnerAgents(t testing.TB) []runner.Agent {
	t.Helper()
	page, err := d.runner.ListAgents(context.Background(), runner.AgentFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return page.Agents
}

// want fails the test unless the run exited with code.
func (r cliResult) want(t testing.TB, code int, what string) cliResult {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: %s, want exit %d", what, r, code)
	}
	return r
}

// jsonFrom decodes the JSON document that starts at the first '{' or '[' of s (stderr may
// carry log lines of linked packages before it).
func jsonFrom(t testing.TB, s string, v any) {
	t.Helper()
	i := strings.IndexAny(s, "{[")
	if i < 0 {
		t.Fatalf("no JSON in %q", s)
	}
	if err := json.Unmarshal([]byte(s[i:]), v); err != nil {
		t.Fatalf("decode %q: %v", s[i:], err)
	}
}

func TestCLIRunStreamsOutputAndExitsWithTheCode(t *testing.T) {
	d := startDaemon(t, nil)

	r := d.podrun(t, "", "run", testImage, "sh", "-c", "echo out; echo err >&2; exit 3").want(t, 3, "run exiting 3")
	if r.stdout != "out\n" || !strings.Contains(r.stderr, "err\n") || strings.Contains(r.stdout, "err") {
		t.Errorf("stdout and stderr not kept apart: %s", r)
	}

	r = d.podrun(t, "hello from stdin\n", "run", "-i", "--memory", "64Mi", "--cpus", "0.5", "--pids", "32", testImage, "cat").want(t, 0, "run -i cat")
	if r.stdout != "hello from stdin\n" {
		t.Errorf("run -i cat: %s", r)
	}

	// A command that cannot start: the agent fails without an exit code.
	r = d.podrun(t, "", "run", testImage, "/no/such/program").want(t, 126, "run of a missing program")
	if !strings.Contains(r.stderr, "without an exit code") {
		t.Errorf("run of a missing program says: %s", r)
	}
}

func TestCLIAgentLifecycle(t *testing.T) {
	d := startDaemon(t, nil)
	r := d.podrun(t, "", "run", "-d", "--label", "suite=cli", "--ttl", "5m", "--idle-timeout", "4m", "-e", "GREETING=hi", testImage,
		"sh", "-c", "echo $GREETING; sleep 300").want(t, 0, "run -d")
	id := strings.TrimSpace(r.stdout)
	if a := d.get(t, id); a.Labels["suite"] != "cli" || a.Env["GREETING"] != "hi" || a.IdleTimeout != "4m0s" {
		t.Fatalf("run -d made %+v", a)
	}
	d.await(t, id, time.Minute, api.StateRunning)

	if r := d.podrun(t, "", "ps").want(t, 0, "ps"); !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "AGENT ID") {
		t.Errorf("ps does not list the agent: %s", r)
	}
	if r := d.podrun(t, "", "ps", "-q", "--filter", "label=suite=cli").want(t, 0, "ps -q"); r.stdout != id+"\n" {
		t.Errorf("ps -q --filter label=suite=cli: %s", r)
	}
	if r := d.podrun(t, "", "ps", "-q", "--filter", "label=suite=other").want(t, 0, "ps filtered out"); r.stdout != "" {
		t.Errorf("ps --filter label=suite=other: %s", r)
	}
	var listed []api.Agent
	jsonFrom(t, d.podrun(t, "", "ps", "--format", "json").want(t, 0, "ps --format json").stdout, &listed)
	if len(listed) != 1 || listed[0].ID != id || listed[0].State != api.StateRunning {
		t.Errorf("ps --format json = %+v", listed)
	}
	var inspected []api.Agent
	jsonFrom(t, d.podrun(t, "", "inspect", id).want(t, 0, "inspect").stdout, &inspected)
	if len(inspected) != 1 || inspected[0].ID != id || inspected[0].Limits.Memory == 0 || inspected[0].StartedAt == nil {
		t.Errorf("inspect = %+v", inspected)
	}

	deadline := time.Now().Add(30 * time.Second)
	for r = d.podrun(t, "", "logs", id); r.stdout != "hi\n" && time.Now().Before(deadline); r = d.podrun(t, "", "logs", id) {
		time.Sleep(200 * time.Millisecond)
	}
	if r.stdout != "hi\n" {
		t.Errorf("logs: %s", r)
	}

	r = d.podrun(t, "", "exec", id, "sh", "-c", "echo in; echo e >&2; exit 4").want(t, 4, "exec exiting 4")
	if r.stdout != "in\n" || !strings.Contains(r.stderr, "e\n") {
		t.Errorf("exec: %s", r)
	}
	if r := d.podrun(t, "abc", "exec", "-i", id, "cat").want(t, 0, "exec -i"); r.stdout != "abc" {
		t.Errorf("exec -i cat: %s", r)
	}

	if r := d.podrun(t, "", "stats", id).want(t, 0, "stats"); !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "MiB") {
		t.Errorf("stats: %s", r)
	}
	var st api.Stats
	jsonFrom(t, d.podrun(t, "", "--json", "stats", id).want(t, 0, "stats --json").stdout, &st)
	if st.MemoryLimit == 0 || st.PIDs == 0 {
		t.Errorf("stats --json = %+v", st)
	}

	before := time.Now()
	if r := d.podrun(t, "", "ttl", id, "10m").want(t, 0, "ttl"); !strings.Contains(r.stdout, "expires at") {
		t.Errorf("ttl: %s", r)
	}
	if exp := d.get(t, id).ExpiresAt.Time(); exp.Before(before.Add(9*time.Minute)) || exp.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("after ttl 10m the agent expires at %v (now %v)", exp, time.Now())
	}

	if r := d.podrun(t, "", "events", id).want(t, 0, "events"); !strings.Contains(r.stdout, "state") || !strings.Contains(r.stdout, "running") {
		t.Errorf("events: %s", r)
	}

	if r := d.podrun(t, "", "rm", id).want(t, 0, "rm"); r.stdout != id+" terminating\n" {
		t.Errorf("rm: %s", r)
	}
	d.await(t, id, time.Minute, "terminated")
	if r := d.podrun(t, "", "ps", "-q").want(t, 0, "ps after rm"); r.stdout != "" {
		t.Errorf("ps lists a terminated agent: %s", r)
	}
	if r := d.podrun(t, "", "ps", "-a").want(t, 0, "ps -a"); !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "terminated") {
		t.Errorf("ps -a: %s", r)
	}
	// A second rm is accepted and says the agent has already ended; an unknown id exits 1.
	if r := d.podrun(t, "", "rm", id).want(t, 0, "rm again"); !strings.Contains(r.stdout, "already terminated") {
		t.Errorf("rm again: %s", r)
	}
	if r := d.podrun(t, "", "rm", "01m8qbggj5kwppv51vgxa9jw5h").want(t, 1, "rm of an unknown id"); !strings.Contains(r.stderr, "no agent") {
		t.Errorf("rm unknown: %s", r)
	}
}

func TestCLILogsFollowAndTail(t *testing.T) {
	d := startDaemon(t, nil)
	id := strings.TrimSpace(d.podrun(t, "", "run", "-d", testImage, "sh", "-c",
		"for i in 1 2 3; do echo line$i; sleep 0.3; done").want(t, 0, "run -d").stdout)
	if r := d.podrun(t, "", "logs", "-f", id).want(t, 0, "logs -f"); r.stdout != "line1\nline2\nline3\n" {
		t.Errorf("logs -f: %s", r)
	}
	d.await(t, id, time.Minute, "succeeded")
	if r := d.podrun(t, "", "logs", "--tail", "1", id).want(t, 0, "logs --tail 1"); r.stdout != "line3\n" {
		t.Errorf("logs --tail 1: %s", r)
	}
}

func TestCLIErrorsNameTheField(t *testing.T) {
	d := startDaemon(t, nil)
	r := d.podrun(t, "", "run", "--memory", "1", testImage, "true").want(t, 125, "run --memory 1")
	if !strings.Contains(r.stderr, "limits.memory") || !strings.Contains(r.stderr, "400 invalid") {
		t.Errorf("run --memory 1: %s", r)
	}
	var body api.ErrorResponse
	jsonFrom(t, d.podrun(t, "", "--json", "run", "--ttl", "soon", testImage, "true").want(t, 125, "run --ttl soon").stderr, &body)
	if body.Error.Code != api.CodeInvalid || body.Error.Field != "ttl" || body.Error.Message == "" {
		t.Errorf("--json error = %+v", body)
	}
	if page := d.runnerAgents(t); len(page) != 0 {
		t.Errorf("refused requests made %d agents", len(page))
	}

	if r := d.podrun(t, "", "inspect", "01m8qbggj5kwppv51vgxa9jw5h").want(t, 125, "inspect unknown"); !strings.Contains(r.stderr, "404 not_found") {
		t.Errorf("inspect unknown: %s", r)
	}
	if r := d.podrun(t, "", "exec", "01m8qbggj5kwppv51vgxa9jw5h", "true").want(t, 125, "exec unknown"); !strings.Contains(r.stderr, "not_found") {
		t.Errorf("exec unknown: %s", r)
	}
	if r := d.podrun(t, "", "run").want(t, 125, "run without an image"); !strings.Contains(r.stderr, "See 'podrun run --help'") {
		t.Errorf("usage error: %s", r)
	}
	if r := runPodrun(t, nil, "", "--addr", "127.0.0.1:1", "ps").want(t, 125, "unreachable server"); !strings.Contains(r.stderr, "cannot reach the podrun server at 127.0.0.1:1") {
		t.Errorf("unreachable: %s", r)
	}
}

func TestCLIFunctions(t *testing.T) {
	d := startDaemon(t, nil)
	if r := d.podrun(t, "", "fn", "deploy", "echo", "--image", testImage, "--warm", "1", "--", "cat").want(t, 0, "fn deploy"); !strings.Contains(r.stdout, "function echo created") {
		t.Errorf("fn deploy: %s", r)
	}
	if r := d.podrun(t, "", "fn", "deploy", "echo", "--image", testImage, "--", "cat").want(t, 0, "fn deploy again"); !strings.Contains(r.stdout, "function echo updated") {
		t.Errorf("fn deploy again: %s", r)
	}
	// From a file, with a flag overriding it.
	d.podrun(t, "", "fn", "deploy", "wc", "-f", "../../examples/functions/wc/function.json", "--memory", "64Mi").want(t, 0, "fn deploy -f json")
	d.podrun(t, "", "fn", "deploy", "fail", "-f", "../../examples/functions/fail/function.json").want(t, 0, "fn deploy fail")
	toml := filepath.Join(t.TempDir(), "podrun.toml")
	if err := os.WriteFile(toml, []byte("[functions.shout]\nimage = \""+testImage+"\"\ncommand = [\"tr\", \"a-z\", \"A-Z\"]\ntimeout = \"7s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.podrun(t, "", "fn", "deploy", "shout", "-f", toml).want(t, 0, "fn deploy -f toml")
	var fns []api.Function
	jsonFrom(t, d.podrun(t, "", "--json", "fn", "ls").want(t, 0, "fn ls --json").stdout, &fns)
	byName := map[string]api.Function{}
	for _, f := range fns {
		byName[f.Name] = f
	}
	if byName["echo"].Warm != 0 || byName["wc"].Limits.Memory != 64<<20 || byName["wc"].Timeout != "10s" ||
		byName["shout"].Timeout != "7s" || len(fns) != 4 {
		t.Errorf("functions = %+v", fns)
	}
	if r := d.podrun(t, "", "fn", "ls").want(t, 0, "fn ls"); !strings.Contains(r.stdout, "shout") || !strings.Contains(r.stdout, "TIMEOUT") {
		t.Errorf("fn ls: %s", r)
	}

	if r := d.podrun(t, "ping\n", "fn", "invoke", "echo").want(t, 0, "fn invoke echo"); r.stdout != "ping\n" {
		t.Errorf("fn invoke echo: %s", r)
	}
	if r := d.podrun(t, "quiet please", "fn", "invoke", "shout").want(t, 0, "fn invoke shout"); r.stdout != "QUIET PLEASE" {
		t.Errorf("fn invoke shout: %s", r)
	}
	d.podrun(t, "", "fn", "invoke", "fail").want(t, 1, "fn invoke fail")
	if r := d.podrun(t, "", "fn", "invoke", "nope").want(t, 125, "fn invoke unknown"); !strings.Contains(r.stderr, "404 not_found") {
		t.Errorf("fn invoke nope: %s", r)
	}

	id := strings.TrimSpace(d.podrun(t, "later\n", "fn", "invoke", "--async", "echo").want(t, 0, "fn invoke --async").stdout)
	if r := d.podrun(t, "", "fn", "result", "--wait", id).want(t, 0, "fn result"); r.stdout != "later\n" {
		t.Errorf("fn result: %s", r)
	}

	d.podrun(t, "", "fn", "rm", "echo", "wc", "fail", "shout").want(t, 0, "fn rm")
	if r := d.podrun(t, "", "fn", "rm", "echo").want(t, 1, "fn rm again"); !strings.Contains(r.stderr, "no function echo") {
		t.Errorf("fn rm again: %s", r)
	}
}

func TestCLITokenVersionAndCompletion(t *testing.T) {
	d := startDaemon(t, func(c *configs.Config) { c.Token = "cli-secret" })
	if r := d.podrun(t, "", "ps").want(t, 125, "ps without the token"); !strings.Contains(r.stderr, "401 unauthorized") {
		t.Errorf("ps without a token: %s", r)
	}
	runPodrun(t, []string{"PODRUN_ADDR=" + d.Addr(), "PODRUN_TOKEN=cli-secret"}, "", "ps").want(t, 0, "ps with PODRUN_TOKEN")
	d.podrun(t, "", "--token", "cli-secret", "ps").want(t, 0, "ps with --token")

	// The daemon runs in this test process, so GET /v1/version describes the test binary.
	server := buildinfo.Get()
	r := d.podrun(t, "", "--token", "cli-secret", "version").want(t, 0, "version")
	for _, want := range []string{cliTestVersion, cliTestCommit, runtime.Version(),
		"Server:\n  Version:     " + server.Version + "\n  Commit:      " + server.Commit + "\n  Go version:  " + server.GoVersion} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version does not say %q: %s", want, r)
		}
	}
	var v struct {
		Client      api.Version  `json:"client"`
		Server      *api.Version `json:"server"`
		ServerError string       `json:"server_error"`
	}
	jsonFrom(t, d.podrun(t, "", "--token", "cli-secret", "--json", "version").want(t, 0, "version --json").stdout, &v)
	if v.Client != (api.Version{Version: cliTestVersion, Commit: cliTestCommit, GoVersion: runtime.Version()}) ||
		v.Server == nil || *v.Server != server || v.ServerError != "" {
		t.Errorf("version --json = %+v", v)
	}
	want := fmt.Sprintf("podrun version %s (commit %s, %s)\n", cliTestVersion, cliTestCommit, runtime.Version())
	if r := runPodrun(t, nil, "", "--version").want(t, 0, "--version"); r.stdout != want {
		t.Errorf("--version: %s, want stdout %q", r, want)
	}

	if r := runPodrun(t, nil, "", "completion", "bash").want(t, 0, "completion bash"); !strings.Contains(r.stdout, "__start_podrun") {
		t.Errorf("completion bash: %.300s", r.stdout)
	}
	// serve and bench keep their own flags.
	if r := runPodrun(t, nil, "", "serve", "-h").want(t, 0, "serve -h"); !strings.Contains(r.stdout+r.stderr, "--podman-socket") {
		t.Errorf("serve -h: %.300s", r)
	}
}

func TestCLIRunInterruptDeletesTheAgent(t *testing.T) {
	d := startDaemon(t, func(c *configs.Config) { c.Sandbox.StopTimeout = configs.Duration{Duration: time.Second} })
	cmd := exec.Command(podrunBinary(t), "run", testImage, "sleep", "300")
	cmd.Env = append(os.Environ(), "PODRUN_TOKEN=", "PODRUN_ADDR="+d.Addr())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var id string
	for deadline := time.Now().Add(time.Minute); id == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, a := range d.runnerAgents(t) {
			if a.State == runner.StateRunning {
				id = a.ID
			}
		}
	}
	if id == "" {
		t.Fatal("the agent never ran")
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// sleep as PID 1 ignores SIGTERM, so the stop ends in SIGKILL: 128+9.
	if code := cmd.ProcessState.ExitCode(); code != 137 || !strings.Contains(stderr.String(), "terminating") {
		t.Errorf("interrupted run: exit %d, stderr %q; want 137 and the agent terminating", code, stderr.String())
	}
	if a := d.get(t, id); a.State != api.StateTerminated || a.Reason != api.ReasonDeleted {
		t.Errorf("after the interrupt the agent is %s (%s)", a.State, a.Reason)
	}
}
