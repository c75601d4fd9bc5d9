package api

// Isolations an agent or function may ask for (the isolation field).
const (
	// IsolationRunc runs the code on the host's kernel under runc, behind podrun's seccomp profile.
	IsolationRunc = "runc"
	// IsolationGVisor runs the code under gVisor (runsc), whose own kernel stands between it and
	// the host's; the server must be configured for it (sandbox.gvisor_socket).
	IsolationGVisor = "gvisor"
)

// Egress lets an agent or function reach the destinations it lists, and nothing else, through
// podrun's egress proxy (HTTP_PROXY and HTTPS_PROXY are set in its environment). Without it an
// agent has no network but its own loopback. docs/isolation.md describes the proxy.
type Egress struct {
	// Allow lists the destinations: "host:port", "host" (any port), "*.domain[:port]" (names
	// below domain), "address[:port]" or "prefix[:port]" such as "10.1.2.0/24:5432"; IPv6 with a
	// port in brackets. Answers show each rule in canonical form (lower case, masked prefixes).
	Allow []string `json:"allow"`
}
