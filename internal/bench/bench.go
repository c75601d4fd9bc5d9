// Package bench is `podrun bench`: it measures a podrun, started in-process
// or reached at --addr, through its HTTP API (package client), against two
// baselines under the same confinement: `podman run --rm` with the flags
// sandbox.RunArgs derives from the hardened spec, and the bare bindings
// sequence podrun itself uses (package sandbox). It prints a table, or JSON,
// and leaves no container behind.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podrun/podrun/configs"
)

// benchOptions are the flags of `podrun bench`; every scenario can be scaled.
type benchOptions struct {
	addr, podmanSocket, token string
	pid                       int
	jsonOut                   bool
	// allowUnenforced runs the in-process podrun where Podman ignores limits (rootless on cgroup v1).
	allowUnenforced bool
	scenarios       []string
	cpuProfile      string
	image           string
	gvisorSocket    string

	coldN                 int
	isoN                  int
	warmN, warmSize       int
	tputTime              time.Duration
	tputRounds            int
	tputConc              []int
	ctlTime               time.Duration
	ctlClients, ctlAgents int
	ttlAgents             int
	ttlSpread             time.Duration
	delN, delLoad         int
	execN                 int
	fpAgents, fpLive      int
	pauseN                int
	monAgents, monSamples int
	createWorkers         int
	memory                string
	cpus                  float64
	pids                  int
	filesSize, filesN     int
}

// benchScenario is one measurement; run returns its result or why it could not run.
type benchScenario struct {
	name  string
	title string
	run   func(ctx context.Context, b *bench) (*benchResult, error)
}

// benchScenarios are the scenarios of issue 4, in the order they run.
var benchScenarios = []benchScenario{
	{"cold", "1. cold invoke", benchCold},
	{"warm", "2. warm invoke", benchWarm},
	{"throughput", "3. throughput", benchThroughput},
	{"control", "4. control plane", benchControl},
	{"ttl", "5. TTL precision", benchTTL},
	{"delete", "6. DELETE under load", benchDelete},
	{"footprint", "7. footprint", benchFootprint},
	{"files", "8. file transfer", benchFiles},
	{"pause", "9. pause and resume", benchPause},
	{"isolation", "10. isolation", benchIsolation},
	{"exec", "11. exec round trip", benchExec},
	{"monitor", "12. resource monitor", benchMonitor},
}

