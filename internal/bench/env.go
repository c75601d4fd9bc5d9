package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/internal/buildinfo"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/sandbox"
)

// bench is one run of `podrun bench`: the podrun under test, a bare sandbox
// for the baselines and cleanup, and the report being filled in.
type bench struct {
	opt    benchOptions
	runID  string // every container of the run carries podrun.instance=runID
	log    io.Writer
	env    Env
	addr   string // podrun's host:port
	api    *client.Client
	sb     *sandbox.Podman // the bindings path podrun uses, for baseline (b) and cleanup
	limits runner.Limits   // every container's limits, podrun's and the baselines'
	report benchReport

	daemon  Daemon // nil with --addr
	stopRun context.CancelFunc
	served  chan struct{}
	dataDir string

	baselineArgs []string // podman's arguments for baseline (a)
	functions    []string // deployed by this run, deleted at close
	leaked       []string // containers podrun had not removed once it closed
	bareOps      *opTimes // latencies of the bare sandbox's Podman calls
}

// open starts podrun in-process (or reaches --addr) and connects the bare sandbox.
func (b *bench) open(ctx context.Context) error {
	b.report = benchReport{RunID: b.runID, StartedAt: time.Now().UTC(), Settings: b.opt.settings()}
	mem, err := runner.ParseByteSize(b.opt.memory)
	if err != nil {
		return fmt.Errorf("--memory: %w", err)
	}
	b.limits = runner.Limits{Memory: int64(mem), CPUs: b.opt.cpus, PIDs: int64(b.opt.pids)}
	cfg := configs.Default()
	cfg.PodmanSocket = b.opt.podmanSocket
	cfg.Listen = "127.0.0.1:0"
	cfg.LogLevel = "warn"
	cfg.AllowUnenforcedLimits = b.opt.allowUnenforced
	cfg.Sandbox.GVisorSocket = b.opt.gvisorSocket
	if b.opt.addr == "" {
		if err := b.startDaemon(ctx, cfg); err != nil {
			return err
		}
	} else {
		if b.api, err = newClient(b.opt.addr, b.opt.token, 64); err != nil {
			return fmt.Errorf("--addr: %w", err)
		}
		b.addr = b.opt.addr
		b.report.Podrun.Mode = "external (--addr)"
		b.report.Podrun.Addr = b.opt.addr
	}
	b.bareOps = newOpTimes()
	scfg := sandbox.ConfigFrom(cfg) // podrun's sandbox config without the shim, which `cat` does not need
	scfg.Observe = b.bareOps.observe
	if b.sb, err = sandbox.New(ctx, scfg); err != nil {
		return fmt.Errorf("connect to podman at %s: %w", cfg.PodmanSocket, err)
	}
	if _, err := b.api.Health(ctx); err != nil {
		return fmt.Errorf("podrun at %s: %w", b.api.BaseURL(), err)
	}
	b.report.Machine = machineInfo()
	b.report.Podrun.Version = buildinfo.Version
	b.report.Podrun.Go = runtime.Version()
	host, err := b.sb.Probe(ctx)
	if err != nil {
		return err
	}
	b.report.Podman = benchHost{Version: host.Version, Runtime: host.Runtime, Rootless: host.Rootless,
		CgroupVersion: host.CgroupVersion, Controllers: host.Controllers}
	if b.baselineArgs, err = b.podmanRunArgs(b.sb.Config()); err != nil {
		return err
	}
	b.report.Hardening = b.baselineArgs
	b.report.Start = b.footprintSample(ctx)
	return nil
}

