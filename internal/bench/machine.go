package bench

import (
	"bufio"
	"bytes"
	"context"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// benchMachine describes the host the run measured.
type benchMachine struct {
	Hostname    string `json:"hostname"`
	Kernel      string `json:"kernel"`
	Cores       int    `json:"cores"`
	CPUModel    string `json:"cpu_model"`
	MemoryBytes int64  `json:"memory_bytes"`
}

func machineInfo() benchMachine {
	m := benchMachine{Cores: runtime.NumCPU()}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if kb, ok := procField("/proc/meminfo", "MemTotal:"); ok {
		m.MemoryBytes = kb * 1024
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// procField reads the first number after key in a /proc file of "key value" lines.
func procField(path, key string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				n, err := strconv.ParseInt(fields[0], 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/PID/stat times: 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSample is CPU time used so far, in seconds: by podrun's process (NaN when
// unknown) and by the whole machine (all CPUs, busy time only).
type cpuSample struct {
	proc, machine float64
}

func (b *bench) cpuNow() cpuSample {
	s := cpuSample{proc: math.NaN(), machine: machineBusy()}
	switch {
	case b.daemon != nil:
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			s.proc = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		}
	case b.opt.pid > 0:
		s.proc = procCPU(b.opt.pid)
	}
	return s
}

func (s cpuSample) since(before cpuSample) cpuSample {
	return cpuSample{proc: s.proc - before.proc, machine: s.machine - before.machine}
}

// machineBusy is the machine's non-idle CPU seconds from /proc/stat (idle and iowait excluded).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return math.NaN()
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return math.NaN()
	}
	var busy int64
	for i, f := range fields[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i == 3 || i == 4 || i >= 7 { // idle, iowait, steal; guest time is already in user
			continue
		}
		busy += n
	}
	return float64(busy) / clockTicks
}

// procCPU is a process's user+system CPU seconds from /proc/PID/stat.
func procCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return math.NaN()
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return math.NaN()
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return math.NaN()
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return float64(ut+st) / clockTicks
}

// podrunFootprint is podrun's memory and goroutines at one moment.
type podrunFootprint struct {
	RSSBytes   int64  `json:"rss_bytes"`            // -1 when unknown
	Goroutines int    `json:"goroutines"`           // -1 when unknown (podrun not in-process)
	HeapInuse  uint64 `json:"heap_inuse,omitempty"` // Go heap in use, in-process only
	Agents     int    `json:"agents"`               // rows in the agents table
	Source     string `json:"source"`
}

// footprintSample measures podrun: in-process from this process, else from /proc/--pid.
func (b *bench) footprintSample(ctx context.Context) podrunFootprint {
	f := podrunFootprint{RSSBytes: -1, Goroutines: -1, Agents: -1}
	if n, err := b.countAgents(ctx); err == nil {
		f.Agents = n
	}
	switch {
	case b.daemon != nil:
		f.Source = "this process (podrun in-process, with the bench's own client and goroutines)"
		if kb, ok := procField("/proc/self/status", "VmRSS:"); ok {
			f.RSSBytes = kb * 1024
		}
		f.Goroutines = runtime.NumGoroutine()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		f.HeapInuse = ms.HeapInuse
	case b.opt.pid > 0:
		f.Source = "/proc/" + strconv.Itoa(b.opt.pid)
		if kb, ok := procField("/proc/"+strconv.Itoa(b.opt.pid)+"/status", "VmRSS:"); ok {
			f.RSSBytes = kb * 1024
		}
	default:
		f.Source = "unknown: podrun runs elsewhere (give --pid)"
	}
	return f
}
