package runner

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// AgentRequest is what a client asks for when creating an agent; zero fields take defaults.
type AgentRequest struct {
	Image   string
	Command []string
	Env     map[string]string
	Stdin   *string
	TTL     string
	Limits  LimitsRequest
	Labels  map[string]string
	// KeepAlive asks for an agent that runs no command and lives until its
	// TTL or DELETE, for exec and file transfers; Command and Stdin must be empty.
	KeepAlive bool
	// IdleTimeout is a Go duration: the agent expires (reason idle) after no
	// activity for that long; "" means the policy's default (IdleTimeoutFor).
	IdleTimeout string
	// WebhookURL receives the agent's lifecycle events; "" means the configured global one, if any.
	WebhookURL string
	// Isolation is "", IsolationRunc or IsolationGVisor; "" takes Policy.Isolation's default.
	Isolation string
	// Egress is the allow list of destinations (EgressRule text forms); nil: no network.
	Egress []string
}

// LimitsRequest holds requested limits; nil means the configured default.
type LimitsRequest struct {
	Memory *ByteSize
	CPUs   *float64
	PIDs   *int64
}

// Policy bounds what a request may ask for.
type Policy struct {
	Defaults   Limits
	Max        Limits
	DefaultTTL time.Duration
	MaxTTL     time.Duration
	// DefaultIdleTimeout is the idle timeout of an agent that asks for
	// keep-alive and names none (configs: agents.idle_timeout); 0: none.
	DefaultIdleTimeout time.Duration
	// AllowPrivateWebhooks lets webhook URLs point at loopback and private
	// addresses (configs: webhooks.allow_private).
	AllowPrivateWebhooks bool
	Isolation            IsolationPolicy
	// Egress says whether this server can give agents controlled egress; false refuses every egress list.
	Egress bool
}

// IdleTimeoutFor is the one rule that picks an agent's idle timeout: the
// requested Go duration (field idle_timeout) if any, else the policy's
// DefaultIdleTimeout for an agent that asks for keep-alive, else none (0).
// A requested timeout must be positive and at most MaxTTL.
func (p Policy) IdleTimeoutFor(requested string, keepAlive bool) (time.Duration, error) {
	if requested == "" {
		if keepAlive {
			return p.DefaultIdleTimeout, nil
		}
		return 0, nil
	}
	return ParseTTL("idle_timeout", requested, p)
}

// LabelPrefix is reserved for podrun's own container labels.
const LabelPrefix = "podrun."

// Validate checks every field and returns the agent the request describes, without ID or times.
func (req AgentRequest) Validate(p Policy) (Agent, error) {
	if err := ValidateImage(req.Image); err != nil {
		return Agent{}, err
	}
	if err := validateCommand(req.Command); err != nil {
		return Agent{}, err
	}
	if err := req.validateKeepAlive(); err != nil {
		return Agent{}, err
	}
	if err := validateEnv(req.Env); err != nil {
		return Agent{}, err
	}
	if err := validateLabels(req.Labels); err != nil {
		return Agent{}, err
	}
	if req.Stdin != nil {
		if err := validText("stdin", *req.Stdin); err != nil {
			return Agent{}, err
		}
	}
	limits, err := req.Limits.resolve(p)
	if err != nil {
		return Agent{}, err
	}
	ttl, err := ParseTTL("ttl", req.TTL, p)
	if err != nil {
		return Agent{}, err
	}
	idle, err := p.IdleTimeoutFor(req.IdleTimeout, req.KeepAlive)
	if err != nil {
		return Agent{}, err
	}
	if req.WebhookURL != "" {
		if err := ValidateWebhookURL("webhook_url", req.WebhookURL, p.AllowPrivateWebhooks); err != nil {
			return Agent{}, err
		}
	}
	iso, egress, err := p.confinement(req.Isolation, req.Egress)
	if err != nil {
		return Agent{}, err
	}
	if iso == IsolationGVisor && limits.Memory > 0 && limits.Memory < MinGVisorMemory {
		return Agent{}, invalid("limits.memory", "must be at least %s with isolation gvisor: gVisor's own kernel runs within the limit", ByteSize(MinGVisorMemory))
	}
	a := Agent{
		Image:     req.Image,
		Command:   req.Command,
		Env:       req.Env,
		Limits:    limits,
		Labels:    req.Labels,
		State:     StatePending,
		KeepAlive: req.KeepAlive,

		IdleTimeout: idle,
		WebhookURL:  req.WebhookURL,
		Isolation:   iso,
		Egress:      egress,
	}
	if req.Stdin != nil {
		a.Stdin = []byte(*req.Stdin)
	}
	a.ExpiresAt = time.Time{}.Add(ttl) // the runner rebases this on the creation time
	return a, nil
}

// confinement resolves a request's isolation and egress allow list.
func (p Policy) confinement(isolation string, egress []string) (string, []string, error) {
	iso, err := p.Isolation.resolve(isolation)
	if err != nil {
		return "", nil, err
	}
	allow, err := ParseEgress("egress.allow", egress)
	if err != nil {
		return "", nil, err
	}
	if allow != nil && !p.Egress {
		return "", nil, invalid("egress", "controlled egress is not available on this server (docs/isolation.md)")
	}
	return iso, allow, nil
}

