package configs

import (
	"strings"
	"testing"
	"time"
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
		{"relative seccomp", func(c *Config) { c.Sandbox.SeccompProfile = "seccomp.json" }, "must be empty (Podman's default) or an absolute path"},
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

func TestValidateReportsEveryProblem(t *testing.T) {
	c := defaults(userEnv.get, true)
	c.LogLevel, c.Sandbox.NProc, c.HTTP.MaxBody = "loud", 0, 0
	err := c.Validate()
	if err == nil {
		t.Fatal("got no error")
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 3 {
		t.Errorf("got %d problems, want 3:\n%v", got, err)
	}
}
