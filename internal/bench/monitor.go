package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podrun/podrun/configs"
)

// benchMonitor is scenario 8: the CPU one pass of the resource monitor takes
// with monAgents running agents (podrun's own and the Podman service's, which
// answers the one stats call), and what that costs at the default interval.
// It drives the in-process podrun's monitor by hand, monSamples passes back
// to back, so it needs no --addr.
func benchMonitor(ctx context.Context, b *bench) (*benchResult, error) {
	if b.daemon == nil {
		return nil, errors.New("needs the in-process podrun (no --addr): it drives the monitor's passes itself")
	}
	live, err := b.startSleepers(ctx, "monitor", b.opt.monAgents, b.opt.createWorkers, "10m")
	defer func() { _ = b.expireAll(context.WithoutCancel(ctx), live) }()
	if err != nil {
		return nil, fmt.Errorf("%d running agents: %w", b.opt.monAgents, err)
	}
	settle(ctx)
	if _, err := b.samplePass(ctx); err != nil { // the first pass also loads what the store holds
		return nil, err
	}
	podman := podmanServicePID(b.opt.podmanSocket)
	selfBefore, podmanBefore, start := selfCPU(), pidCPU(podman), time.Now()
	sampled := 0
	for range b.opt.monSamples {
		n, err := b.samplePass(ctx)
		if err != nil {
			return nil, err
		}
		sampled += n
	}
	k := float64(b.opt.monSamples)
	wall := time.Since(start).Seconds() / k
	self := (selfCPU() - selfBefore) / k
	pod := (pidCPU(podman) - podmanBefore) / k
	interval := configs.Default().Monitor.Interval.Duration.Seconds()
	share := func(cpu float64) float64 { return cpu / interval * 100 }

	res := newResult()
	t := benchTable{Title: "8. resource monitor", Columns: []string{"per pass", "wall ms", "podrun CPU ms", "Podman CPU ms", "total CPU ms", "% of a core at " + configs.Default().Monitor.Interval.String()}}
	t.add(fmt.Sprintf("%d running agents", sampled/b.opt.monSamples), num(wall*1000), num(self*1000), num(pod*1000), num((self+pod)*1000), num(share(self+pod)))
	t.Notes = append(t.Notes,
		fmt.Sprintf("%d passes back to back; one pass is one Podman stats call for all agents, the kernel's counters per agent and one SQLite write", b.opt.monSamples),
		"podrun CPU is this process's (the in-process podrun with its idle supervisors); Podman CPU is its API service's, by PID from /proc",
		"the share is one pass's CPU over the default monitor.interval")
	res.value("agents", float64(sampled)/k)
	res.value("pass_wall_seconds", wall)
	res.value("pass_podrun_cpu_seconds", self)
	res.value("pass_podman_cpu_seconds", pod)
	res.value("core_percent_at_default_interval", share(self+pod))
	res.Targets = append(res.Targets, target(fmt.Sprintf("monitor CPU with %d running agents at the default interval", b.opt.monAgents),
		"< 2% of one core", share(self+pod), "%", 2, true))
	res.Tables = append(res.Tables, t)
	return res, nil
}

// samplePass runs one monitor pass; one the daemon's own loop runs meanwhile is waited for.
func (b *bench) samplePass(ctx context.Context) (int, error) { return b.daemon.SampleUsage(ctx) }

// selfCPU is this process's user and system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func pidCPU(pid int) float64 {
	if pid <= 0 {
		return math.NaN()
	}
	return procCPU(pid)
}

// podmanServicePID finds the local `podman system service` serving socket
// (a unix:// URI) by its command line in /proc; 0 if there is none to see.
func podmanServicePID(socket string) int {
	path, ok := strings.CutPrefix(socket, "unix://")
	if !ok {
		return 0
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 3 || filepath.Base(args[0]) != "podman" || !strings.Contains(strings.Join(args, " "), "system service") {
			continue
		}
		if args[len(args)-1] == socket || args[len(args)-1] == path {
			pid, _ := strconv.Atoi(filepath.Base(dir))
			return pid
		}
	}
	return 0
}