func parseBenchFlags(args []string, getenv func(string) string, stderr io.Writer) (benchOptions, error) {
	def := configs.Default()
	socket := def.PodmanSocket
	if s := getenv("PODRUN_PODMAN_SOCKET"); s != "" {
		socket = s
	}
	var o benchOptions
	var scen, conc string
	fs := flag.NewFlagSet("podrun bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "", "host:port of a running podrun to measure (default: start one in-process on 127.0.0.1:0 with a temp data dir)")
	fs.IntVar(&o.pid, "pid", 0, "with --addr: the local PID of that podrun, for its CPU time and RSS")
	fs.StringVar(&o.podmanSocket, "podman-socket", socket, "Podman API service, as for podrun serve (PODRUN_PODMAN_SOCKET)")
	fs.StringVar(&o.token, "token", getenv("PODRUN_TOKEN"), "bearer token of the podrun given by --addr (PODRUN_TOKEN)")
	fs.BoolVar(&o.allowUnenforced, "allow-unenforced-limits", false, "run where Podman ignores limits, as podrun serve's flag (rootless Podman on cgroup v1: see docs/performance.md)")
	fs.BoolVar(&o.jsonOut, "json", false, "print a JSON document on stdout (the table then goes to stderr)")
	fs.StringVar(&scen, "scenarios", "cold,warm,throughput,control,ttl,delete,footprint,files,pause,isolation,exec,monitor", "comma-separated scenarios to run")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the in-process podrun included) to this file")
	fs.StringVar(&o.image, "image", "localhost/podrun/busybox:latest", "image of the functions, agents and baselines (it must have cat, true and sleep)")
	fs.StringVar(&o.gvisorSocket, "gvisor-socket", gvisorSocket(getenv), "the in-process podrun's sandbox.gvisor_socket, for the isolation scenario (PODRUN_GVISOR_SOCKET; default: scripts/setup-gvisor.sh's if it is there)")
	fs.IntVar(&o.isoN, "isolation-n", 20, "isolation: measured invocations of each kind (runc and gvisor, cold and warm)")
	fs.IntVar(&o.coldN, "n", 50, "cold: measured invocations of each kind (podrun, podman run, bindings)")
	fs.IntVar(&o.warmN, "warm-n", 50, "warm: measured warm invocations (and as many podman run baselines)")
	fs.IntVar(&o.warmSize, "warm", 2, "warm: pool size of the warm function")
	fs.DurationVar(&o.tputTime, "throughput-time", 8*time.Second, "throughput: time per side (podrun, bindings) per concurrency")
	fs.IntVar(&o.tputRounds, "throughput-rounds", 4, "throughput: alternations of podrun and bindings windows per concurrency")
	fs.StringVar(&conc, "concurrency", "1,2,4,8", "throughput: concurrency levels")
	fs.DurationVar(&o.ctlTime, "control-time", 3*time.Second, "control plane: load time per route")
	fs.IntVar(&o.ctlClients, "clients", 16, "control plane: concurrent keep-alive clients")
	fs.IntVar(&o.ctlAgents, "control-agents", 200, "control plane: agents the table holds at least (created if missing)")
	fs.IntVar(&o.ttlAgents, "ttl-agents", 200, "TTL: sleeping agents whose deadlines are spread (issue 4 asks 500; see docs/performance.md)")
	fs.DurationVar(&o.ttlSpread, "ttl-spread", 10*time.Second, "TTL: deadlines are spread over 1s to this")
	fs.IntVar(&o.delN, "delete-n", 20, "DELETE: measured deletes of running agents")
	fs.IntVar(&o.delLoad, "delete-load", 4, "DELETE: concurrent invocations keeping the host busy meanwhile")
	fs.IntVar(&o.fpAgents, "footprint-agents", 1000, "footprint: agents in the table (created if missing)")
	fs.IntVar(&o.fpLive, "footprint-live", 100, "footprint: live sleeping agents")
	fs.IntVar(&o.pauseN, "pause-n", 30, "pause: measured pause and resume pairs of one running agent")
	fs.IntVar(&o.execN, "exec-n", 50, "exec: measured execs of each kind (buffered, streamed POST, WebSocket) and keystrokes")
	fs.IntVar(&o.monAgents, "monitor-agents", 100, "monitor: running agents each pass samples")
	fs.IntVar(&o.monSamples, "monitor-passes", 10, "monitor: passes measured, back to back")
	fs.IntVar(&o.createWorkers, "create-workers", 4, "agents created at once while setting up the TTL, DELETE and footprint scenarios")
	fs.IntVar(&o.filesSize, "files-size", 32<<20, "files: bytes of the file moved in and out (it must fit the agents' /tmp, sandbox.tmpfs_size)")
	fs.IntVar(&o.filesN, "files-n", 5, "files: transfers each way, by podrun and by podman cp")
	fs.StringVar(&o.memory, "memory", "256Mi", "memory limit of every container, podrun's and the baselines'")
	fs.Float64Var(&o.cpus, "cpus", 1, "CPU limit of every container")
	fs.IntVar(&o.pids, "pids", 128, "PID limit of every container")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	known := map[string]bool{}
	for _, s := range benchScenarios {
		known[s.name] = true
	}
	for _, s := range strings.Split(scen, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !known[s] {
			return o, fmt.Errorf("unknown scenario %q", s)
		}
		o.scenarios = append(o.scenarios, s)
	}
	for _, s := range strings.Split(conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 || c > 16 {
			return o, fmt.Errorf("--concurrency: %q is not a number from 1 to 16", s)
		}
		o.tputConc = append(o.tputConc, c)
	}
	if o.coldN < 1 || o.isoN < 1 || o.warmN < 1 || o.warmSize < 1 || o.tputRounds < 1 || o.ctlClients < 1 ||
		o.ttlAgents < 1 || o.delN < 1 || o.pauseN < 1 || o.execN < 1 || o.createWorkers < 1 || o.filesSize < 1 || o.filesN < 1 || o.fpLive < 0 || o.ttlSpread < time.Second {
		return o, errors.New("counts must be positive and --ttl-spread at least 1s")
	}
	return o, nil
}

