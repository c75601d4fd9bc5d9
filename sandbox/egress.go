package sandbox

import (
	"maps"
	"path"

	"github.com/containers/podman/v5/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/shimproto"
)

// EgressTarget is where a container's egress proxy directory appears inside.
const EgressTarget = "/.podrun/egress"

// egressSocket is the proxy's socket inside the container (package egress names it proxy.sock).
var egressSocket = path.Join(EgressTarget, "proxy.sock")

// withEgress gives a container with an egress proxy (runner.Spec.EgressDir)
// the way to it, and nothing else: the network stays as configured ("none"
// by default: no route anywhere, no resolver). The proxy's directory is
// mounted read-only (connecting to a socket needs no write access to its
// directory), the shim is PID 1 and forwards shimproto.EgressAddr to the
// socket, and the proxy variables name that address in both spellings
// programs read. NO_PROXY keeps the container's own loopback direct.
func withEgress(s *specgen.SpecGenerator, rs runner.Spec) {
	if rs.EgressDir == "" {
		return
	}
	s.Mounts = append(s.Mounts, spec.Mount{
		Destination: EgressTarget,
		Type:        "bind",
		Source:      rs.EgressDir,
		Options:     []string{"bind", "ro", "nosuid", "nodev", "noexec"},
	})
	env := maps.Clone(s.Env)
	if env == nil {
		env = map[string]string{}
	}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		env[k] = shimproto.EgressProxyURL
	}
	env["NO_PROXY"], env["no_proxy"] = "localhost,127.0.0.1,::1", "localhost,127.0.0.1,::1"
	env[shimproto.EgressSocketEnv] = egressSocket
	s.Env = env
	if !rs.Shim && !rs.KeepAlive { // a keep-alive shim (--wait) forwards the proxy itself
		s.Entrypoint = []string{ShimTarget, shimproto.AgentFlag, "--"}
	}
}
