package api

// Function is a named recipe for invocations, each run in a fresh (or warm) container: the
// answer of PUT and GET /v1/functions/{name}.
type Function struct {
	// Name is the function's name: lowercase letters, digits and inner hyphens, at most 63.
	Name string `json:"name"`
	// Image is the container image reference.
	Image string `json:"image"`
	// Command is the program and its arguments; empty means the image's own.
	Command []string `json:"command"`
	// Env holds extra environment variables.
	Env map[string]string `json:"env"`
	// Limits are the resources each invocation's container may use.
	Limits Limits `json:"limits"`
	// Timeout bounds one invocation, a Go duration string like "30s".
	Timeout string `json:"timeout"`
	// Warm is how many containers are kept prepared.
	Warm int `json:"warm"`
	// MaxConcurrency is how many invocations of it may run at once.
	MaxConcurrency int `json:"max_concurrency"`
	// MaxOutput is how many bytes of stdout an invocation may write.
	MaxOutput int64 `json:"max_output"`
	// Secrets names secrets (see /system/secrets), each mounted read-only at
	// /var/openfaas/secrets/NAME; optional, absent when none.
	Secrets []string `json:"secrets,omitempty"`
	// Labels and Annotations are metadata podrun stores and shows but acts on none of (OpenFaaS
	// keeps its settings there); optional, absent when empty.
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Isolation is IsolationRunc or IsolationGVisor.
	Isolation string `json:"isolation"`
	// Egress is what each invocation may connect to; optional, absent for a function without network.
	Egress *Egress `json:"egress,omitempty"`
	// CreatedAt and UpdatedAt are when it was first stored and last replaced.
	CreatedAt Time `json:"created_at"`
	UpdatedAt Time `json:"updated_at"`
}

// FunctionRequest is the body of PUT /v1/functions/{name}, which creates (201) or replaces (200)
// the function. Only Image is required; every other field is optional and takes the server's
// default when left out. A function.json file holds exactly this object.
type FunctionRequest struct {
	// Image is the container image reference.
	Image string `json:"image"`
	// Command is the program and its arguments; empty runs the image's own.
	Command []string `json:"command,omitempty"`
	// Env holds extra environment variables.
	Env map[string]string `json:"env,omitempty"`
	// Limits asks for resources per invocation.
	Limits LimitsRequest `json:"limits,omitzero"`
	// Timeout bounds one invocation, a Go duration like "10s".
	Timeout string `json:"timeout,omitempty"`
	// Warm is how many containers to keep prepared; 0 turns the warm pool off.
	Warm *int `json:"warm,omitempty"`
	// MaxConcurrency is how many invocations of it may run at once.
	MaxConcurrency *int `json:"max_concurrency,omitempty"`
	// MaxOutput caps the bytes of stdout an invocation may write.
	MaxOutput Size `json:"max_output,omitempty"`
	// Secrets names secrets to mount at /var/openfaas/secrets/NAME; each must exist.
	Secrets []string `json:"secrets,omitempty"`
	// Labels and Annotations are stored and shown; podrun acts on none of them.
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Isolation is IsolationRunc or IsolationGVisor; optional, the server's sandbox.isolation by default.
	Isolation string `json:"isolation,omitempty"`
	// Egress lists the destinations each invocation may connect to; optional, no network by default.
	Egress *Egress `json:"egress,omitempty"`
}

// FunctionList is the answer of GET /v1/functions, by name.
type FunctionList struct {
	// Functions is [] when none is stored.
	Functions []Function `json:"functions"`
}

// Result is how an asynchronous invocation ended: GET /v1/agents/{id}/result. It is not JSON on
// the wire: the body is the output, and the rest comes in the X-Podrun-Exit-Code,
// X-Podrun-Truncated and X-Podrun-Callback-Status headers. The server answers 409 conflict while
// the invocation still runs.
type Result struct {
	// Output is what the process wrote to stdout, cut at the function's max_output.
	Output []byte
	// ExitCode is the process's exit status.
	ExitCode int
	// Truncated says whether Output was cut.
	Truncated bool
	// CallbackStatus is CallbackPending, CallbackDelivered or CallbackFailed; "" without a callback URL.
	CallbackStatus string
}

// Callback delivery states (Result.CallbackStatus, the X-Podrun-Callback-Status header).
const (
	CallbackPending   = "pending"
	CallbackDelivered = "delivered"
	CallbackFailed    = "failed"
)
