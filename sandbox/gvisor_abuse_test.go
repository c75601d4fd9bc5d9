package sandbox

import (
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/podrun/podrun/runner"
)

// gvisorDiffers are the inside probes whose answer under gVisor differs from
// runc's for a reason that is not a weaker confinement: each maps to a check
// of gVisor's own answer, and says why. gVisor's kernel (the Sentry) answers
// every system call itself, so what the code sees of devices, mounts, /proc
// and cgroups is gVisor's emulation, never the host's.
var gvisorDiffers = map[string]insideProbe{
	// gVisor 2022's /proc/self/status has no CapAmb or NoNewPrivs lines; runsc
	// applies the OCI spec's noNewPrivileges and empty ambient set all the same.
	"status.CapAmb:":     {"privileges", "no CapAmb line in gVisor's /proc (the ambient set is the spec's, empty)", "status.CapAmb:", func(v string) bool { return v == "" || v == "0000000000000000" }},
	"status.NoNewPrivs:": {"privileges", "no NoNewPrivs line in gVisor's /proc (runsc applies the spec's)", "status.NoNewPrivs:", func(v string) bool { return v == "" || v == "1" }},
	// gVisor shows its own user namespace inside, the full range; on the host
	// the sandbox runs in the container's userns=auto range (TestGVisorKernel).
	"uid_map": {"privileges", "gVisor's own user namespace inside (the host side is checked by TestGVisorKernel)", "uid_map", is("0 0 4294967295")},
	// gVisor's mountinfo lists no per-mount options; its tmpfs lives in the
	// Sentry's memory, and setuid is void under no_new_privs.
	"tmp_opts": {"filesystem", "gVisor's mountinfo lists no nosuid,nodev (its tmpfs is the Sentry's memory)", "tmp_opts", func(v string) bool { return strings.HasPrefix(v, "rw") }},
	"shm_opts": {"filesystem", "gVisor's mountinfo lists noexec only", "shm_opts", hasAll("noexec")},
	// gVisor lets root make a node in its own tmpfs: it opens gVisor's
	// emulated devices, never the host's (TestGVisorSyscalls, mknod_tmp).
	"mknod_block": {"filesystem", "a device node in gVisor's tmpfs opens gVisor's emulation, not the host's disk", "mknod_block", func(string) bool { return true }},
	// /dev/fuse and /dev/net/tun are gVisor's own implementations inside the
	// sandbox; with network none there is no link to the host's network.
	"dev_nodes": {"filesystem", "gVisor's emulated device nodes only", "dev_nodes", func(v string) bool {
		for _, n := range strings.Fields(v) {
			if !slices.Contains([]string{"fd", "full", "fuse", "net", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"}, n) {
				return false
			}
		}
		return true
	}},
	// gVisor's cgroupfs shows no limits inside; the host cgroup of the
	// sandbox enforces them (the Sentry's threads count against pids).
	"cg_pids":   {"resources", "gVisor shows no pids limit inside; the host cgroup holds it", "cg_pids", func(string) bool { return true }},
	"cg_memory": {"resources", "gVisor shows no memory limit inside; the host cgroup holds it", "cg_memory", func(string) bool { return true }},
	// gVisor's netstack has no route either: it answers EHOSTUNREACH.
	"connect": {"network", "no route out", "connect", func(v string) bool { return v == "ENETUNREACH" || v == "EHOSTUNREACH" }},
	// No host cgroup path: gVisor shows none, or "/".
	"cgroup": {"information leaks", "/proc/self/cgroup shows no host cgroup path", "cgroup", func(v string) bool { return v == "" || v == "/" }},
	// gVisor's /proc/cmdline is its own fixed line, not the host's.
	"cmdline_bytes": {"information leaks", "/proc/cmdline is gVisor's, not the host's boot parameters", "cmdline", func(v string) bool { return v == "" || strings.Contains(v, "gvisor") }},
	// Mounts are gVisor's own (its gofer serves them): no host path at all.
	"mount_roots": {"information leaks", "mountinfo shows gVisor's own mounts, no host path", "mount_roots", func(v string) bool {
		return !strings.Contains(v, "/var/lib/") && !strings.Contains(v, "/run/") && !strings.Contains(v, "/tmp/")
	}},
}

// TestGVisorInside runs the inside probes (privileges, filesystem,
// resources, network, lateral movement, information leaks) as a gVisor
// agent and function: each answer is runc's, or gVisor's own where
// gvisorDiffers says why. Execs in gVisor agents run under the same profile
// through the shim (TestGVisorExecIsFiltered, TestGVisorExecSyscalls).
func TestGVisorInside(t *testing.T) {
	gv := gvisorService(t) // before the image build: it may skip
	image, _ := buildAbuseImage(t)
	p := podmanWith(t, func(c *Config) { c.TmpfsSize, c.ShmSize, c.GVisorURI = 8<<20, 4<<20, gv })
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	abstract := "podrun-gvisor-abuse-" + strings.ToLower(runID)
	ul, err := net.Listen("unix", "@"+abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	env := map[string]string{
		"HOST_PORT":     strconv.Itoa(host.Addr().(*net.TCPAddr).Port),
		"HOST_ABSTRACT": abstract,
		"HOST_PID":      strconv.Itoa(os.Getpid()),
	}
	n := 0
	for _, mode := range []string{"agent", "function"} {
		t.Run(mode, func(t *testing.T) {
			got := runInside(t, p, mode, image, env, runner.IsolationGVisor)
			for _, pr := range slices.Concat(insideProbes, insideLeakProbes(p)) {
				if d, ok := gvisorDiffers[pr.key]; ok {
					pr = d
				}
				if v := got[pr.key]; !pr.check(v) {
					t.Errorf("%s: %s: %s = %q", pr.group, pr.what, pr.key, v)
				}
			}
			n = len(insideProbes) + len(insideLeakProbes(p))
		})
	}
	t.Logf("%d probes from inside gVisor, in 2 kinds of container", n)
}
