package sandbox

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/podrun/podrun/configs"
)

// Config says how to reach Podman and how to harden containers. It has no
// defaults of its own: podrun's defaults live in package configs, and
// ConfigFrom builds a Config from them. New refuses a Config whose required
// fields are zero rather than pick a value.
type Config struct {
	// URI of the Podman API service, e.g. unix:///run/podman/podman.sock; required.
	URI string
	// Runtime is the OCI runtime; "" picks runc on a cgroup v1 host (crun fails on hybrid v1) and Podman's default otherwise.
	Runtime string
	// Network is the network mode, one of configs.Networks ("none": no network at all); required.
	Network string
	// TmpfsSize caps the writable tmpfs on /tmp, in bytes; the rest of the root filesystem is read-only. Required.
	TmpfsSize int64
	// SeccompProfile is the path of a JSON seccomp profile on the Podman host;
	// "" uses podrun's own (package seccomp), which New installs in StateDir.
	// "unconfined" and relative paths are refused. Podman's default profile
	// is, on Debian, /usr/share/containers/seccomp.json.
	SeccompProfile string
	// ShmSize caps the tmpfs on /dev/shm, in bytes; required. It lives in the
	// container's own mount namespace: its pages count against the memory
	// limit and are freed when the container's last process ends.
	ShmSize int64
	// StateDir is a directory of podrun's own, on the Podman host, where New
	// installs the files Podman reads by path (seccomp profile, hosts file,
	// a copy of the shim); required and absolute.
	StateDir string
	// GVisorURI is a second Podman service, on the same host and storage,
	// whose default runtime is gVisor's runsc (a wrapper adding
	// --network=none --oci-seccomp): containers whose Spec asks for gVisor
	// are created through it. Empty: gVisor is refused (ErrInvalid).
	GVisorURI string
	// NoFile is the soft and hard RLIMIT_NOFILE; required, and at most the Podman
	// service's own hard limit, which runc cannot raise for a container (New checks).
	NoFile uint64
	// NProc is the soft and hard RLIMIT_NPROC, a backstop behind the pids cgroup
	// limit; required, and at most the service's hard limit, as NoFile.
	NProc uint64
	// UserNSSize is how many UIDs and GIDs each container's own user namespace (userns=auto) maps; required.
	UserNSSize uint32
	// LogMaxSize caps each container's k8s-file log, in bytes; required.
	LogMaxSize int64
	// PullTimeout bounds an image pull in EnsureImage; required.
	PullTimeout time.Duration
	// ShimPath is the host path of the static podrun-shim binary, bind-mounted
	// read-only into every container: the entrypoint of those whose Spec asks
	// for the shim (required then), and what execs run under so a timed-out
	// exec's whole process tree can be killed (without it, only the exec's
	// first process is).
	ShimPath string
	// MaxConcurrentCalls bounds the Podman API calls in flight at once, so bursts queue here rather than swamp the service; required.
	MaxConcurrentCalls int
	// Observe, if set, is called after every Podman API call with the operation's name and latency.
	Observe func(op string, d time.Duration)
	// AllowUnenforcedLimits accepts Podman's warning that it ignores resource limits, on a
	// host where the probe found them unenforceable (rootless on cgroup v1); the runner then
	// marks agents limits_enforced false. Every other create warning still fails the create.
	AllowUnenforcedLimits bool

	// Instance scopes podrun's secrets in Podman's shared store (see
	// Podman.Secrets): each daemon instance sees only its own. "" shares one scope.
	Instance string

	hostsPath string // the hosts file New installed in StateDir
	// filterPath is the seccomp filter New compiled and installed in
	// StateDir for gVisor containers' execs; filterErr says why there is
	// none though GVisorURI is set (see stageFilter).
	filterPath string
	filterErr  error
}

// ConfigFrom is the sandbox part of podrun's configuration, validated by
// configs.Config.Validate: podman_socket, allow_unenforced_limits and the
// [sandbox] table (ShimPath as configured: "" is no shim; Observe unset).
func ConfigFrom(c configs.Config) Config {
	s := c.Sandbox
	return Config{
		URI:                   c.PodmanSocket,
		Runtime:               s.Runtime,
		Network:               s.Network,
		TmpfsSize:             int64(s.TmpfsSize),
		ShmSize:               int64(s.ShmSize),
		StateDir:              s.StateDir,
		SeccompProfile:        s.SeccompProfile,
		NoFile:                uint64(s.NoFile),
		NProc:                 uint64(s.NProc),
		UserNSSize:            uint32(s.UserNSSize),
		LogMaxSize:            int64(s.LogMaxSize),
		PullTimeout:           s.PullTimeout.Duration,
		ShimPath:              s.ShimPath,
		MaxConcurrentCalls:    s.MaxConcurrentCalls,
		AllowUnenforcedLimits: c.AllowUnenforcedLimits,
		GVisorURI:             s.GVisorSocket,
	}
}

// check refuses a Config with a required field unset or out of range, naming
// each by its configuration key, and makes ShimPath absolute.
func (c Config) check() (Config, error) {
	var missing []string
	for _, f := range []struct {
		key   string
		unset bool
	}{
		{"podman_socket", c.URI == ""},
		{"sandbox.network", c.Network == ""},
		{"sandbox.tmpfs_size", c.TmpfsSize <= 0},
		{"sandbox.shm_size", c.ShmSize <= 0},
		{"sandbox.state_dir", c.StateDir == ""},
		{"sandbox.nofile", c.NoFile == 0},
		{"sandbox.nproc", c.NProc == 0},
		{"sandbox.userns_size", c.UserNSSize == 0},
		{"sandbox.log_max_size", c.LogMaxSize <= 0},
		{"sandbox.pull_timeout", c.PullTimeout <= 0},
		{"sandbox.max_concurrent_calls", c.MaxConcurrentCalls <= 0},
	} {
		if f.unset {
			missing = append(missing, f.key)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("sandbox config: %s must be set and positive (build it with sandbox.ConfigFrom, which takes podrun's defaults)",
			strings.Join(missing, ", "))
	}
	if !slices.Contains(configs.Networks, c.Network) {
		return c, &configs.Problem{Key: "sandbox.network",
			Text: fmt.Sprintf("sandbox.network (%q) must be one of %s", c.Network, strings.Join(configs.Networks, ", "))}
	}
	if c.SeccompProfile == "unconfined" || c.SeccompProfile != "" && !filepath.IsAbs(c.SeccompProfile) {
		return c, &configs.Problem{Key: "sandbox.seccomp_profile",
			Text: fmt.Sprintf("sandbox.seccomp_profile (%q) must be empty (podrun's own profile) or an absolute path; containers never run unconfined", c.SeccompProfile)}
	}
	if !filepath.IsAbs(c.StateDir) {
		return c, &configs.Problem{Key: "sandbox.state_dir", Text: fmt.Sprintf("sandbox.state_dir (%q) must be an absolute path", c.StateDir)}
	}
	if c.ShimPath != "" {
		abs, err := filepath.Abs(c.ShimPath)
		if err != nil {
			return c, fmt.Errorf("sandbox shim path: %w", err)
		}
		c.ShimPath = abs
	}
	return c, nil
}