// startDaemon opens podrun as `podrun serve` would, with a temp data dir whose
// instance id is the run id, so podrun's containers carry the run's label too.
func (b *bench) startDaemon(ctx context.Context, cfg configs.Config) error {
	dir, err := os.MkdirTemp("", "podrun-bench-")
	if err != nil {
		return err
	}
	b.dataDir = dir
	if err := os.WriteFile(filepath.Join(dir, "instance-id"), []byte(b.runID+"\n"), 0o600); err != nil {
		return err
	}
	cfg.DataDir = dir
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(b.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if b.env.OpenDaemon == nil {
		return errors.New("this program cannot start podrun in-process: give --addr")
	}
	d, err := b.env.OpenDaemon(ctx, cfg, log)
	if err != nil {
		return err
	}
	b.daemon = d
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	b.stopRun, b.served = stop, make(chan struct{})
	go func() {
		defer close(b.served)
		if err := d.Run(runCtx); err != nil {
			b.logf("podrun stopped: %v", err)
		}
	}()
	if b.api, err = newClient(d.Addr(), "", 64); err != nil {
		return err
	}
	b.addr = d.Addr()
	b.report.Podrun.Mode = "in-process (OpenDaemon, temp data dir)"
	b.report.Podrun.Addr = d.Addr()
	return nil
}

// close removes everything the run created, stops the in-process podrun and
// checks that no container labelled with the run id is left.
func (b *bench) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	if b.api != nil {
		b.logf("cleaning up (functions, agents, containers labelled podrun.instance=%s)", b.runID)
		err = b.cleanup(ctx)
	}
	if b.daemon != nil {
		b.stopRun()
		<-b.served
		b.daemon.Close()
	}
	if b.sb != nil {
		if left := b.removeLabelled(ctx); left > 0 {
			// Removed now, so the run leaves nothing behind; but podrun should have: report it.
			b.report.Leaks = fmt.Sprintf("podrun left %d containers behind: %s", left, strings.Join(b.leaked, "; "))
			b.logf("WARNING: %s", b.report.Leaks)
		}
		if cs, lerr := b.sb.List(ctx, map[string]string{runner.LabelInstance: b.runID}); lerr != nil || len(cs) > 0 {
			err = fmt.Errorf("after cleanup: %d containers labelled podrun.instance=%s remain (list: %v)", len(cs), b.runID, lerr)
		}
		_ = b.sb.Close()
	}
	if b.dataDir != "" {
		_ = os.RemoveAll(b.dataDir)
	}
	return err
}

// benchReport is the JSON document of a run.
type benchReport struct {
	RunID     string          `json:"run_id"`
	StartedAt time.Time       `json:"started_at"`
	Seconds   float64         `json:"duration_seconds"`
	Machine   benchMachine    `json:"machine"`
	Podman    benchHost       `json:"podman"`
	Podrun    benchPodrun     `json:"podrun"`
	Hardening []string        `json:"podman_run_baseline_args"`
	Settings  map[string]any  `json:"settings"`
	Start     podrunFootprint `json:"footprint_at_start"`
	Scenarios []*benchResult  `json:"scenarios"`
	Targets   []benchTarget   `json:"targets"`
	Leaks     string          `json:"podrun_leaks,omitempty"`
}

// benchHost is runner.Host as the report writes it (runner's types carry no JSON names).
type benchHost struct {
	Version       string   `json:"version"`
	Runtime       string   `json:"runtime"`
	Rootless      bool     `json:"rootless"`
	CgroupVersion string   `json:"cgroup_version"`
	Controllers   []string `json:"controllers"`
	// RuntimeVersion and Runtimes are as runner.Host has them: the runtime of each isolation.
	RuntimeVersion string            `json:"runtime_version"`
	Runtimes       map[string]string `json:"runtimes"`
}

// benchPodrun says which podrun was measured.
type benchPodrun struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	Mode    string `json:"mode"`
	Addr    string `json:"addr"`
}

// benchResult is one scenario's figures; Skipped says why it did not (fully) run.
type benchResult struct {
	Name    string                    `json:"name"`
	Title   string                    `json:"title"`
	Seconds float64                   `json:"seconds"`
	Skipped string                    `json:"error,omitempty"`
	Latency map[string]latencySummary `json:"latency,omitempty"`
	Values  map[string]jsonFloat      `json:"values,omitempty"`
	Notes   []string                  `json:"notes,omitempty"`
	Targets []benchTarget             `json:"targets,omitempty"`
	Tables  []benchTable              `json:"-"`
}

func newResult() *benchResult {
	return &benchResult{Latency: map[string]latencySummary{}, Values: map[string]jsonFloat{}}
}

func (r *benchResult) value(name string, v float64) { r.Values[name] = jsonFloat(v) }

func (o benchOptions) settings() map[string]any {
	return map[string]any{
		"scenarios": o.scenarios, "n": o.coldN, "warm_n": o.warmN, "warm": o.warmSize,
		"throughput_time": o.tputTime.String(), "throughput_rounds": o.tputRounds, "concurrency": o.tputConc,
		"control_time": o.ctlTime.String(), "clients": o.ctlClients, "control_agents": o.ctlAgents,
		"ttl_agents": o.ttlAgents, "ttl_spread": o.ttlSpread.String(), "delete_n": o.delN, "delete_load": o.delLoad, "exec_n": o.execN,
		"footprint_agents": o.fpAgents, "footprint_live": o.fpLive, "create_workers": o.createWorkers,
		"files_size": o.filesSize, "files_n": o.filesN, "monitor_agents": o.monAgents, "monitor_passes": o.monSamples,
		"image": o.image, "memory": o.memory, "cpus": o.cpus, "pids": o.pids, "allow_unenforced_limits": o.allowUnenforced,
		"isolation_n": o.isoN, "gvisor_socket": o.gvisorSocket,
	}
}
