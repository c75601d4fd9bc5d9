package sandbox

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memoryCgroups reads the kernel's own count of OOM kills in a container's
// memory cgroup. Exit code 137 alone is no proof of an OOM kill (podman kill,
// podman rm -f and any outside SIGKILL give 137 too) and Podman 4 never sets
// OOMKilled, so this count is what tells the two apart. It must be read while
// the cgroup exists: Podman removes it a few hundred milliseconds after the
// exit (its cleanup process), at once on a removal. On a host whose cgroups
// podrun cannot see (Podman on another machine) nothing is found and exits
// count as not OOM-killed.
type memoryCgroups struct {
	root string // where the memory controller is mounted; "" if nowhere
	v2   bool   // unified hierarchy: memory.events; else v1: memory.oom_control
}

// findMemoryCgroups locates the memory controller in a /proc/self/mountinfo
// text: a v1 hierarchy with the memory controller if there is one (hybrid
// hosts mount an empty cgroup2 beside it), else the cgroup2 hierarchy.
func findMemoryCgroups(mountinfo []byte) memoryCgroups {
	var v2root string
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// 36 35 0:30 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 || fields[3] != "/" {
			continue // not the root of a hierarchy (a bind mount of a subtree, say)
		}
		switch tail[0] {
		case "cgroup":
			for _, opt := range strings.Split(tail[2], ",") {
				if opt == "memory" {
					return memoryCgroups{root: unescapeMount(fields[4])}
				}
			}
		case "cgroup2":
			if v2root == "" {
				v2root = unescapeMount(fields[4])
			}
		}
	}
	if v2root == "" {
		return memoryCgroups{}
	}
	return memoryCgroups{root: v2root, v2: true}
}

// unescapeMount undoes mountinfo's octal escapes of blanks and backslashes.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

func hostMemoryCgroups() memoryCgroups {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return memoryCgroups{}
	}
	return findMemoryCgroups(b)
}

// dirs are where Podman puts a container's cgroup: under libpod_parent with
// the cgroupfs manager, as a scope under machine.slice with systemd (rootful),
// or under the user's own slice (rootless, cgroup v2 with systemd).
func (m memoryCgroups) dirs(id string) []string { return cgroupDirs(m.root, id) }

// cgroupDirs are the places of a container's cgroup under one hierarchy's root; see memoryCgroups.dirs.
func cgroupDirs(root, id string) []string {
	uid := strconv.Itoa(os.Getuid())
	return []string{
		filepath.Join(root, "libpod_parent", "libpod-"+id),
		filepath.Join(root, "machine.slice", "libpod-"+id+".scope"),
		filepath.Join(root, "user.slice", "user-"+uid+".slice", "user@"+uid+".service", "user.slice", "libpod-"+id+".scope"),
	}
}

// oomKilled reports whether the kernel's OOM killer killed a process in the
// container's memory cgroup; false too if the cgroup is gone or not found.
func (m memoryCgroups) oomKilled(id string) bool {
	if m.root == "" || id == "" {
		return false
	}
	for _, dir := range m.dirs(id) {
		if n, ok := m.oomKills(dir); ok {
			return n > 0
		}
	}
	return false
}

// oomKills reads the OOM kill count of the memory cgroup at dir; ok is false if it cannot be read.
func (m memoryCgroups) oomKills(dir string) (n int64, ok bool) {
	if m.v2 {
		return counter(filepath.Join(dir, "memory.events"), "oom_kill")
	}
	if n, ok := counter(filepath.Join(dir, "memory.oom_control"), "oom_kill"); ok {
		return n, true
	}
	// Kernels before 4.13 do not count kills in oom_control: a hit of the
	// limit that the exit code says ended in a SIGKILL is the best evidence left.
	return counter(filepath.Join(dir, "memory.failcnt"), "")
}

// counter reads the value of key in a flat-keyed cgroup file ("oom_kill 1"),
// or the single number a file holds when key is "".
func counter(path, key string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	if key == "" {
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return n, err == nil
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		if k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
