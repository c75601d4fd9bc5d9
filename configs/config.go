// Package configs holds podrun's configuration: defaults, the TOML file, PODRUN_* environment
// variables and the flags of `podrun serve`, merged in that order and validated once.
package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// Config is everything `podrun serve` can be told.
type Config struct {
	Listen       string `toml:"listen"`
	DataDir      string `toml:"data_dir"`
	PodmanSocket string `toml:"podman_socket"`
	Token        string `toml:"token"`
	// TokenFile names a file holding the token (a systemd credential, say); Load reads it into Token.
	TokenFile             string         `toml:"token_file"`
	LogFormat             string         `toml:"log_format"`
	LogLevel              string         `toml:"log_level"`
	AllowUnenforcedLimits bool           `toml:"allow_unenforced_limits"`
	Limits                LimitsTable    `toml:"limits"`
	TTL                   TTLConfig      `toml:"ttl"`
	Sandbox               SandboxConfig  `toml:"sandbox"`
	Cleanup               CleanupConfig  `toml:"cleanup"`
	HTTP                  HTTPConfig     `toml:"http"`
	Invoke                InvokeConfig   `toml:"invoke"`
	Files                 FilesConfig    `toml:"files"`
	Agents                AgentsConfig   `toml:"agents"`
	Webhooks              WebhooksConfig `toml:"webhooks"`
	Egress                EgressConfig   `toml:"egress"`
	Monitor               MonitorConfig  `toml:"monitor"`
	// Functions are the [functions.NAME] tables of the file, by NAME.
	Functions map[string]FunctionConfig `toml:"functions"`
}

// FilesConfig bounds file transfers into agents (PUT and POST /v1/agents/{id}/files).
type FilesConfig struct {
	// MaxUpload is the largest upload, a file or a tar; larger ones get 413 and leave nothing.
	MaxUpload runner.ByteSize `toml:"max_upload"`
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
	ShmSize        runner.ByteSize `toml:"shm_size"`
	SeccompProfile string          `toml:"seccomp_profile"`
	// StateDir is where podrun installs the files Podman reads by path on its
	// host (seccomp profile, hosts file, a copy of the shim); a directory of
	// podrun's own user, on the Podman service's machine.
	StateDir    string   `toml:"state_dir"`
	NoFile      int64    `toml:"nofile"`
	NProc       int64    `toml:"nproc"`
	UserNSSize  int64    `toml:"userns_size"`
	StopTimeout Duration `toml:"stop_timeout"`
	// CallTimeout bounds each Podman call but the wait for a process to end.
	CallTimeout Duration        `toml:"call_timeout"`
	LogMaxSize  runner.ByteSize `toml:"log_max_size"`
	// PullTimeout bounds the pull of an image that is not present.
	PullTimeout Duration `toml:"pull_timeout"`
	// ShimPath locates the podrun-shim binary; empty looks for it next to podrun's own executable.
	ShimPath           string `toml:"shim_path"`
	MaxConcurrentCalls int    `toml:"max_concurrent_calls"`
	// Isolation is the isolation of an agent or function that names none: "runc" or "gvisor".
	Isolation string `toml:"isolation"`
	// GVisorSocket is the URI of the second Podman service, whose default
	// runtime is runsc (scripts/setup-gvisor.sh starts it); empty refuses
	// isolation "gvisor".
	GVisorSocket string `toml:"gvisor_socket"`
}

// EgressConfig sets up podrun's egress proxy (docs/isolation.md).
type EgressConfig struct {
	// Enabled lets agents and functions carry an egress allow list; false refuses every list (400 naming egress).
	Enabled bool `toml:"enabled"`
	// Hosts pins host names to addresses the proxy connects to instead of
	// asking DNS; a pinned name may point at a private or loopback address.
	Hosts map[string]string `toml:"hosts"`
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
	// BasicAuthUser is the user name that, with the token as password, Basic auth is accepted for
	// (faas-cli login sends Basic auth); see httpapi.Options.BasicAuthUser.
	BasicAuthUser string `toml:"basic_auth_user"`
	// PublicFunctions leaves /function/NAME and /async-function/NAME open without the token, as
	// an OpenFaaS gateway does (faas-cli invoke sends no credentials); see httpapi.Options.PublicFunctions.
	PublicFunctions bool `toml:"public_functions"`
	// EventBuffer is how many events may wait for one client of the event stream, and
	// EventSlowClient how long a full buffer waits before that client is cut off.
	EventBuffer     int      `toml:"event_buffer"`
	EventSlowClient Duration `toml:"event_slow_client"`
}

