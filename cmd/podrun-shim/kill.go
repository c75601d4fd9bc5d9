package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/podrun/podrun/runner/shimproto"
)

// proc is what --kill needs to know of one process, from /proc/PID/stat.
type proc struct {
	ppid  int
	state byte // R, S, D, T, t, Z, X, ...
}

// gone reports whether the process has ended (a zombie waits only to be reaped).
func (p proc) gone() bool { return p.state == 'Z' || p.state == 'X' }

// stopped reports whether the process can no longer run: stopped, traced or gone.
func (p proc) stopped() bool { return p.state == 'T' || p.state == 't' || p.gone() }

// Bounds of killExec's loops; each round rereads /proc.
const (
	killRounds = 500
	killPause  = 2 * time.Millisecond
)

// killExec kills every process below the exec shims marked token and
// returns how many it killed. It first stops them all (SIGSTOP), rereading
// /proc until no new process appears and all are stopped, so none can fork
// or exit while the tree is read; then it kills them all (SIGKILL), and
// waits until they have ended. The shim itself is left to reap them and
// exit with its command's status. Finding no such shim is not an error:
// the exec has ended.
func killExec(root, token string) (int, error) {
	procs, err := readProcs(root)
	if err != nil {
		return 0, err
	}
	shims := findShims(root, token, procs)
	if len(shims) == 0 {
		return 0, nil
	}
	tree := map[int]bool{}
	settled := false
	for range killRounds {
		fresh := false
		for _, pid := range descendants(procs, shims) {
			if !tree[pid] {
				tree[pid], fresh = true, true
				_ = syscall.Kill(pid, syscall.SIGSTOP)
			}
		}
		if !fresh && allStopped(procs, tree) {
			settled = true
			break
		}
		time.Sleep(killPause)
		if procs, err = readProcs(root); err != nil {
			return 0, err
		}
	}
	for pid := range tree {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for range killRounds {
		if procs, err = readProcs(root); err != nil {
			return 0, err
		}
		if len(alive(procs, tree)) == 0 {
			if !settled {
				return len(tree), errors.New("the exec's processes kept changing; killed those found")
			}
			return len(tree), nil
		}
		time.Sleep(killPause)
	}
	return len(tree), fmt.Errorf("processes %v survived SIGKILL", alive(procs, tree))
}

// allStopped reports whether every process of the tree still listed is stopped or gone.
func allStopped(procs map[int]proc, tree map[int]bool) bool {
	for pid := range tree {
		if p, ok := procs[pid]; ok && !p.stopped() {
			return false
		}
	}
	return true
}

// alive lists the processes of the tree that have not ended.
func alive(procs map[int]proc, tree map[int]bool) []int {
	var out []int
	for pid := range tree {
		if p, ok := procs[pid]; ok && !p.gone() {
			out = append(out, pid)
		}
	}
	return out
}

// readProcs reads every process's parent and state from root (/proc).
// Processes that end while it reads are skipped.
func readProcs(root string) (map[int]proc, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	procs := make(map[int]proc, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if p, ok := parseStat(stat); ok {
			procs[pid] = p
		}
	}
	return procs, nil
}

// parseStat reads "PID (COMM) STATE PPID ..."; COMM may hold spaces and parentheses.
func parseStat(stat []byte) (proc, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return proc{}, false
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return proc{}, false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return proc{}, false
	}
	return proc{ppid: ppid, state: f[0][0]}, true
}

// findShims returns the exec shims marked token: processes whose command
// line is "SHIM --exec TOKEN -- ..." and whose parent is not one (a child
// between fork and exec still shows its parent's command line).
func findShims(root, token string, procs map[int]proc) []int {
	marked := map[int]bool{}
	for pid := range procs {
		if pid != os.Getpid() && isShim(root, pid, token) {
			marked[pid] = true
		}
	}
	var out []int
	for pid := range marked {
		if !marked[procs[pid].ppid] {
			out = append(out, pid)
		}
	}
	return out
}

func isShim(root string, pid int, token string) bool {
	cmdline, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	args := bytes.Split(cmdline, []byte{0})
	if len(args) >= 3 && string(args[1]) == shimproto.SeccompFlag {
		args = append(args[:1], args[3:]...) // SHIM --seccomp FILE --exec TOKEN -- ...
	}
	return len(args) >= 4 && string(args[1]) == shimproto.ExecFlag && string(args[2]) == token && string(args[3]) == "--"
}

// descendants returns every process below the roots (not the roots).
func descendants(procs map[int]proc, roots []int) []int {
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var out []int
	queue := append([]int(nil), roots...)
	seen := map[int]bool{}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}
