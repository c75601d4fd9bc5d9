package configs

import (
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // empty: valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"listen without port", func(c *Config) { c.Listen = "127.0.0.1" }, `listen ("127.0.0.1") must be host:port`},
		{"listen with a bad port", func(c *Config) { c.Listen = "127.0.0.1:http" }, "invalid port"},
		{"public listen without token", func(c *Config) { c.Listen = "0.0.0.0:8080" }, "token must be set when listen"},
		{"all interfaces without token", func(c *Config) { c.Listen = ":8080" }, "token must be set when listen"},
		{"public listen with token", func(c *Config) { c.Listen, c.Token = "0.0.0.0:8080", "s3cret" }, ""},
		{"localhost", func(c *Config) { c.Listen = "localhost:0" }, ""},
		{"ipv6 loopback", func(c *Config) { c.Listen = "[::1]:8080" }, ""},
		{"token with a space", func(c *Config) { c.Token = "a b" }, "token must not contain spaces"},
		{"socket without scheme", func(c *Config) { c.PodmanSocket = "/run/podman/podman.sock" }, "podman_socket"},
		{"relative unix socket", func(c *Config) { c.PodmanSocket = "unix://podman.sock" }, "absolute socket path"},
		{"tcp socket", func(c *Config) { c.PodmanSocket = "tcp://127.0.0.1:8888" }, ""},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, `log_format ("xml") must be one of text, json`},
		{"log level", func(c *Config) { c.LogLevel = "trace" }, `log_level ("trace") must be one of`},
		{"default memory above max", func(c *Config) { c.Limits.Default.Memory, c.Limits.Max.Memory = 300<<20, 256<<20 },
			"limits.default.memory (300Mi) exceeds limits.max.memory (256Mi)"},
		{"default cpus above max", func(c *Config) { c.Limits.Default.CPUs = 3 }, "limits.default.cpus (3) exceeds limits.max.cpus (2)"},
		{"default pids above max", func(c *Config) { c.Limits.Default.PIDs = 5000 }, "limits.default.pids (5000) exceeds limits.max.pids (4096)"},
		{"tiny memory", func(c *Config) { c.Limits.Default.Memory = 1 << 20 }, "limits.default.memory (1Mi) must be at least 6Mi"},
		{"zero cpus", func(c *Config) { c.Limits.Max.CPUs = 0 }, "limits.max.cpus (0) must be at least 0.01"},
		{"zero pids", func(c *Config) { c.Limits.Default.PIDs = 0 }, "limits.default.pids (0) must be positive"},
		{"zero ttl", func(c *Config) { c.TTL.Default = Duration{} }, "ttl.default (0s) must be positive"},
		{"ttl above max", func(c *Config) { c.TTL.Default = Duration{48 * time.Hour} }, "ttl.default (48h0m0s) exceeds ttl.max (24h0m0s)"},
		{"runtime path", func(c *Config) { c.Sandbox.Runtime = "/usr/bin/runc" }, ""},
		{"runtime with spaces", func(c *Config) { c.Sandbox.Runtime = "runc --debug" }, "sandbox.runtime"},
		{"host network", func(c *Config) { c.Sandbox.Network = "host" }, `sandbox.network ("host") is not allowed`},
		{"unknown network", func(c *Config) { c.Sandbox.Network = "pasta" }, "sandbox.network"},
		{"slirp4netns", func(c *Config) { c.Sandbox.Network = "slirp4netns" }, ""},
		{"tiny tmpfs", func(c *Config) { c.Sandbox.TmpfsSize = 1 }, "sandbox.tmpfs_size (1) must be at least 4Ki"},
		{"unconfined seccomp", func(c *Config) { c.Sandbox.SeccompProfile = "unconfined" }, "sandbox.seccomp_profile"},
		{"relative seccomp", func(c *Config) { c.Sandbox.SeccompProfile = "seccomp.json" }, "must be empty (podrun's own profile) or an absolute path"},
		{"relative state dir", func(c *Config) { c.Sandbox.StateDir = "run/podrun" }, "sandbox.state_dir (\"run/podrun\") must be an absolute path"},
		{"tiny shm", func(c *Config) { c.Sandbox.ShmSize = 1 }, "sandbox.shm_size (1) must be at least 4Ki"},
		{"seccomp file", func(c *Config) { c.Sandbox.SeccompProfile = "/etc/podrun/seccomp.json" }, ""},
		{"nofile", func(c *Config) { c.Sandbox.NoFile = 0 }, "sandbox.nofile (0)"},
		{"nproc", func(c *Config) { c.Sandbox.NProc = -1 }, "sandbox.nproc (-1) must be positive"},
		{"userns size", func(c *Config) { c.Sandbox.UserNSSize = 10 }, "sandbox.userns_size (10) must be between 1024"},
		{"fractional stop timeout", func(c *Config) { c.Sandbox.StopTimeout = Duration{1500 * time.Millisecond} }, "sandbox.stop_timeout (1.5s) must be whole seconds"},
		{"zero stop timeout", func(c *Config) { c.Sandbox.StopTimeout = Duration{} }, ""},
		{"log max size", func(c *Config) { c.Sandbox.LogMaxSize = 0 }, "sandbox.log_max_size (0) must be positive"},
		{"sweeping disabled", func(c *Config) { c.Cleanup.SweepInterval = Duration{} }, ""},
		{"negative grace", func(c *Config) { c.Cleanup.FailedGrace = Duration{-time.Second} }, "cleanup.failed_grace (-1s) must not be negative"},
		{"zero retention", func(c *Config) { c.Cleanup.Retention = Duration{} }, "cleanup.retention (0s) must be positive"},
		{"huge log tail", func(c *Config) { c.Cleanup.LogTail = 1 << 30 }, "cleanup.log_tail (1Gi) must be between 1 and 64Mi"},
		{"zero max body", func(c *Config) { c.HTTP.MaxBody = 0 }, "http.max_body (0) must be positive"},
		{"no header timeout", func(c *Config) { c.HTTP.ReadHeaderTimeout = Duration{} }, "http.read_header_timeout (0s) must be positive"},
		{"no write timeout", func(c *Config) { c.HTTP.WriteTimeout = Duration{} }, ""},
		{"shim path", func(c *Config) { c.Sandbox.ShimPath = "/usr/libexec/podrun/podrun-shim" }, ""},
		{"relative shim path", func(c *Config) { c.Sandbox.ShimPath = "bin/podrun-shim" },
			`sandbox.shim_path ("bin/podrun-shim") must be empty (next to podrun) or an absolute path`},
		{"no podman calls", func(c *Config) { c.Sandbox.MaxConcurrentCalls = 0 }, "sandbox.max_concurrent_calls (0) must be positive"},
		{"no invocations", func(c *Config) { c.Invoke.MaxConcurrency = 0 }, "invoke.max_concurrency (0) must be positive"},
		{"default concurrency above max", func(c *Config) { c.Invoke.DefaultConcurrency = 17 },
			"invoke.default_concurrency (17) must be between 1 and invoke.max_concurrency (16)"},
		{"zero default concurrency", func(c *Config) { c.Invoke.DefaultConcurrency = 0 }, "invoke.default_concurrency (0) must be between 1"},
		{"no queue", func(c *Config) { c.Invoke.QueueLength = 0 }, ""},
		{"negative queue", func(c *Config) { c.Invoke.QueueLength = -1 }, "invoke.queue_length (-1) must not be negative"},
		{"threshold above 1", func(c *Config) { c.Monitor.Memory = 90 }, "monitor.memory (90) must be a fraction between 0 (off) and 1"},
		{"hysteresis of 1", func(c *Config) { c.Monitor.Hysteresis = 1 }, "monitor.hysteresis (1) must be at least 0 and below 1"},
		{"negative interval", func(c *Config) { c.Monitor.Interval = Duration{-time.Second} }, "monitor.interval"},
		{"zero queue wait", func(c *Config) { c.Invoke.QueueWait = Duration{} }, "invoke.queue_wait (0s) must be positive"},
		{"zero default timeout", func(c *Config) { c.Invoke.DefaultTimeout = Duration{} }, "invoke.default_timeout (0s) must be positive"},
		{"default timeout above max", func(c *Config) { c.Invoke.DefaultTimeout = Duration{time.Hour} },
			"invoke.default_timeout (1h0m0s) exceeds invoke.max_timeout (15m0s)"},
		{"warm pools off", func(c *Config) { c.Invoke.MaxWarm = 0 }, ""},
		{"negative warm", func(c *Config) { c.Invoke.MaxWarm = -1 }, "invoke.max_warm (-1) must not be negative"},
		{"zero warm idle", func(c *Config) { c.Invoke.WarmMaxIdle = Duration{} }, "invoke.warm_max_idle (0s) must be positive"},
		{"zero default output", func(c *Config) { c.Invoke.DefaultMaxOutput = 0 }, "invoke.default_max_output (0) must be positive"},
		{"default output above max", func(c *Config) { c.Invoke.DefaultMaxOutput = 128 << 20 },
			"invoke.default_max_output (128Mi) exceeds invoke.max_output (64Mi)"},
		{"zero invoke body", func(c *Config) { c.Invoke.MaxBody = 0 }, "invoke.max_body (0) must be positive"},
		{"no callback attempts", func(c *Config) { c.Invoke.CallbackAttempts = 0 }, "invoke.callback_attempts (0) must be positive"},
		{"zero callback timeout", func(c *Config) { c.Invoke.CallbackTimeout = Duration{} }, "invoke.callback_timeout (0s) must be positive"},
		{"function", withFunction("echo", FunctionConfig{Image: "localhost/podrun/busybox:latest", Command: []string{"cat"}}), ""},
		{"function name", withFunction("Echo", FunctionConfig{Image: "busybox"}), "functions.Echo: the name must be lowercase"},
		{"function without image", withFunction("echo", FunctionConfig{}), "functions.echo.image: is required"},
		{"function image", withFunction("echo", FunctionConfig{Image: "Busy Box"}), "functions.echo.image: "},
		{"function command", withFunction("echo", FunctionConfig{Image: "busybox", Command: []string{"cat", ""}}),
			"functions.echo.command[1]: must not be empty"},
		{"function env", withFunction("echo", FunctionConfig{Image: "busybox", Env: map[string]string{"A=B": "c"}}),
			"functions.echo.env.A=B: key must not contain '=' or NUL"},
		{"function memory", withFunction("echo", FunctionConfig{Image: "busybox", Limits: FunctionLimits{Memory: ptr(runner.ByteSize(8 << 30))}}),
			"functions.echo.limits.memory: must be at most 4Gi"},
		{"function timeout", withFunction("echo", FunctionConfig{Image: "busybox", Timeout: &Duration{time.Hour}}),
			"functions.echo.timeout: must be at most 15m0s"},
		{"function zero timeout", withFunction("echo", FunctionConfig{Image: "busybox", Timeout: &Duration{}}),
			"functions.echo.timeout: must be positive"},
		{"function warm", withFunction("echo", FunctionConfig{Image: "busybox", Warm: ptr(9)}), "functions.echo.warm: must be between 0 and 8"},
		{"function concurrency", withFunction("echo", FunctionConfig{Image: "busybox", MaxConcurrency: ptr(0)}),
			"functions.echo.max_concurrency: must be between 1 and 16"},
		{"function output", withFunction("echo", FunctionConfig{Image: "busybox", MaxOutput: ptr(runner.ByteSize(1 << 30))}),
			"functions.echo.max_output: must be between 1 and 64Mi"},
		{"function within raised bounds", func(c *Config) {
			c.Invoke.MaxWarm = 20
			withFunction("echo", FunctionConfig{Image: "busybox", Warm: ptr(20)})(c)
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults(userEnv.get, true)
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// withFunction returns a change that declares one function.
func withFunction(name string, f FunctionConfig) func(*Config) {
	return func(c *Config) { c.Functions = map[string]FunctionConfig{name: f} }
}

func ptr[T any](v T) *T { return &v }

func TestValidateReportsEveryProblem(t *testing.T) {
	c := defaults(userEnv.get, true)
	c.LogLevel, c.Sandbox.NProc, c.HTTP.MaxBody = "loud", 0, 0
	c.Functions = map[string]FunctionConfig{"b": {}, "a": {Image: "busybox", Warm: ptr(-1)}, "ok": {Image: "busybox"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("got no error")
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != 5 {
		t.Fatalf("got %d problems, want 5:\n%v", len(got), err)
	}
	// Functions come last, in name order, so the report reads the same every time.
	if !strings.HasPrefix(got[3], "functions.a.warm:") || !strings.HasPrefix(got[4], "functions.b.image:") {
		t.Errorf("function problems out of order:\n%v", err)
	}
}

// TestWebhookAndIdleKeysAreValidated: a private webhooks.url is refused
// unless allow_private, and agents.idle_timeout may not be negative or exceed ttl.max.
func TestWebhookAndIdleKeysAreValidated(t *testing.T) {
	for _, tt := range []struct {
		edit func(*Config)
		key  string // "" for a valid config
	}{
		{func(c *Config) { c.Webhooks.URL = "http://127.0.0.1:9/hook" }, "webhooks.url"},
		{func(c *Config) { c.Webhooks.URL, c.Webhooks.AllowPrivate = "http://127.0.0.1:9/hook", true }, ""},
		{func(c *Config) { c.Webhooks.URL = "https://hooks.example.com/podrun" }, ""},
		{func(c *Config) { c.Webhooks.URL = "hooks.example.com" }, "webhooks.url"},
		{func(c *Config) { c.Webhooks.WarnBefore.Duration = -time.Second }, "webhooks.warn_before"},
		{func(c *Config) { c.Agents.IdleTimeout.Duration = -time.Second }, "agents.idle_timeout"},
		{func(c *Config) { c.Agents.IdleTimeout.Duration = 25 * time.Hour }, "agents.idle_timeout"},
	} {
		c := defaults(userEnv.get, true)
		tt.edit(&c)
		err := c.Validate()
		switch {
		case tt.key == "" && err != nil:
			t.Errorf("%+v %+v: %v, want valid", c.Webhooks, c.Agents, err)
		case tt.key != "" && (err == nil || !strings.Contains(err.Error(), tt.key)):
			t.Errorf("%+v %+v: %v, want a problem naming %s", c.Webhooks, c.Agents, err, tt.key)
		}
	}
}
