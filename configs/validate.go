package configs

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podrun/podrun/runner"
)

// Upper bounds that catch typos (a missing unit, an extra zero) rather than encode a policy.
const (
	maxLogTail   = 64 << 20 // kept per stream and agent in SQLite
	maxNoFile    = 1 << 20  // Linux's default fs.nr_open
	maxUserNS    = 1 << 31  // the size of the "containers" subordinate ID range
	minSubIDs    = 1024     // fewer IDs than this cannot hold an image's usual users
	minCPUs      = 0.01     // the smallest CPU quota the runner accepts in a request
	minTmpfsSize = 4 << 10  // one page
)

// Networks are the values sandbox.network accepts; "host" is left out, as it would share the host's network with every agent.
var Networks = []string{"none", "slirp4netns", "bridge"}

var runtimeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Validate reports every problem at once, each a *Problem named by its config key.
func (c Config) Validate() error {
	v := &validator{}
	v.listen(c.Listen, c.Token)
	v.check(c.DataDir != "", "data_dir", "must be set (no HOME or XDG_DATA_HOME to derive it from)")
	v.socket(c.PodmanSocket)
	v.check(!strings.ContainsFunc(c.Token, isSpaceOrControl), "token", "must not contain spaces or control characters")
	v.oneOf("log_format", c.LogFormat, "text", "json")
	v.oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error")
	v.limits("limits.default", c.Limits.Default)
	v.limits("limits.max", c.Limits.Max)
	notAbove(v, "memory", c.Limits.Default.Memory, c.Limits.Max.Memory)
	notAbove(v, "cpus", c.Limits.Default.CPUs, c.Limits.Max.CPUs)
	notAbove(v, "pids", c.Limits.Default.PIDs, c.Limits.Max.PIDs)
	v.positive("ttl.default", c.TTL.Default)
	v.positive("ttl.max", c.TTL.Max)
	v.check(c.TTL.Default.Duration <= c.TTL.Max.Duration, "ttl.default",
		fmt.Sprintf("(%s) exceeds ttl.max (%s)", c.TTL.Default, c.TTL.Max))
	v.sandbox(c.Sandbox)
	v.cleanup(c.Cleanup)
	v.egress(c.Egress)
	v.http(c.HTTP)
	v.invoke(c.Invoke)
	v.check(c.Files.MaxUpload > 0, "files.max_upload", fmt.Sprintf("(%s) must be positive", c.Files.MaxUpload))
	v.nonNegative("agents.idle_timeout", c.Agents.IdleTimeout)
	v.check(c.Agents.IdleTimeout.Duration <= c.TTL.Max.Duration, "agents.idle_timeout",
		fmt.Sprintf("(%s) exceeds ttl.max (%s)", c.Agents.IdleTimeout, c.TTL.Max))
	v.webhooks(c.Webhooks)
	v.monitor(c.Monitor)
	v.functions(c)
	return errors.Join(v.problems...)
}

type validator struct{ problems []error } // each a *Problem

func (v *validator) check(ok bool, key, msg string) {
	if !ok {
		v.add(key, key+" "+msg)
	}
}

func (v *validator) add(key, text string) {
	v.problems = append(v.problems, &Problem{Key: key, Text: text})
}

func (v *validator) oneOf(key, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	v.check(false, key, fmt.Sprintf("(%q) must be one of %s", got, strings.Join(allowed, ", ")))
}

func (v *validator) positive(key string, d Duration) {
	v.check(d.Duration > 0, key, fmt.Sprintf("(%s) must be positive", d))
}

func (v *validator) nonNegative(key string, d Duration) {
	v.check(d.Duration >= 0, key, fmt.Sprintf("(%s) must not be negative", d))
}

func (v *validator) listen(addr, token string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.check(false, "listen", fmt.Sprintf("(%q) must be host:port, like 127.0.0.1:8080", addr))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.check(false, "listen", fmt.Sprintf("(%q) has an invalid port", addr))
	}
	// Anyone who reaches the API can run code in containers: off loopback, demand a token.
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	v.check(loopback || token != "", "token",
		fmt.Sprintf("must be set when listen (%q) is not a loopback address", addr))
}

