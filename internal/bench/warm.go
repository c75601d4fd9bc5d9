package bench

import (
	"context"
	"fmt"
	"time"
)

// benchWarm is scenario 2: invocations of a function with a warm pool, each
// sent once the pool is full again (so hits are expected, and misses counted
// from X-Podrun-Start), interleaved with podman run --rm baselines. Each
// invocation must have run in a container that served nobody before.
func benchWarm(ctx context.Context, b *bench) (*benchResult, error) {
	fn, err := b.deploy(ctx, "warm", b.opt.warmSize, 1)
	if err != nil {
		return nil, err
	}
	defer b.undeploy(fn)
	if _, err := b.awaitPool(ctx, fn, b.opt.warmSize); err != nil {
		return nil, err
	}
	// One unmeasured warm invocation, as in scenario 1.
	if _, err := b.invoke(ctx, fn, benchBody); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	before, err := b.metrics(ctx)
	if err != nil {
		return nil, err
	}
	var warm, hits, misses, run []time.Duration
	var invs []invocation
	var refill []time.Duration
	for i := range 2 * b.opt.warmN {
		took, err := b.awaitPool(ctx, fn, b.opt.warmSize)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			refill = append(refill, took)
		}
		pair, second := i/2, i%2 == 1
		if second == (pair%2 == 1) { // podrun first in even pairs, second in odd ones
			inv, err := b.invoke(ctx, fn, benchBody)
			if err != nil {
				return nil, err
			}
			invs = append(invs, inv)
			warm = append(warm, inv.took)
			if inv.start == "warm" {
				hits = append(hits, inv.took)
			} else {
				misses = append(misses, inv.took)
			}
			continue
		}
		d, err := b.podmanRun(ctx, benchBody)
		if err != nil {
			return nil, err
		}
		run = append(run, d)
	}
	after, err := b.metrics(ctx)
	if err != nil {
		return nil, err
	}
	res := newResult()
	distinct, checkErr := b.checkFreshContainers(ctx, invs)
	t := benchTable{Title: fmt.Sprintf("2. warm invoke: pool of %d, refilled before every request, interleaved with podman run --rm", b.opt.warmSize), Columns: latencyColumns}
	for _, r := range []struct {
		name string
		ds   []time.Duration
	}{{"podrun warm invoke (all)", warm}, {"  of which hits", hits}, {"  of which misses", misses}, {"(a) podman run --rm", run}, {"pool refill (wait)", refill}} {
		s := summarize(r.ds)
		res.Latency[r.name] = s
		t.add(latencyRow(r.name, s)...)
	}
	w, a := summarize(warm), summarize(run)
	t.add("podrun / (a)", "", num(ratio(w.P50, a.P50)), num(ratio(w.P90, a.P90)), num(ratio(w.P99, a.P99)), "")
	res.value("hits", float64(len(hits)))
	res.value("misses", float64(len(misses)))
	res.value("distinct_containers", float64(distinct))
	res.value("p50_ratio_podrun_to_podman_run", ratio(w.P50, a.P50))
	t.Notes = append(t.Notes, fmt.Sprintf("X-Podrun-Start: %d warm, %d cold; %d invocations ran in %d distinct containers, none reused",
		len(hits), len(misses), len(invs), distinct))
	if checkErr != nil {
		t.Notes = append(t.Notes, "FRESHNESS CHECK FAILED: "+checkErr.Error())
		res.Notes = append(res.Notes, checkErr.Error())
	}
	res.Targets = append(res.Targets,
		target("warm p50", "<= 12 ms", w.P50, "ms", 12, true),
		target("warm p99", "<= 40 ms", w.P99, "ms", 40, true))
	res.Tables = append(res.Tables, t)
	if bd, err := b.phaseBreakdown(ctx, "2. warm invoke: where podrun's time goes (agent events)", warmPhases, invs, res); err == nil {
		res.Tables = append(res.Tables, bd)
	}
	res.Tables = append(res.Tables, opsTable("2. warm invoke: podrun's Podman calls, refills and removals included (/metrics)",
		podmanOpsFrom(before), podmanOpsFrom(after), nil))
	return res, checkErr
}

// awaitPool waits until the function's pool gauge (podrun_pool_size) reaches n and says how long that took.
func (b *bench) awaitPool(ctx context.Context, fn string, n int) (time.Duration, error) {
	start := time.Now()
	key := `podrun_pool_size{function="` + fn + `"}`
	deadline := start.Add(time.Minute)
	for {
		m, err := b.metrics(ctx)
		if err != nil {
			return 0, err
		}
		if m[key] >= float64(n) {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the pool of %s holds %v containers after a minute, want %d", fn, m[key], n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkFreshContainers checks that every invocation ran in its own container,
// and that a warm one's container was not one a previous invocation used.
func (b *bench) checkFreshContainers(ctx context.Context, invs []invocation) (int, error) {
	seen := map[string]string{}
	for _, inv := range invs {
		a, err := b.api.Agent(ctx, inv.agentID)
		if err != nil {
			return len(seen), err
		}
		if a.ContainerID == "" {
			return len(seen), fmt.Errorf("invocation %s has no container id", a.ID)
		}
		if prev, dup := seen[a.ContainerID]; dup {
			return len(seen), fmt.Errorf("invocations %s and %s ran in the same container %s", prev, a.ID, a.ContainerID)
		}
		seen[a.ContainerID] = a.ID
	}
	return len(seen), nil
}
