package runner

import (
	"slices"
	"strings"
)

// IsolationRunc is an agent's or function's isolation when it runs under
// the sandbox's ordinary runtime (runc on these hosts): the host kernel,
// behind podrun's seccomp profile. It is Spec.Isolation "".
const IsolationRunc = "runc"

// MinGVisorMemory is the smallest memory limit of a gVisor container. Its
// Sentry and gofer are charged to the container's memory cgroup: measured
// with runsc 20221219, at 8 MiB the sandbox fails to start, at 16 MiB a
// shell running twenty pipelines is OOM-killed, at 24 MiB it runs.
const MinGVisorMemory = 32 << 20

// Isolations are the isolations a request may name.
var Isolations = []string{IsolationRunc, IsolationGVisor}

// IsolationPolicy is what the isolation field of a request may be.
type IsolationPolicy struct {
	// Default is the isolation of a request that names none; "" is IsolationRunc.
	Default string
	// Available lists the isolations this server can give (IsolationRunc is
	// always among them); asking for another is refused with a FieldError
	// naming "isolation" and Unavailable's reason.
	Available []string
	// Unavailable says why an isolation of Isolations missing from Available
	// cannot be had here, e.g. "sandbox.gvisor_socket is not set".
	Unavailable map[string]string
}

// resolveIsolation checks a request's isolation and returns the one it gets.
func (p IsolationPolicy) resolve(req string) (string, error) {
	iso := req
	if iso == "" {
		iso = p.Default
	}
	if iso == "" {
		iso = IsolationRunc
	}
	if !slices.Contains(Isolations, iso) {
		return "", invalid("isolation", "must be one of %s", strings.Join(Isolations, ", "))
	}
	if iso != IsolationRunc && !slices.Contains(p.Available, iso) {
		why := p.Unavailable[iso]
		if why == "" {
			why = "this server is not configured for it"
		}
		return "", invalid("isolation", "%q is not available on this server: %s", iso, why)
	}
	return iso, nil
}

// specIsolation is Spec.Isolation for an agent's or function's isolation.
func specIsolation(iso string) string {
	if iso == IsolationRunc {
		return ""
	}
	return iso
}
