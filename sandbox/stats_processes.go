package sandbox

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
)

// noContainerCgroups says whether Podman gives containers no cgroup of their own: rootless on
// cgroup v1, which is also why it ignores limits there. Its stats endpoint then fails ("container
// stats resource only available for cgroup v2", or on 4.3 at times an empty error object).
func (p *Podman) noContainerCgroups(ctx context.Context) bool {
	h, err := p.hostInfo(ctx)
	return err == nil && h.Rootless && h.CgroupVersion != "v2"
}

// clockTicks is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100 on Linux).
const clockTicks = 100

// processSample is what the container's processes say of themselves at one moment.
type processSample struct {
	at    time.Time
	pids  uint64 // processes (not threads)
	rss   uint64 // resident memory, bytes, summed over the processes
	ticks uint64 // CPU time, clock ticks, summed over the processes
	cpuOK bool   // ticks were read from this host's /proc
}

// processStats is Stats for a container without a cgroup (rootless Podman on cgroup v1): the
// processes Podman's top lists give the PID count and the resident memory (MemoryLimit stays
// 0: no limit is enforced there), and, when Podman runs on this host (a unix socket), their
// CPU time from /proc/PID/stat gives the CPU use over cpuSampleGap. Network and block I/O are
// not known without a cgroup and stay 0.
func (p *Podman) processStats(ctx context.Context, id string) (runner.Stats, error) {
	a, err := p.processSample(ctx, id)
	if err != nil {
		return runner.Stats{}, err
	}
	if err := sleep(ctx, cpuSampleGap); err != nil {
		return runner.Stats{}, fmt.Errorf("stats of container %s: %w", id, err)
	}
	b, err := p.processSample(ctx, id)
	if err != nil {
		return runner.Stats{}, err
	}
	s := runner.Stats{PIDs: b.pids, MemoryUsage: b.rss}
	if a.cpuOK && b.cpuOK && b.ticks >= a.ticks && b.at.After(a.at) {
		s.CPUPercent = float64(b.ticks-a.ticks) / clockTicks / b.at.Sub(a.at).Seconds() * 100
	}
	return s, nil
}

func (p *Podman) processSample(ctx context.Context, id string) (processSample, error) {
	var rows []string
	err := p.do(ctx, "top", func(ctx context.Context) (err error) {
		// One comma-separated argument: Podman 4.3 keeps only the last of repeated ps_args.
		rows, err = containers.Top(ctx, id, new(containers.TopOptions).WithDescriptors([]string{"hpid,rss"}))
		return err
	})
	if err != nil {
		return processSample{}, wrapErr("stats of", id, err)
	}
	s := processSample{at: time.Now(), cpuOK: p.local()}
	for i, row := range rows {
		f := strings.Fields(row)
		if i == 0 || len(f) != 2 {
			continue // the titles
		}
		s.pids++
		if kib, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			s.rss += kib << 10
		}
		if s.cpuOK {
			ticks, err := procTicks(f[0])
			if err != nil {
				continue // it ended between top and now
			}
			s.ticks += ticks
		}
	}
	if s.pids == 0 {
		return processSample{}, p.noStats(ctx, id)
	}
	return s, nil
}

// local says whether Podman runs on this host, so its host PIDs are this host's.
func (p *Podman) local() bool { return strings.HasPrefix(p.cfg.URI, "unix://") }

// procTicks reads utime + stime of the host process pid.
func procTicks(pid string) (uint64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces: count fields after its closing parenthesis.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest) // f[0] is field 3 (state); utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%s/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return utime + stime, nil
}
