package api

// Health is the answer of GET /healthz (the process serves HTTP) and GET /readyz (it can take
// work); an unready server answers 503 with an ErrorResponse of code CodeUnavailable instead.
type Health struct {
	// Status is "ok".
	Status string `json:"status"`
	// Runtimes says, in /readyz's answer, which container runtime runs each isolation the
	// server gives (IsolationRunc, IsolationGVisor), like "runc version 1.1.5"; optional.
	Runtimes map[string]string `json:"runtimes,omitempty"`
}

// Version describes a build of podrun: the answer of GET /v1/version, and what `podrun version`
// prints for the client.
type Version struct {
	// Version is the release, from git describe at build time; "dev" for an unstamped build.
	Version string `json:"version"`
	// Commit is the git commit the binary was built from; "unknown" for an unstamped build.
	Commit string `json:"commit"`
	// GoVersion is the Go toolchain that built it, like "go1.26.8".
	GoVersion string `json:"go_version"`
}