// InvokeConfig bounds function invocations: how many run and wait, for how long, and what they may return.
type InvokeConfig struct {
	MaxConcurrency     int             `toml:"max_concurrency"`
	DefaultConcurrency int             `toml:"default_concurrency"`
	QueueLength        int             `toml:"queue_length"`
	QueueWait          Duration        `toml:"queue_wait"`
	DefaultTimeout     Duration        `toml:"default_timeout"`
	MaxTimeout         Duration        `toml:"max_timeout"`
	MaxWarm            int             `toml:"max_warm"`
	WarmMaxIdle        Duration        `toml:"warm_max_idle"`
	DefaultMaxOutput   runner.ByteSize `toml:"default_max_output"`
	MaxOutput          runner.ByteSize `toml:"max_output"`
	MaxBody            runner.ByteSize `toml:"max_body"`
	CallbackAttempts   int             `toml:"callback_attempts"`
	CallbackBackoff    Duration        `toml:"callback_backoff"`
	CallbackTimeout    Duration        `toml:"callback_timeout"`
}

// AgentsConfig holds defaults of agents made by POST /v1/agents.
type AgentsConfig struct {
	// IdleTimeout is the idle timeout of an agent that asks for keep-alive
	// and names none (runner.Policy.IdleTimeoutFor); "0s": none.
	IdleTimeout Duration `toml:"idle_timeout"`
}

// WebhooksConfig says where and how agents' lifecycle events are sent.
type WebhooksConfig struct {
	// URL is the webhook of every agent that names none; "" means none.
	URL string `toml:"url"`
	// Secret signs every event (X-Podrun-Signature); "" sends them unsigned.
	Secret string `toml:"secret"`
	// WarnBefore is how long before an agent's TTL ends its "expiring" event is sent; "0s": none.
	WarnBefore Duration `toml:"warn_before"`
	// AllowPrivate lets webhook URLs point at loopback and private addresses.
	AllowPrivate bool `toml:"allow_private"`
}

// MonitorConfig says how often the resource monitor samples running agents
// and where it raises alerts: each threshold is a fraction of the limit
// (0 turns that alert off), and an alert is resolved once its value falls
// below the threshold minus hysteresis.
type MonitorConfig struct {
	Interval     Duration `toml:"interval"`
	Timeout      Duration `toml:"timeout"`
	Memory       float64  `toml:"memory"`
	PIDs         float64  `toml:"pids"`
	CPUThrottled float64  `toml:"cpu_throttled"`
	Tmp          float64  `toml:"tmp"`
	Hysteresis   float64  `toml:"hysteresis"`
}

// Thresholds returns the alert thresholds for the runner.
func (m MonitorConfig) Thresholds() runner.Thresholds {
	return runner.Thresholds{Memory: m.Memory, PIDs: m.PIDs, CPUThrottled: m.CPUThrottled, Tmp: m.Tmp, Hysteresis: m.Hysteresis}
}

// FunctionConfig declares one function; every key but image is optional, and a missing one takes
// the default from [invoke] or [limits.default].
type FunctionConfig struct {
	Image          string            `toml:"image"`
	Command        []string          `toml:"command"`
	Env            map[string]string `toml:"env"`
	Limits         FunctionLimits    `toml:"limits"`
	Timeout        *Duration         `toml:"timeout"`
	Warm           *int              `toml:"warm"`
	MaxConcurrency *int              `toml:"max_concurrency"`
	MaxOutput      *runner.ByteSize  `toml:"max_output"`
	// Isolation is "runc" or "gvisor"; empty takes sandbox.isolation.
	Isolation string `toml:"isolation"`
	// Egress is the allow list of destinations (docs/isolation.md); empty: no network.
	Egress []string `toml:"egress"`
}