// gvisorSocket is PODRUN_GVISOR_SOCKET, else the socket scripts/setup-gvisor.sh starts if it is there.
func gvisorSocket(getenv func(string) string) string {
	if s := getenv("PODRUN_GVISOR_SOCKET"); s != "" {
		return s
	}
	const sock = "/run/podman/podrun-gvisor.sock"
	if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
		return "unix://" + sock
	}
	return ""
}

// Env is what the bench takes from the program it runs in.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// OpenDaemon opens podrun in this process as `podrun serve` would, listening on
	// cfg.Listen; nil leaves the bench able to measure only a podrun given by --addr.
	OpenDaemon func(ctx context.Context, cfg configs.Config, log *slog.Logger) (Daemon, error)
}

// Daemon is an in-process podrun, opened by Env.OpenDaemon.
type Daemon interface {
	// Addr is the host:port it listens on.
	Addr() string
	// Run serves until ctx ends.
	Run(ctx context.Context) error
	// Close stops it; its containers are the bench's to clean up first.
	Close()
	// SampleUsage runs one pass of its resource monitor now, as its loop would
	// (after the loop's own pass, if one runs).
	SampleUsage(ctx context.Context) (int, error)
}

// Main is `podrun bench` with args (the flags after "bench"): it prepares the
// environment, runs the chosen scenarios, prints the report and leaves no
// container behind. It returns the exit code: 2 for bad flags, 1 for a failed
// run or cleanup, 130 when interrupted.
func Main(args []string, env Env) int {
	stderr := env.Stderr
	opt, err := parseBenchFlags(args, env.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "podrun bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var raw [5]byte
	_, _ = rand.Read(raw[:])
	b := &bench{opt: opt, runID: "bench-" + hex.EncodeToString(raw[:]), log: stderr, env: env}
	b.logf("run %s: setting up", b.runID)
	err = b.open(ctx)
	if err == nil {
		if opt.cpuProfile != "" {
			if f, ferr := os.Create(opt.cpuProfile); ferr == nil {
				_ = pprof.StartCPUProfile(f)
				defer f.Close()
			} else {
				b.logf("cpuprofile: %v", ferr)
			}
		}
		b.runScenarios(ctx)
		pprof.StopCPUProfile()
	}
	leftover := b.close()
	if err != nil {
		fmt.Fprintf(stderr, "podrun bench: %v\n", err)
		return 1
	}
	b.finishReport()
	out, table := env.Stdout, env.Stdout
	if opt.jsonOut {
		table = stderr
	}
	b.writeTable(table)
	if opt.jsonOut {
		if err := b.writeJSON(out); err != nil {
			fmt.Fprintf(stderr, "podrun bench: %v\n", err)
			return 1
		}
	}
	switch {
	case leftover != nil:
		fmt.Fprintf(stderr, "podrun bench: cleanup: %v\n", leftover)
		return 1
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "podrun bench: interrupted; the report holds what was measured")
		return 130
	}
	return 0
}

// runScenarios runs each chosen scenario; one that fails is reported as not run, with why.
func (b *bench) runScenarios(ctx context.Context) {
	for _, s := range benchScenarios {
		if !contains(b.opt.scenarios, s.name) {
			continue
		}
		if ctx.Err() != nil {
			b.report.Scenarios = append(b.report.Scenarios, &benchResult{Name: s.name, Title: s.title, Skipped: "interrupted"})
			continue
		}
		b.logf("%s: running", s.title)
		start := time.Now()
		res, err := s.run(ctx, b)
		if res == nil {
			res = &benchResult{}
		}
		res.Name, res.Title, res.Seconds = s.name, s.title, time.Since(start).Seconds()
		if err != nil {
			res.Skipped = err.Error()
			b.logf("%s: could not complete: %v", s.title, err)
		} else {
			b.logf("%s: done in %.1fs", s.title, res.Seconds)
		}
		b.report.Scenarios = append(b.report.Scenarios, res)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s bench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}
