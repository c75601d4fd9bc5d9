package sandbox

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/podrun/podrun/runner"
)

// kernelStats reads from the host's cgroup files and /proc what Podman's
// stats report leaves out: how often the CPU limit throttled a container
// (cpu.stat nr_periods, nr_throttled), its memory high-water mark (v1
// memory.max_usage_in_bytes, v2 memory.peak), the limit its pids cgroup
// enforces (pids.max) and the fill of its /tmp (statfs of
// /proc/PID/root/tmp for a process of the container). It only
// works where podrun runs on the Podman host as a user that may read them
// (rootful podrun beside rootful Podman); elsewhere those fields stay zero.
// Each is a few small file reads and one statfs per container.
type kernelStats struct {
	cpu     string // root of the hierarchy with the cpu controller; "" if none
	cpuacct string // root of the hierarchy with the cpuacct controller (v1)
	memory  string // root of the hierarchy with the memory controller
	pids    string // root of the hierarchy with the pids controller
	v2      bool   // unified hierarchy: one root for all
}

// findKernelStats locates the cpu and memory controllers in a /proc/self/mountinfo text:
// v1 hierarchies if they have them (hybrid hosts mount an empty cgroup2 beside them), else cgroup2.
func findKernelStats(mountinfo []byte) kernelStats {
	var k kernelStats
	var v2root string
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 || fields[3] != "/" {
			continue
		}
		switch tail[0] {
		case "cgroup":
			for _, opt := range strings.Split(tail[2], ",") {
				switch opt {
				case "cpu":
					k.cpu = unescapeMount(fields[4])
				case "cpuacct":
					k.cpuacct = unescapeMount(fields[4])
				case "memory":
					k.memory = unescapeMount(fields[4])
				case "pids":
					k.pids = unescapeMount(fields[4])
				}
			}
		case "cgroup2":
			if v2root == "" {
				v2root = unescapeMount(fields[4])
			}
		}
	}
	if k.cpu == "" && k.memory == "" && v2root != "" {
		return kernelStats{cpu: v2root, cpuacct: v2root, memory: v2root, pids: v2root, v2: true}
	}
	return k
}

func hostKernelStats() kernelStats {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return kernelStats{}
	}
	return findKernelStats(b)
}

// fill adds what the kernel says of container id to s.
func (k kernelStats) fill(id string, s *runner.Sample) {
	if dir := existing(k.cpu, id); dir != "" {
		if n, ok := counter(filepath.Join(dir, "cpu.stat"), "nr_periods"); ok {
			s.Periods = uint64(n)
		}
		if n, ok := counter(filepath.Join(dir, "cpu.stat"), "nr_throttled"); ok {
			s.ThrottledPeriods = uint64(n)
		}
	}
	if dir := existing(k.pids, id); dir != "" {
		if n, ok := counter(filepath.Join(dir, "pids.max"), ""); ok && n > 0 { // "max" is no limit
			s.PIDsLimit = uint64(n)
		}
	}
	dir := existing(k.memory, id)
	if dir == "" {
		return
	}
	peak := "memory.max_usage_in_bytes"
	if k.v2 {
		peak = "memory.peak" // Linux 5.19 and later
	}
	if n, ok := counter(filepath.Join(dir, peak), ""); ok && n > 0 {
		s.MemoryPeak = uint64(n)
	}
	if n, ok := (memoryCgroups{root: k.memory, v2: k.v2}).oomKills(dir); ok {
		s.OOMKills = uint64(n)
	}
	if pid := firstPID(dir); pid != "" && !gvisorProcess(pid) {
		var fs syscall.Statfs_t
		if err := syscall.Statfs(filepath.Join("/proc", pid, "root", "tmp"), &fs); err == nil && fs.Blocks > 0 {
			bs := uint64(fs.Bsize)
			s.TmpSize = fs.Blocks * bs
			s.TmpUsed = (fs.Blocks - fs.Bfree) * bs
		}
	}
}

// atExit reads what the kernel still knows of container id as its process
// ends, before Podman's cleanup removes its cgroups: CPU time, memory in use
// and its high-water mark, CFS periods, /tmp cannot be read any more. ok is
// false when nothing could be read (no cgroup seen, or already gone).
func (k kernelStats) atExit(id string) (s runner.Sample, ok bool) {
	if dir := existing(k.cpuacct, id); dir != "" {
		if k.v2 {
			if n, found := counter(filepath.Join(dir, "cpu.stat"), "usage_usec"); found {
				s.CPUNanos, ok = uint64(n)*1000, true
			}
		} else if n, found := counter(filepath.Join(dir, "cpuacct.usage"), ""); found {
			s.CPUNanos, ok = uint64(n), true
		}
	}
	if dir := existing(k.memory, id); dir != "" {
		usage := "memory.usage_in_bytes"
		if k.v2 {
			usage = "memory.current"
		}
		if n, found := counter(filepath.Join(dir, usage), ""); found {
			s.MemoryUsage, ok = uint64(n), true
		}
	}
	if !ok {
		return runner.Sample{}, false
	}
	k.fill(id, &s) // the peak and the CFS counters; /tmp is gone with the process
	s.TmpUsed, s.TmpSize = 0, 0
	return s, true
}

// gvisorProcess reports whether the process is gVisor's (runsc's Sentry or
// gofer): under gVisor the container's processes and mounts, its /tmp
// included, live inside the Sentry, and the host sees only runsc's own.
func gvisorProcess(pid string) bool {
	exe, err := os.Readlink(filepath.Join("/proc", pid, "exe"))
	return err == nil && strings.HasPrefix(filepath.Base(exe), "runsc")
}

// existing returns the container's cgroup directory under root, or "".
func existing(root, id string) string {
	if root == "" {
		return ""
	}
	for _, dir := range cgroupDirs(root, id) {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	return ""
}

// firstPID returns one process of the cgroup at dir, or "".
func firstPID(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if _, err := strconv.Atoi(line); err != nil {
		return ""
	}
	return line
}