func (v *validator) socket(uri string) {
	if uri == "" {
		v.check(false, "podman_socket", "must be set (no CONTAINER_HOST or XDG_RUNTIME_DIR to derive it from)")
		return
	}
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		v.check(false, "podman_socket", fmt.Sprintf("(%q) is not a URI: %v", uri, err))
	case u.Scheme == "unix":
		v.check(u.Path != "" && filepath.IsAbs(u.Path), "podman_socket",
			fmt.Sprintf("(%q) must name an absolute socket path, like unix:///run/podman/podman.sock", uri))
	case u.Scheme == "tcp" || u.Scheme == "ssh":
		v.check(u.Host != "", "podman_socket", fmt.Sprintf("(%q) must name a host", uri))
	default:
		v.check(false, "podman_socket", fmt.Sprintf("(%q) must start with unix://, tcp:// or ssh://", uri))
	}
}

func (v *validator) limits(key string, l LimitsConfig) {
	v.check(l.Memory >= runner.MinMemory, key+".memory",
		fmt.Sprintf("(%s) must be at least %s", l.Memory, runner.ByteSize(runner.MinMemory)))
	v.check(l.CPUs >= minCPUs, key+".cpus", fmt.Sprintf("(%g) must be at least %g", l.CPUs, minCPUs))
	v.check(l.PIDs > 0, key+".pids", fmt.Sprintf("(%d) must be positive", l.PIDs))
}

// notAbove checks that a default limit fits under its maximum.
func notAbove[T runner.ByteSize | float64 | int64](v *validator, name string, def, limit T) {
	if def > limit {
		v.add("limits.default."+name, fmt.Sprintf("limits.default.%s (%v) exceeds limits.max.%s (%v)", name, def, name, limit))
	}
}

func (v *validator) sandbox(s SandboxConfig) {
	v.check(s.Runtime == "" || runtimeName.MatchString(s.Runtime) || filepath.IsAbs(s.Runtime), "sandbox.runtime",
		fmt.Sprintf("(%q) must be empty, a runtime name like runc, or an absolute path", s.Runtime))
	if s.Network == "host" {
		v.check(false, "sandbox.network", `("host") is not allowed: it would share the host's network with every agent`)
	} else {
		v.oneOf("sandbox.network", s.Network, Networks...)
	}
	v.check(s.TmpfsSize >= minTmpfsSize, "sandbox.tmpfs_size",
		fmt.Sprintf("(%s) must be at least %s", s.TmpfsSize, runner.ByteSize(minTmpfsSize)))
	v.check(s.ShmSize >= minTmpfsSize, "sandbox.shm_size",
		fmt.Sprintf("(%s) must be at least %s", s.ShmSize, runner.ByteSize(minTmpfsSize)))
	switch {
	case s.SeccompProfile == "unconfined":
		v.check(false, "sandbox.seccomp_profile", `("unconfined") is not allowed: agents always run under seccomp`)
	case s.SeccompProfile != "" && !filepath.IsAbs(s.SeccompProfile):
		v.check(false, "sandbox.seccomp_profile", fmt.Sprintf("(%q) must be empty (podrun's own profile) or an absolute path", s.SeccompProfile))
	}
	v.check(filepath.IsAbs(s.StateDir), "sandbox.state_dir", fmt.Sprintf("(%q) must be an absolute path", s.StateDir))
	v.check(s.NoFile > 0 && s.NoFile <= maxNoFile, "sandbox.nofile", fmt.Sprintf("(%d) must be between 1 and %d", s.NoFile, maxNoFile))
	v.check(s.NProc > 0, "sandbox.nproc", fmt.Sprintf("(%d) must be positive", s.NProc))
	v.check(s.UserNSSize >= minSubIDs && s.UserNSSize <= maxUserNS, "sandbox.userns_size",
		fmt.Sprintf("(%d) must be between %d and %d", s.UserNSSize, minSubIDs, int64(maxUserNS)))
	v.nonNegative("sandbox.stop_timeout", s.StopTimeout)
	v.check(s.StopTimeout.Duration%time.Second == 0, "sandbox.stop_timeout",
		fmt.Sprintf("(%s) must be whole seconds (Podman counts in seconds)", s.StopTimeout))
	v.positive("sandbox.call_timeout", s.CallTimeout)
	v.check(s.LogMaxSize > 0, "sandbox.log_max_size", fmt.Sprintf("(%s) must be positive", s.LogMaxSize))
	v.positive("sandbox.pull_timeout", s.PullTimeout)
	v.check(s.ShimPath == "" || filepath.IsAbs(s.ShimPath), "sandbox.shim_path",
		fmt.Sprintf("(%q) must be empty (next to podrun) or an absolute path", s.ShimPath))
	v.check(s.MaxConcurrentCalls > 0, "sandbox.max_concurrent_calls", fmt.Sprintf("(%d) must be positive", s.MaxConcurrentCalls))
	v.oneOf("sandbox.isolation", s.Isolation, runner.Isolations...)
	v.check(s.GVisorSocket == "" || strings.HasPrefix(s.GVisorSocket, "unix:///"), "sandbox.gvisor_socket",
		fmt.Sprintf("(%q) must be empty or unix:///path/to/podman.sock", s.GVisorSocket))
	v.check(s.Isolation != runner.IsolationGVisor || s.GVisorSocket != "", "sandbox.isolation",
		`("gvisor") needs sandbox.gvisor_socket, the Podman service that runs runsc (docs/isolation.md)`)
}