// FunctionLimits holds a function's resource limits; a nil one takes limits.default.
type FunctionLimits struct {
	Memory *runner.ByteSize `toml:"memory"`
	CPUs   *float64         `toml:"cpus"`
	PIDs   *int64           `toml:"pids"`
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

// defaults builds the built-in configuration; only data_dir, podman_socket and sandbox.state_dir depend on who runs podrun.
func defaults(getenv func(string) string, root bool) Config {
	return Config{
		Listen:       api.DefaultAddr,
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
			ShmSize:     16 << 20,
			StateDir:    defaultStateDir(getenv, root),
			NoFile:      1024,
			NProc:       1024,
			UserNSSize:  65536,
			StopTimeout: Duration{10 * time.Second},
			CallTimeout: Duration{2 * time.Minute},
			LogMaxSize:  16 << 20,
			PullTimeout: minutes(2),

			MaxConcurrentCalls: 16,
			Isolation:          runner.IsolationRunc,
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
			BasicAuthUser:     "admin",
			EventBuffer:       256,
			EventSlowClient:   Duration{10 * time.Second},
		},
		Egress: EgressConfig{Enabled: true},
		Invoke: InvokeConfig{
			MaxConcurrency:     16,
			DefaultConcurrency: 4,
			QueueLength:        64,
			QueueWait:          Duration{10 * time.Second},
			DefaultTimeout:     Duration{30 * time.Second},
			MaxTimeout:         minutes(15),
			MaxWarm:            8,
			WarmMaxIdle:        minutes(10),
			DefaultMaxOutput:   6 << 20,
			MaxOutput:          64 << 20,
			MaxBody:            16 << 20,
			CallbackAttempts:   5,
			CallbackBackoff:    Duration{time.Second},
			CallbackTimeout:    Duration{10 * time.Second},
		},
		Files:    FilesConfig{MaxUpload: 256 << 20},
		Agents:   AgentsConfig{IdleTimeout: minutes(10)},
		Webhooks: WebhooksConfig{WarnBefore: Duration{30 * time.Second}},
		Monitor: MonitorConfig{
			Interval:     Duration{30 * time.Second},
			Timeout:      Duration{10 * time.Second},
			Memory:       0.9,
			PIDs:         0.9,
			CPUThrottled: 0.5,
			Tmp:          0.9,
			Hysteresis:   0.05,
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

// defaultStateDir is /run/podrun for root, else $XDG_RUNTIME_DIR/podrun, else
// a directory named for the user in the temporary directory: runtime files,
// gone at reboot, that podrun installs again at start.
func defaultStateDir(getenv func(string) string, root bool) string {
	if root {
		return "/run/podrun"
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "podrun")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("podrun-%d", os.Geteuid()))
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

		DefaultIdleTimeout:   c.Agents.IdleTimeout.Duration,
		AllowPrivateWebhooks: c.Webhooks.AllowPrivate,
		Isolation:            c.IsolationPolicy(),
		Egress:               c.Egress.Enabled,
	}
}

// IsolationPolicy says which isolations requests may name: gvisor only with sandbox.gvisor_socket.
func (c Config) IsolationPolicy() runner.IsolationPolicy {
	p := runner.IsolationPolicy{Default: c.Sandbox.Isolation, Available: []string{runner.IsolationRunc}}
	if c.Sandbox.GVisorSocket != "" {
		p.Available = append(p.Available, runner.IsolationGVisor)
	} else {
		p.Unavailable = map[string]string{runner.IsolationGVisor: "sandbox.gvisor_socket is not set (docs/isolation.md)"}
	}
	return p
}

// FunctionPolicy returns the bounds the runner applies to function requests; invoke.max_concurrency
// is both a function's largest max_concurrency and the cap on all invocations together.
func (c Config) FunctionPolicy() runner.FunctionPolicy {
	return runner.FunctionPolicy{
		DefaultTimeout:     c.Invoke.DefaultTimeout.Duration,
		MaxTimeout:         c.Invoke.MaxTimeout.Duration,
		MaxWarm:            c.Invoke.MaxWarm,
		DefaultConcurrency: c.Invoke.DefaultConcurrency,
		MaxConcurrency:     c.Invoke.MaxConcurrency,
		DefaultMaxOutput:   int64(c.Invoke.DefaultMaxOutput),
		MaxMaxOutput:       int64(c.Invoke.MaxOutput),
	}
}

// Request converts the function's keys to a runner request; keys left out stay nil or empty, so
// the runner's defaults apply.
func (f FunctionConfig) Request() runner.FunctionRequest {
	req := runner.FunctionRequest{
		Image:          f.Image,
		Command:        f.Command,
		Env:            f.Env,
		Limits:         runner.LimitsRequest{Memory: f.Limits.Memory, CPUs: f.Limits.CPUs, PIDs: f.Limits.PIDs},
		Warm:           f.Warm,
		MaxConcurrency: f.MaxConcurrency,
		MaxOutput:      f.MaxOutput,
		Isolation:      f.Isolation,
		Egress:         f.Egress,
	}
	if f.Timeout != nil {
		req.Timeout = f.Timeout.String() // an explicit "0s" stays explicit, so the runner refuses it
	}
	return req
}

// Limits converts the configured limits to the runner's type.
func (l LimitsConfig) Limits() runner.Limits {
	return runner.Limits{Memory: int64(l.Memory), CPUs: l.CPUs, PIDs: l.PIDs}
}

// Redacted returns a copy safe to log: a set token and the values of functions' env read "REDACTED",
// since env is where a function's credentials go.
func (c Config) Redacted() Config {
	if c.Token != "" {
		c.Token = "REDACTED"
	}
	if c.Functions != nil {
		functions := make(map[string]FunctionConfig, len(c.Functions))
		for name, f := range c.Functions {
			if f.Env != nil {
				env := make(map[string]string, len(f.Env))
				for k := range f.Env {
					env[k] = "REDACTED"
				}
				f.Env = env
			}
			functions[name] = f
		}
		c.Functions = functions
	}
	return c
}
