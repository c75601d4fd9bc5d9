// Package configs holds podrun's configuration: defaults, the TOML file, PODRUN_* environment
// variables and the flags of `podrun serve`, merged in that order and validated once.
package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podrun/podrun/runner"
)

// Config is everything `podrun serve` can be told.
type Config struct {
	Listen                string        `toml:"listen"`
	DataDir               string        `toml:"data_dir"`
	PodmanSocket          string        `toml:"podman_socket"`
	Token                 string        `toml:"token"`
	LogFormat             string        `toml:"log_format"`
	LogLevel              string        `toml:"log_level"`
	AllowUnenforcedLimits bool          `toml:"allow_unenforced_limits"`
	Limits                LimitsTable   `toml:"limits"`
	TTL                   TTLConfig     `toml:"ttl"`
	Sandbox               SandboxConfig `toml:"sandbox"`
	Cleanup               CleanupConfig `toml:"cleanup"`
	HTTP                  HTTPConfig    `toml:"http"`
}

// LimitsTable holds the limits an agent gets when it asks for none, and the most it may ask for.
type LimitsTable struct {
	Default LimitsConfig `toml:"default"`
	Max     LimitsConfig `toml:"max"`
}

// LimitsConfig is one set of container resource limits.
type LimitsConfig struct {
	Memory runner.ByteSize `toml:"memory"`
	CPUs   float64         `toml:"cpus"`
	PIDs   int64           `toml:"pids"`
}

// TTLConfig bounds how long an agent may live before the reaper kills it.
type TTLConfig struct {
	Default Duration `toml:"default"`
	Max     Duration `toml:"max"`
}

// SandboxConfig shapes every container podrun creates.
type SandboxConfig struct {
	Runtime        string          `toml:"runtime"`
	Network        string          `toml:"network"`
	TmpfsSize      runner.ByteSize `toml:"tmpfs_size"`
	SeccompProfile string          `toml:"seccomp_profile"`
	NoFile         int64           `toml:"nofile"`
	NProc          int64           `toml:"nproc"`
	UserNSSize     int64           `toml:"userns_size"`
	StopTimeout    Duration        `toml:"stop_timeout"`
	LogMaxSize     runner.ByteSize `toml:"log_max_size"`
}

// CleanupConfig says when the sweeper removes containers and prunes finished agents.
type CleanupConfig struct {
	SweepInterval  Duration        `toml:"sweep_interval"`
	SucceededGrace Duration        `toml:"succeeded_grace"`
	FailedGrace    Duration        `toml:"failed_grace"`
	OrphanGrace    Duration        `toml:"orphan_grace"`
	Retention      Duration        `toml:"retention"`
	LogTail        runner.ByteSize `toml:"log_tail"`
}

// HTTPConfig bounds the API server's request sizes and connection timeouts.
type HTTPConfig struct {
	MaxBody           runner.ByteSize `toml:"max_body"`
	ReadHeaderTimeout Duration        `toml:"read_header_timeout"`
	ReadTimeout       Duration        `toml:"read_timeout"`
	WriteTimeout      Duration        `toml:"write_timeout"`
	IdleTimeout       Duration        `toml:"idle_timeout"`
}

// Duration is a time.Duration written in config files as a Go duration string like "30s".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("duration %q: want a number with a unit, like \"30s\", \"5m\" or \"1h30m\"", text)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration the way UnmarshalText reads it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the built-in configuration for the current user and environment.
func Default() Config { return defaults(os.Getenv, os.Geteuid() == 0) }

// defaults builds the built-in configuration; only data_dir and podman_socket depend on who runs podrun.
func defaults(getenv func(string) string, root bool) Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		DataDir:      defaultDataDir(getenv, root),
		PodmanSocket: defaultPodmanSocket(getenv, root),
		LogFormat:    "text",
		LogLevel:     "info",
		Limits: LimitsTable{
			Default: LimitsConfig{Memory: 256 << 20, CPUs: 1, PIDs: 128},
			Max:     LimitsConfig{Memory: 4 << 30, CPUs: 2, PIDs: 4096},
		},
		TTL: TTLConfig{Default: minutes(5), Max: minutes(24 * 60)},
		Sandbox: SandboxConfig{
			Network:     "none",
			TmpfsSize:   64 << 20,
			NoFile:      1024,
			NProc:       1024,
			UserNSSize:  65536,
			StopTimeout: Duration{10 * time.Second},
			LogMaxSize:  16 << 20,
		},
		Cleanup: CleanupConfig{
			SweepInterval:  Duration{30 * time.Second},
			SucceededGrace: minutes(5),
			FailedGrace:    minutes(60),
			OrphanGrace:    minutes(60),
			Retention:      minutes(7 * 24 * 60),
			LogTail:        64 << 10,
		},
		HTTP: HTTPConfig{
			MaxBody:           1 << 20,
			ReadHeaderTimeout: Duration{5 * time.Second},
			ReadTimeout:       Duration{60 * time.Second},
			WriteTimeout:      Duration{60 * time.Second},
			IdleTimeout:       Duration{120 * time.Second},
		},
	}
}

func minutes(n int) Duration { return Duration{time.Duration(n) * time.Minute} }

// defaultDataDir follows the XDG base directory spec for users and the FHS for root.
func defaultDataDir(getenv func(string) string, root bool) string {
	if root {
		return "/var/lib/podrun"
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "podrun")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "podrun")
	}
	return "" // Validate reports it
}

// defaultPodmanSocket honours CONTAINER_HOST like the podman CLI does, then Podman's standard paths.
func defaultPodmanSocket(getenv func(string) string, root bool) string {
	if h := getenv("CONTAINER_HOST"); h != "" {
		return h
	}
	if root {
		return "unix:///run/podman/podman.sock"
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return "unix://" + filepath.Join(d, "podman", "podman.sock")
	}
	return "" // Validate reports it
}

// Policy returns the limits and TTL bounds the runner applies to agent requests.
func (c Config) Policy() runner.Policy {
	return runner.Policy{
		Defaults:   c.Limits.Default.Limits(),
		Max:        c.Limits.Max.Limits(),
		DefaultTTL: c.TTL.Default.Duration,
		MaxTTL:     c.TTL.Max.Duration,
	}
}

// Limits converts the configured limits to the runner's type.
func (l LimitsConfig) Limits() runner.Limits {
	return runner.Limits{Memory: int64(l.Memory), CPUs: l.CPUs, PIDs: l.PIDs}
}

// Redacted returns a copy safe to log: a set token reads "REDACTED".
func (c Config) Redacted() Config {
	if c.Token != "" {
		c.Token = "REDACTED"
	}
	return c
}