func (v *validator) egress(e EgressConfig) {
	for name, addr := range e.Hosts {
		_, err := netip.ParseAddr(addr)
		v.check(err == nil && name != "", "egress.hosts", fmt.Sprintf("(%q = %q) must map a host name to an IP address", name, addr))
	}
}

func (v *validator) cleanup(c CleanupConfig) {
	v.nonNegative("cleanup.sweep_interval", c.SweepInterval)
	v.nonNegative("cleanup.succeeded_grace", c.SucceededGrace)
	v.nonNegative("cleanup.failed_grace", c.FailedGrace)
	v.nonNegative("cleanup.orphan_grace", c.OrphanGrace)
	v.positive("cleanup.retention", c.Retention)
	v.check(c.LogTail > 0 && c.LogTail <= maxLogTail, "cleanup.log_tail",
		fmt.Sprintf("(%s) must be between 1 and %s", c.LogTail, runner.ByteSize(maxLogTail)))
}

func (v *validator) monitor(m MonitorConfig) {
	v.nonNegative("monitor.interval", m.Interval)
	v.positive("monitor.timeout", m.Timeout)
	for _, f := range []struct {
		key string
		v   float64
	}{{"monitor.memory", m.Memory}, {"monitor.pids", m.PIDs}, {"monitor.cpu_throttled", m.CPUThrottled}, {"monitor.tmp", m.Tmp}} {
		v.check(f.v >= 0 && f.v <= 1, f.key, fmt.Sprintf("(%g) must be a fraction between 0 (off) and 1", f.v))
	}
	v.check(m.Hysteresis >= 0 && m.Hysteresis < 1, "monitor.hysteresis", fmt.Sprintf("(%g) must be at least 0 and below 1", m.Hysteresis))
}

func (v *validator) http(h HTTPConfig) {
	v.check(h.MaxBody > 0, "http.max_body", fmt.Sprintf("(%s) must be positive", h.MaxBody))
	v.positive("http.read_header_timeout", h.ReadHeaderTimeout)
	v.nonNegative("http.read_timeout", h.ReadTimeout)
	v.nonNegative("http.write_timeout", h.WriteTimeout)
	v.nonNegative("http.idle_timeout", h.IdleTimeout)
	v.check(h.BasicAuthUser != "" && !strings.ContainsFunc(h.BasicAuthUser, isSpaceOrControl) && !strings.Contains(h.BasicAuthUser, ":"),
		"http.basic_auth_user", "must be set, without spaces, control characters or ':'")
	v.check(h.EventBuffer > 0, "http.event_buffer", fmt.Sprintf("(%d) must be positive", h.EventBuffer))
	v.positive("http.event_slow_client", h.EventSlowClient)
}

