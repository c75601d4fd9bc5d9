package runner

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Function is a named, stored recipe for invocations: each invocation runs it in a fresh container.
type Function struct {
	Name           string
	Image          string
	Command        []string
	Env            map[string]string
	Limits         Limits
	Timeout        time.Duration
	Warm           int      // containers kept prepared
	MaxConcurrency int      // invocations running at once
	MaxOutput      int64    // bytes of stdout an invocation may write
	Isolation      string   // IsolationRunc or IsolationGVisor
	Egress         []string // canonical egress allow list; nil: no network
	// Labels and Annotations are metadata for the function's callers and
	// tools (OpenFaaS keeps its settings there); podrun stores and shows them
	// and acts on none.
	Labels      map[string]string
	Annotations map[string]string
	// Secrets names secrets of the sandbox's secret store, each mounted
	// read-only at SecretDir/NAME in every container of the function.
	Secrets []string
	// EnvProcess is the command as the one string the OpenFaaS API gave
	// (Command is its split); "" when the command was given as a list.
	EnvProcess string
	// Requests are resources the caller asked to have reserved (OpenFaaS
	// requests); podrun records them and enforces only Limits.
	Requests  Limits
	CreatedAt time.Time
	UpdatedAt time.Time
}

// FunctionRequest creates or replaces a function; zero fields take defaults.
type FunctionRequest struct {
	Image          string
	Command        []string
	Env            map[string]string
	Limits         LimitsRequest
	Timeout        string
	Warm           *int
	MaxConcurrency *int
	MaxOutput      *ByteSize
	Labels         map[string]string
	Annotations    map[string]string
	Secrets        []string
	Isolation      string   // "" takes the policy's default
	Egress         []string // EgressRule text forms
	// EnvProcess, when set, is the command as one string, split on spaces
	// as OpenFaaS's classic watchdog splits fprocess; Command must then be empty.
	EnvProcess string
	// Requests are recorded, not enforced; nil fields are left unset (0).
	Requests LimitsRequest
}

// FunctionPolicy bounds what a function may ask for.
type FunctionPolicy struct {
	DefaultTimeout     time.Duration // 30s
	MaxTimeout         time.Duration
	MaxWarm            int
	DefaultConcurrency int
	MaxConcurrency     int   // also the global cap on concurrent invocations
	DefaultMaxOutput   int64 // 6Mi
	MaxMaxOutput       int64
}

var functionName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidFunctionName reports whether name is a DNS-label-like function name.
func ValidFunctionName(name string) bool { return functionName.MatchString(name) }

// Validate checks the request and returns the function it describes, without times.
func (req FunctionRequest) Validate(name string, p Policy, fp FunctionPolicy) (Function, error) {
	if !ValidFunctionName(name) {
		return Function{}, invalid("name", "must match [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
	}
	command := req.Command
	if req.EnvProcess != "" {
		if len(command) > 0 {
			return Function{}, invalid("envProcess", "cannot be given with command")
		}
		if command = SplitEnvProcess(req.EnvProcess); len(command) == 0 {
			return Function{}, invalid("envProcess", "must name a program")
		}
	}
	agent, err := AgentRequest{Image: req.Image, Command: command, Env: req.Env, Limits: req.Limits,
		Isolation: req.Isolation, Egress: req.Egress}.Validate(p)
	if err != nil {
		return Function{}, err
	}
	f := Function{Name: name, Image: agent.Image, Command: agent.Command, Env: agent.Env, Limits: agent.Limits,
		EnvProcess: req.EnvProcess, Isolation: agent.Isolation, Egress: agent.Egress}
	if err := f.setMetadata(req); err != nil {
		return Function{}, err
	}
	if f.Requests, err = req.Requests.resolve(Policy{Max: p.Max}); err != nil {
		return Function{}, renameField(err, "limits.", "requests.")
	}
	if f.Timeout, err = ParseTTL("timeout", req.Timeout, Policy{DefaultTTL: fp.DefaultTimeout, MaxTTL: fp.MaxTimeout}); err != nil {
		return Function{}, err
	}
	if f.Warm, err = intField("warm", req.Warm, 0, 0, fp.MaxWarm); err != nil {
		return Function{}, err
	}
	if f.MaxConcurrency, err = intField("max_concurrency", req.MaxConcurrency, fp.DefaultConcurrency, 1, fp.MaxConcurrency); err != nil {
		return Function{}, err
	}
	f.MaxOutput = fp.DefaultMaxOutput
	if req.MaxOutput != nil {
		if *req.MaxOutput <= 0 || int64(*req.MaxOutput) > fp.MaxMaxOutput {
			return Function{}, invalid("max_output", "must be between 1 and %s", ByteSize(fp.MaxMaxOutput))
		}
		f.MaxOutput = int64(*req.MaxOutput)
	}
	return f, nil
}

// setMetadata checks and copies the request's labels, annotations and secrets.
func (f *Function) setMetadata(req FunctionRequest) error {
	for field, m := range map[string]map[string]string{"labels": req.Labels, "annotations": req.Annotations} {
		for k, v := range m {
			if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) || strings.IndexByte(k+v, 0) >= 0 {
				return invalid(field, "keys must be non-empty and keys and values valid UTF-8 without NUL")
			}
		}
	}
	f.Labels, f.Annotations = req.Labels, req.Annotations
	seen := map[string]bool{}
	for i, name := range req.Secrets {
		if !ValidSecretName(name) {
			return invalid(fmt.Sprintf("secrets[%d]", i), "must match %s", secretNamePattern)
		}
		if seen[name] {
			return invalid(fmt.Sprintf("secrets[%d]", i), "%q is named twice", name)
		}
		seen[name] = true
	}
	f.Secrets = req.Secrets
	return nil
}

// SplitEnvProcess splits an OpenFaaS fprocess string into a command as the
// classic watchdog does: on single spaces, with no quoting; unlike the
// watchdog it drops the empty words that repeated spaces would make.
func SplitEnvProcess(s string) []string {
	var argv []string
	for _, w := range strings.Split(s, " ") {
		if w != "" {
			argv = append(argv, w)
		}
	}
	return argv
}

// renameField gives a FieldError from a shared validator the field name of its caller.
func renameField(err error, from, to string) error {
	var fe *FieldError
	if errors.As(err, &fe) && strings.HasPrefix(fe.Field, from) {
		return &FieldError{Field: to + strings.TrimPrefix(fe.Field, from), Message: fe.Message}
	}
	return err
}

func intField(field string, v *int, def, lo, hi int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < lo || *v > hi {
		return 0, invalid(field, "must be between %d and %d", lo, hi)
	}
	return *v, nil
}

// Result is what an asynchronous invocation produced, kept for GET /v1/agents/:id/result.
type Result struct {
	AgentID   string
	ExitCode  int
	Output    []byte
	Truncated bool
	CreatedAt time.Time
	// Callback delivery, when the invocation named a callback URL.
	CallbackURL      string
	CallbackStatus   string // CallbackPending, CallbackDelivered or CallbackFailed
	CallbackAttempts int
}

// Callback delivery states.
const (
	CallbackPending   = "pending"
	CallbackDelivered = "delivered"
	CallbackFailed    = "failed"
)

// Reasons specific to invocations.
const (
	ReasonOutputLimit = "output_limit"
	ReasonClientGone  = "client_gone"
)
