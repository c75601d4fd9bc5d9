package api

import "time"

// The OpenFaaS provider API (/system/...) speaks OpenFaaS's own JSON, camelCase and all, so
// faas-cli and OpenFaaS tooling read and write it unchanged; these types follow the shapes of
// OpenFaaS's faas-provider (types.FunctionDeployment, FunctionStatus, Secret, ...). Unlike the
// rest of package api, their empty fields are left out, as OpenFaaS leaves them out.

// OpenFaaSNamespace is the one namespace podrun's functions live in. A function name may carry
// it as a suffix ("echo.openfaas-fn") wherever it names a function; any other namespace is 404.
const OpenFaaSNamespace = "openfaas-fn"

// FunctionDeployment is the body of POST (deploy) and PUT (update) /system/functions.
type FunctionDeployment struct {
	// Service is the function's name.
	Service string `json:"service"`
	// Image is the container image reference.
	Image string `json:"image"`
	// Namespace is "" or OpenFaaSNamespace.
	Namespace string `json:"namespace,omitempty"`
	// EnvProcess is the command, split on spaces as OpenFaaS's classic watchdog splits fprocess.
	EnvProcess string `json:"envProcess,omitempty"`
	// EnvVars are the function's environment variables.
	EnvVars map[string]string `json:"envVars,omitempty"`
	// Constraints place functions on hosts; podrun has one host and refuses any (400).
	Constraints []string `json:"constraints,omitempty"`
	// Secrets name secrets of /system/secrets, each mounted at /var/openfaas/secrets/NAME.
	Secrets []string `json:"secrets,omitempty"`
	// Labels and Annotations are stored and shown; podrun acts on none of them.
	Labels      *map[string]string `json:"labels,omitempty"`
	Annotations *map[string]string `json:"annotations,omitempty"`
	// Limits are enforced per invocation's container; Requests are recorded only.
	Limits   *FunctionResources `json:"limits,omitempty"`
	Requests *FunctionResources `json:"requests,omitempty"`
	// ReadOnlyRootFilesystem may be left out or true: podrun's root filesystems are always
	// read-only (with a writable /tmp), so an explicit false is refused (400).
	ReadOnlyRootFilesystem *bool `json:"readOnlyRootFilesystem,omitempty"`
}

// FunctionResources are OpenFaaS's memory and CPU quantities: memory like "128Mi", "1Gi" or
// "500M"; cpu in cores ("0.5") or millicores ("500m"). Answers write memory in the largest binary
// unit that divides it and cpu in millicores.
type FunctionResources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

// FunctionStatus is one function as GET /system/functions and GET /system/function/{name} show it.
type FunctionStatus struct {
	Name        string             `json:"name"`
	Image       string             `json:"image"`
	Namespace   string             `json:"namespace,omitempty"`
	EnvProcess  string             `json:"envProcess,omitempty"`
	EnvVars     map[string]string  `json:"envVars,omitempty"`
	Constraints []string           `json:"constraints,omitempty"`
	Secrets     []string           `json:"secrets,omitempty"`
	Labels      *map[string]string `json:"labels,omitempty"`
	Annotations *map[string]string `json:"annotations,omitempty"`
	Limits      *FunctionResources `json:"limits,omitempty"`
	Requests    *FunctionResources `json:"requests,omitempty"`
	// ReadOnlyRootFilesystem is always true.
	ReadOnlyRootFilesystem bool `json:"readOnlyRootFilesystem,omitempty"`
	// InvocationCount counts invocations finished since the daemon started.
	InvocationCount float64 `json:"invocationCount,omitempty"`
	// Replicas is the warm pool's size, AvailableReplicas how many warm containers are ready.
	// Neither bounds invocations: without a warm container a request gets a fresh one.
	Replicas          uint64    `json:"replicas,omitempty"`
	AvailableReplicas uint64    `json:"availableReplicas,omitempty"`
	CreatedAt         time.Time `json:"createdAt,omitempty"`
}

// ScaleServiceRequest is the body of POST /system/scale-function/{name}: Replicas sets the warm
// pool size, capped by the server's invoke.max_warm.
type ScaleServiceRequest struct {
	ServiceName string `json:"serviceName"`
	Replicas    uint64 `json:"replicas"`
	Namespace   string `json:"namespace,omitempty"`
}

// DeleteFunctionRequest is the body of DELETE /system/functions.
type DeleteFunctionRequest struct {
	FunctionName string `json:"functionName"`
	Namespace    string `json:"namespace,omitempty"`
}

// Secret is the body of POST, PUT and DELETE /system/secrets and an entry of GET's list, which
// never carries a value. Value is the secret as text; RawValue (base64 in JSON) as bytes.
type Secret struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
	RawValue  []byte `json:"rawValue,omitempty"`
}

// SystemInfo is the answer of GET /system/info, in the OpenFaaS gateway's shape (faas-cli version
// reads it): the provider, and the build serving the API, which for podrun is the same.
type SystemInfo struct {
	Provider *ProviderInfo        `json:"provider"`
	Version  *ProviderVersionInfo `json:"version"`
	// Arch is the server's GOARCH.
	Arch string `json:"arch"`
}

// ProviderInfo names the provider: "podrun", orchestrating "podman".
type ProviderInfo struct {
	Provider      string               `json:"provider"`
	Orchestration string               `json:"orchestration"`
	Version       *ProviderVersionInfo `json:"version"`
}

// ProviderVersionInfo names the build: Release is podrun's version, SHA its commit.
type ProviderVersionInfo struct {
	CommitMessage string `json:"commit_message,omitempty"`
	SHA           string `json:"sha"`
	Release       string `json:"release"`
}

// FunctionLogMessage is one line of GET /system/logs, which writes one JSON object per line.
// Instance is the agent id of the invocation that wrote Text (a line of its stderr).
type FunctionLogMessage struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Instance  string    `json:"instance"`
	Timestamp time.Time `json:"timestamp"`
	Text      string    `json:"text"`
}

// Gateway response headers, set on every /function and /async-function answer as the OpenFaaS
// gateway sets them.
const (
	// HeaderCallID identifies the call: the request's own when it sent one, else a new one.
	HeaderCallID = "X-Call-Id"
	// HeaderStartTime is when podrun began to handle the call, in Unix nanoseconds.
	HeaderStartTime = "X-Start-Time"
	// HeaderDurationSeconds is how long the call took up to the answer's headers, in seconds.
	HeaderDurationSeconds = "X-Duration-Seconds"
)
