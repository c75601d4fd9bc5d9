package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// benchThroughput is scenario 3: fresh-container invocations per second at
// each concurrency, in windows alternating podrun and the bare bindings
// sequence, with the CPU time each invocation cost podrun's process and the machine.
func benchThroughput(ctx context.Context, b *bench) (*benchResult, error) {
	fn, err := b.deploy(ctx, "tput", 0, min(slices.Max(b.opt.tputConc), 16))
	if err != nil {
		return nil, err
	}
	defer b.undeploy(fn)
	if _, err := b.invoke(ctx, fn, benchBody); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	podrun := func(ctx context.Context) (time.Duration, error) {
		inv, err := b.invoke(ctx, fn, benchBody)
		return inv.took, err
	}
	bare := func(ctx context.Context) (time.Duration, error) { return b.bareRun(ctx, benchBody) }
	res := newResult()
	rates := benchTable{
		Title:   fmt.Sprintf("3. throughput: %v per side per concurrency, in %d alternating windows", b.opt.tputTime, b.opt.tputRounds),
		Columns: []string{"concurrency", "podrun inv/s", "(b) bindings inv/s", "podrun/(b)", "podrun p50 ms", "(b) p50 ms", "podrun n", "(b) n", "errors podrun/(b)"},
	}
	cpu := benchTable{
		Title:   "3. throughput: CPU seconds per invocation (ms)",
		Columns: []string{"concurrency", "podrun process", "machine, podrun", "bench process, (b)", "machine, (b)", "machine - podrun process"},
	}
	window := b.opt.tputTime / time.Duration(b.opt.tputRounds)
	for _, c := range b.opt.tputConc {
		var p, w windowStats
		for r := range b.opt.tputRounds {
			if r%2 == 0 {
				p.add(b.window(ctx, c, window, podrun))
				w.add(b.window(ctx, c, window, bare))
			} else {
				w.add(b.window(ctx, c, window, bare))
				p.add(b.window(ctx, c, window, podrun))
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
		}
		if p.n == 0 || w.n == 0 {
			return res, fmt.Errorf("concurrency %d: no invocation succeeded: %v", c, firstNonNil(p.err, w.err))
		}
		pr, wr := p.rate(), w.rate()
		ps, ws := summarize(p.lat), summarize(w.lat)
		rates.add(fmt.Sprint(c), num(pr), num(wr), num(ratio(pr, wr)), num(ps.P50), num(ws.P50), fmt.Sprint(p.n), fmt.Sprint(w.n), fmt.Sprintf("%d/%d", p.errs, w.errs))
		cpu.add(fmt.Sprint(c), num(p.cpu.proc/float64(p.n)*1000), num(p.cpu.machine/float64(p.n)*1000),
			num(w.cpu.proc/float64(w.n)*1000), num(w.cpu.machine/float64(w.n)*1000),
			num((p.cpu.machine-p.cpu.proc)/float64(p.n)*1000))
		key := fmt.Sprintf("c%d_", c)
		res.value(key+"podrun_per_second", pr)
		res.value(key+"bindings_per_second", wr)
		res.value(key+"ratio", ratio(pr, wr))
		res.value(key+"podrun_process_cpu_ms_per_invocation", p.cpu.proc/float64(p.n)*1000)
		res.value(key+"machine_cpu_ms_per_podrun_invocation", p.cpu.machine/float64(p.n)*1000)
		res.value(key+"bench_process_cpu_ms_per_bindings_run", w.cpu.proc/float64(w.n)*1000)
		res.value(key+"machine_cpu_ms_per_bindings_run", w.cpu.machine/float64(w.n)*1000)
		res.value(key+"errors", float64(p.errs+w.errs))
		res.Latency[key+"podrun"], res.Latency[key+"bindings"] = ps, ws
		if p.errs+w.errs > 0 {
			rates.Notes = append(rates.Notes, fmt.Sprintf("concurrency %d: first error: podrun %v; (b) %v", c, p.err, w.err))
		}
		if c == 4 {
			res.Targets = append(res.Targets, target("throughput at concurrency 4 vs bindings", ">= 0.95 x", ratio(pr, wr), "x", 0.95, false))
		}
	}
	rates.Notes = append(rates.Notes, "a rate is invocations completed / (window start to the last one's end); every invocation gets a fresh container")
	cpu.Notes = append(cpu.Notes, "process CPU from getrusage (in-process: podrun and the bench's HTTP client share it) or /proc/PID/stat (--pid); machine CPU from /proc/stat, all cores, idle/iowait/steal excluded",
		"machine - podrun process is what Podman, conmon, runc, the kernel and the cleanup processes spent per invocation")
	res.Tables = append(res.Tables, rates, cpu)
	return res, nil
}

// windowStats adds up one side's windows at one concurrency.
type windowStats struct {
	n, errs int
	elapsed time.Duration
	cpu     cpuSample
	lat     []time.Duration
	err     error
}

func (w *windowStats) add(o windowStats) {
	w.n += o.n
	w.errs += o.errs
	w.elapsed += o.elapsed
	w.cpu.proc += o.cpu.proc
	w.cpu.machine += o.cpu.machine
	w.lat = append(w.lat, o.lat...)
	if w.err == nil {
		w.err = o.err
	}
}

func (w windowStats) rate() float64 { return float64(w.n) / w.elapsed.Seconds() }

// window runs op with c workers, each starting invocations until d has passed,
// and waits for the last one.
func (b *bench) window(ctx context.Context, c int, d time.Duration, op func(context.Context) (time.Duration, error)) windowStats {
	var mu sync.Mutex
	var st windowStats
	before := b.cpuNow()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				took, err := op(ctx)
				mu.Lock()
				if err != nil {
					st.errs++
					if st.err == nil {
						st.err = err
					}
				} else {
					st.n++
					st.lat = append(st.lat, took)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	st.cpu = b.cpuNow().since(before)
	return st
}

func firstNonNil(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
