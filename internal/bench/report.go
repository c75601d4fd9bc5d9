package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// finishReport gathers every scenario's targets in run order.
func (b *bench) finishReport() {
	r := &b.report
	r.Seconds = time.Since(r.StartedAt).Seconds()
	r.Targets = r.Targets[:0]
	for _, s := range r.Scenarios {
		r.Targets = append(r.Targets, s.Targets...)
	}
}

// writeTable prints the run's header, every scenario's tables and the targets.
func (b *bench) writeTable(w io.Writer) {
	r := b.report
	m := r.Machine
	fmt.Fprintf(w, "podrun bench %s, %s, %.0f s\n", r.RunID, r.StartedAt.Format(time.RFC3339), r.Seconds)
	fmt.Fprintf(w, "machine: %s, Linux %s, %d cores (%s), %.1f GiB memory\n", m.Hostname, m.Kernel, m.Cores, m.CPUModel, float64(m.MemoryBytes)/(1<<30))
	fmt.Fprintf(w, "podman:  %s, OCI runtime %s, cgroup %s, rootless %v\n", r.Podman.Version, r.Podman.Runtime, r.Podman.CgroupVersion, r.Podman.Rootless)
	if gv := r.Podman.Runtimes["gvisor"]; gv != "" {
		fmt.Fprintf(w, "gvisor:  %s\n", gv)
	}
	fmt.Fprintf(w, "podrun:  %s (%s), %s at %s\n", r.Podrun.Version, r.Podrun.Go, r.Podrun.Mode, r.Podrun.Addr)
	fmt.Fprintf(w, "limits:  memory %s, cpus %g, pids %d; baseline (a): podman %s\n", b.opt.memory, b.opt.cpus, b.opt.pids, strings.Join(r.Hardening, " "))
	for _, s := range r.Scenarios {
		if len(s.Tables) == 0 && s.Skipped != "" {
			fmt.Fprintf(w, "\n== %s ==\nnot run: %s\n", s.Title, s.Skipped)
			continue
		}
		for _, t := range s.Tables {
			t.write(w)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  * %s\n", n)
		}
		if s.Skipped != "" {
			fmt.Fprintf(w, "  * INCOMPLETE: %s\n", s.Skipped)
		}
	}
	targetsTable(r.Targets).write(w)
	if r.Leaks != "" {
		fmt.Fprintf(w, "\nWARNING: %s (the bench removed them)\n", r.Leaks)
	}
}

func (b *bench) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b.report)
}
