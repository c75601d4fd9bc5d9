package shimproto

// Controlled egress: a container with an egress allow list has no network
// but loopback. podrun's egress proxy for it listens on a unix socket in a
// host directory bind-mounted into the container, and the shim, PID 1 of
// such a container, forwards EgressAddr to that socket, so programs reach
// the proxy through HTTP_PROXY and HTTPS_PROXY as on any host.
const (
	// EgressSocketEnv names the container environment variable holding the
	// proxy socket's path inside the container; set, the shim forwards.
	EgressSocketEnv = "PODRUN_EGRESS_SOCKET"
	// EgressAddr is where the shim listens for the container's programs.
	EgressAddr = "127.0.0.1:3128"
	// EgressProxyURL is HTTP_PROXY and HTTPS_PROXY in such a container.
	EgressProxyURL = "http://" + EgressAddr
	// AgentFlag runs an agent under the shim, `SHIM AgentFlag -- CMD
	// [ARG...]`: no header on stdin and no exit line on stderr, the shim only
	// PID 1, forwarding signals, reaping and forwarding egress.
	AgentFlag = "--agent"
)