// ParseTTL parses a Go duration for field, applying the default for "" and the policy's maximum.
func ParseTTL(field, s string, p Policy) (time.Duration, error) {
	if s == "" {
		return p.DefaultTTL, nil
	}
	if err := validText(field, s); err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalid(field, "must be a duration like \"30s\" or \"5m\"")
	}
	if d <= 0 {
		return 0, invalid(field, "must be positive")
	}
	if p.MaxTTL > 0 && d > p.MaxTTL {
		return 0, invalid(field, "must be at most %s", p.MaxTTL)
	}
	return d, nil
}

func (l LimitsRequest) resolve(p Policy) (Limits, error) {
	out := p.Defaults
	if l.Memory != nil {
		if *l.Memory <= 0 {
			return Limits{}, invalid("limits.memory", "must be positive")
		}
		if p.Max.Memory > 0 && int64(*l.Memory) > p.Max.Memory {
			return Limits{}, invalid("limits.memory", "must be at most %s", ByteSize(p.Max.Memory))
		}
		if *l.Memory < MinMemory {
			return Limits{}, invalid("limits.memory", "must be at least %s", ByteSize(MinMemory))
		}
		out.Memory = int64(*l.Memory)
	}
	if l.CPUs != nil {
		if *l.CPUs <= 0 {
			return Limits{}, invalid("limits.cpus", "must be positive")
		}
		if p.Max.CPUs > 0 && *l.CPUs > p.Max.CPUs {
			return Limits{}, invalid("limits.cpus", "must be at most %g", p.Max.CPUs)
		}
		if *l.CPUs < 0.01 {
			return Limits{}, invalid("limits.cpus", "must be at least 0.01")
		}
		out.CPUs = *l.CPUs
	}
	if l.PIDs != nil {
		if *l.PIDs <= 0 {
			return Limits{}, invalid("limits.pids", "must be positive")
		}
		if p.Max.PIDs > 0 && *l.PIDs > p.Max.PIDs {
			return Limits{}, invalid("limits.pids", "must be at most %d", p.Max.PIDs)
		}
		out.PIDs = *l.PIDs
	}
	return out, nil
}

// MinMemory is the smallest memory limit a container runtime accepts.
const MinMemory = 6 << 20

// validText refuses a string that is not valid UTF-8. JSON strings are UTF-8,
// and podrun passes text on through JSON (the shim header, the store, answers),
// where an invalid byte would silently become U+FFFD: better refused than changed.
func validText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalid(field, "must be valid UTF-8")
	}
	return nil
}

// validateCommand checks an argv: every element non-empty, valid UTF-8 and free of NUL.
func validateCommand(argv []string) error {
	for i, c := range argv {
		field := fmt.Sprintf("command[%d]", i)
		switch {
		case c == "":
			return invalid(field, "must not be empty")
		case strings.IndexByte(c, 0) >= 0:
			return invalid(field, "must not contain NUL")
		}
		if err := validText(field, c); err != nil {
			return err
		}
	}
	return nil
}

func validateEnv(env map[string]string) error {
	for k, v := range env {
		switch {
		case k == "":
			return invalid("env", "keys must not be empty")
		case !utf8.ValidString(k):
			return invalid("env", "keys must be valid UTF-8")
		case !utf8.ValidString(v):
			return invalid("env."+k, "value must be valid UTF-8")
		case strings.ContainsAny(k, "=\x00"):
			return invalid("env."+k, "key must not contain '=' or NUL")
		case strings.IndexByte(v, 0) >= 0:
			return invalid("env."+k, "value must not contain NUL")
		}
	}
	return nil
}

func validateLabels(labels map[string]string) error {
	for k, v := range labels {
		switch {
		case k == "":
			return invalid("labels", "keys must not be empty")
		case !utf8.ValidString(k):
			return invalid("labels", "keys must be valid UTF-8")
		case !utf8.ValidString(v):
			return invalid("labels."+k, "value must be valid UTF-8")
		case strings.HasPrefix(k, LabelPrefix):
			return invalid("labels."+k, "the prefix %q is reserved", LabelPrefix)
		case strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0:
			return invalid("labels."+k, "must not contain '=' in the key or NUL anywhere")
		}
	}
	return nil
}

// ExecRequest asks to run a command inside a running agent's container.
type ExecRequest struct {
	Command []string
	Env     map[string]string // set over the container's environment
	Workdir string            // absolute; "" is the container's working directory
	Stdin   string
	Timeout string
}

// DefaultExecTimeout and MaxExecTimeout bound an exec.
const (
	DefaultExecTimeout = 10 * time.Second
	MaxExecTimeout     = 10 * time.Minute
)

// Validate checks the request and returns the exec it describes.
func (req ExecRequest) Validate() (ExecSpec, error) {
	if len(req.Command) == 0 {
		return ExecSpec{}, invalid("command", "is required")
	}
	if err := validateCommand(req.Command); err != nil {
		return ExecSpec{}, err
	}
	if err := validateExecPlace(req.Env, req.Workdir); err != nil {
		return ExecSpec{}, err
	}
	if err := validText("stdin", req.Stdin); err != nil {
		return ExecSpec{}, err
	}
	timeout, err := ParseTTL("timeout", req.Timeout, Policy{DefaultTTL: DefaultExecTimeout, MaxTTL: MaxExecTimeout})
	if err != nil {
		return ExecSpec{}, err
	}
	return ExecSpec{Command: req.Command, Env: req.Env, Workdir: req.Workdir, Stdin: []byte(req.Stdin), Timeout: timeout, MaxOutput: MaxExecOutput}, nil
}

// MaxExecOutput is how much of each exec stream is returned.
const MaxExecOutput = 1 << 20