func (v *validator) invoke(i InvokeConfig) {
	v.check(i.MaxConcurrency > 0, "invoke.max_concurrency", fmt.Sprintf("(%d) must be positive", i.MaxConcurrency))
	v.check(i.DefaultConcurrency > 0 && i.DefaultConcurrency <= i.MaxConcurrency, "invoke.default_concurrency",
		fmt.Sprintf("(%d) must be between 1 and invoke.max_concurrency (%d)", i.DefaultConcurrency, i.MaxConcurrency))
	v.check(i.QueueLength >= 0, "invoke.queue_length", fmt.Sprintf("(%d) must not be negative", i.QueueLength))
	v.positive("invoke.queue_wait", i.QueueWait)
	v.positive("invoke.default_timeout", i.DefaultTimeout)
	v.positive("invoke.max_timeout", i.MaxTimeout)
	v.check(i.DefaultTimeout.Duration <= i.MaxTimeout.Duration, "invoke.default_timeout",
		fmt.Sprintf("(%s) exceeds invoke.max_timeout (%s)", i.DefaultTimeout, i.MaxTimeout))
	v.check(i.MaxWarm >= 0, "invoke.max_warm", fmt.Sprintf("(%d) must not be negative", i.MaxWarm))
	v.positive("invoke.warm_max_idle", i.WarmMaxIdle)
	v.check(i.DefaultMaxOutput > 0, "invoke.default_max_output", fmt.Sprintf("(%s) must be positive", i.DefaultMaxOutput))
	v.check(i.DefaultMaxOutput <= i.MaxOutput, "invoke.default_max_output",
		fmt.Sprintf("(%s) exceeds invoke.max_output (%s)", i.DefaultMaxOutput, i.MaxOutput))
	v.check(i.MaxBody > 0, "invoke.max_body", fmt.Sprintf("(%s) must be positive", i.MaxBody))
	v.check(i.CallbackAttempts > 0, "invoke.callback_attempts", fmt.Sprintf("(%d) must be positive", i.CallbackAttempts))
	v.positive("invoke.callback_timeout", i.CallbackTimeout)
	v.nonNegative("invoke.callback_backoff", i.CallbackBackoff)
}

// functions checks each declared function as the API would check its request, in name order.
func (v *validator) webhooks(w WebhooksConfig) {
	if w.URL != "" {
		if err := runner.ValidateWebhookURL("webhooks.url", w.URL, w.AllowPrivate); err != nil {
			var fe *runner.FieldError
			if errors.As(err, &fe) {
				v.add("webhooks.url", "webhooks.url "+fe.Message)
			} else {
				v.add("webhooks.url", "webhooks.url "+err.Error())
			}
		}
	}
	v.nonNegative("webhooks.warn_before", w.WarnBefore)
}

func (v *validator) functions(c Config) {
	for _, name := range slices.Sorted(maps.Keys(c.Functions)) {
		key := "functions." + name
		if !runner.ValidFunctionName(name) {
			v.add(key, key+": the name must be lowercase letters, digits and inner hyphens, "+
				"at most 63 characters, like \"echo\" or \"resize-image\"")
			continue
		}
		_, err := c.Functions[name].Request().Validate(name, c.Policy(), c.FunctionPolicy())
		var fe *runner.FieldError
		switch {
		case errors.As(err, &fe):
			v.add(key+"."+fe.Field, fmt.Sprintf("%s.%s: %s", key, fe.Field, fe.Message))
		case err != nil:
			v.add(key, fmt.Sprintf("%s: %v", key, err))
		}
	}
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
