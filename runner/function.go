package runner

import (
	"regexp"
	"time"
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
	CreatedAt      time.Time
	UpdatedAt      time.Time
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
	Isolation      string   // "" takes the policy's default
	Egress         []string // EgressRule text forms
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
	agent, err := AgentRequest{Image: req.Image, Command: req.Command, Env: req.Env, Limits: req.Limits,
		Isolation: req.Isolation, Egress: req.Egress}.Validate(p)
	if err != nil {
		return Function{}, err
	}
	f := Function{Name: name, Image: agent.Image, Command: agent.Command, Env: agent.Env, Limits: agent.Limits,
		Isolation: agent.Isolation, Egress: agent.Egress}
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
