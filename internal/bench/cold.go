package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/podrun/podrun/api"
)

// benchBody is what every invocation and baseline feeds `cat` and expects back.
var benchBody = []byte("podrun bench\n")

// benchCold is scenario 1: N sequential cold invocations through the HTTP API,
// interleaved with (a) podman run --rm -i under the same hardening and (b) the
// bare bindings sequence podrun uses, in an order that rotates every round.
func benchCold(ctx context.Context, b *bench) (*benchResult, error) {
	fn, err := b.deploy(ctx, "cold", 0, 1)
	if err != nil {
		return nil, err
	}
	defer b.undeploy(fn)
	var invs []invocation
	kinds := []struct {
		name string
		run  func(context.Context) (time.Duration, error)
	}{
		{"podrun invoke", func(ctx context.Context) (time.Duration, error) {
			inv, err := b.invoke(ctx, fn, benchBody)
			invs = append(invs, inv)
			return inv.took, err
		}},
		{"(a) podman run --rm", func(ctx context.Context) (time.Duration, error) { return b.podmanRun(ctx, benchBody) }},
		{"(b) bindings", func(ctx context.Context) (time.Duration, error) { return b.bareRun(ctx, benchBody) }},
	}
	// One of each first, unmeasured: image lookups, connections and caches warm up.
	for _, k := range kinds {
		if _, err := k.run(ctx); err != nil {
			return nil, fmt.Errorf("warm-up %s: %w", k.name, err)
		}
	}
	invs = invs[:0]
	b.bareOps.take()
	before, err := b.metrics(ctx)
	if err != nil {
		return nil, err
	}
	lat := make([][]time.Duration, len(kinds))
	for i := range b.opt.coldN {
		for j := range kinds {
			k := (i + j) % len(kinds)
			d, err := kinds[k].run(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", kinds[k].name, i+1, err)
			}
			lat[k] = append(lat[k], d)
		}
	}
	after, err := b.metrics(ctx)
	if err != nil {
		return nil, err
	}
	bare := b.bareOps.take()

	res := newResult()
	t := benchTable{Title: fmt.Sprintf("1. cold invoke: %d sequential rounds, each one of every kind, order rotating", b.opt.coldN), Columns: latencyColumns}
	sums := make([]latencySummary, len(kinds))
	for k := range kinds {
		sums[k] = summarize(lat[k])
		res.Latency[kinds[k].name] = sums[k]
		t.add(latencyRow(kinds[k].name, sums[k])...)
	}
	p, a, bb := sums[0], sums[1], sums[2]
	t.add("podrun / (a)", "", num(ratio(p.P50, a.P50)), num(ratio(p.P90, a.P90)), num(ratio(p.P99, a.P99)), "")
	t.add("podrun / (b)", "", num(ratio(p.P50, bb.P50)), num(ratio(p.P90, bb.P90)), num(ratio(p.P99, bb.P99)), "")
	res.value("p50_ratio_podrun_to_podman_run", ratio(p.P50, a.P50))
	res.value("p50_ratio_podrun_to_bindings", ratio(p.P50, bb.P50))
	t.Notes = append(t.Notes,
		"(a) is `podman run --rm -i` with the flags sandbox.RunArgs renders from the spec sandbox.Harden builds (see podman_run_baseline_args in --json); (b) is package sandbox's Create, Attach, Start, Wait, Remove: the bindings path podrun itself uses, without HTTP, SQLite, admission or the shim",
		"every figure is request sent to last byte received; (a) and (b) include removing the container, podrun's only if it answers after the removal (see the phase table)")
	res.Targets = append(res.Targets, target("cold p50 vs podman run --rm", "<= 0.5 x", ratio(p.P50, a.P50), "x", 0.5, true))
	res.Tables = append(res.Tables, t)
	res.Tables = append(res.Tables, opsTable("1. cold invoke: Podman calls (podrun from /metrics; bindings from the sandbox Observe hook)",
		podmanOpsFrom(before), podmanOpsFrom(after), bare))
	bd, err := b.phaseBreakdown(ctx, "1. cold invoke: where podrun's time goes (agent events)", coldPhases, invs, res)
	if err != nil {
		res.Notes = append(res.Notes, "no phase breakdown: "+err.Error())
	} else {
		res.Tables = append(res.Tables, bd)
	}
	return res, nil
}

// benchPhase is a span between two moments of an invocation: "@begin" and
// "@end" are the client's send and receive times, other names container events.
type benchPhase struct{ name, from, to string }

// coldPhases follow a cold invocation's container from create to exit.
var coldPhases = []benchPhase{
	{"request in to create call", "@begin", "creating"},
	{"create (podman create)", "creating", "created"},
	{"attach (podman inits the container)", "created", "starting"},
	{"start", "starting", "running"},
	{"run, exit detection (cat to EOF, shim exit line)", "running", "stopped"},
	{"exit recorded, answer to the last byte", "stopped", "@end"},
	{"save log tail, remove container", "removing", "removed"},
}

// warmPhases follow a warm invocation: its container is created and started ahead.
var warmPhases = []benchPhase{
	{"request in to pool container taken", "@begin", "created"},
	{"attach to the running container", "created", "starting"},
	{"mark running", "starting", "running"},
	{"run, exit detection (header, cat to EOF, shim exit line)", "running", "stopped"},
	{"exit recorded, answer to the last byte", "stopped", "@end"},
	{"save log tail, remove container", "removing", "removed"},
}

// phaseBreakdown splits podrun's invocations along their agents' container
// events (server clock, same host as the client's).
func (b *bench) phaseBreakdown(ctx context.Context, title string, phases []benchPhase, invs []invocation, res *benchResult) (benchTable, error) {
	ds := make([][]time.Duration, len(phases))
	onPath := 0
	for _, inv := range invs {
		evs, err := b.api.Events(ctx, inv.agentID)
		if err != nil {
			return benchTable{}, err
		}
		at := map[string]time.Time{"@begin": inv.ended.Add(-inv.took), "@end": inv.ended}
		for _, e := range evs {
			if e.Type == api.EventContainer {
				if _, seen := at[e.Name]; !seen {
					at[e.Name] = e.Time.Time()
				}
			}
		}
		for i, ph := range phases {
			from, ok1 := at[ph.from]
			to, ok2 := at[ph.to]
			if ok1 && ok2 {
				ds[i] = append(ds[i], to.Sub(from))
			}
		}
		if r, ok := at["removed"]; ok && !inv.ended.Before(r) {
			onPath++
		}
	}
	t := benchTable{Title: title, Columns: []string{"phase", "n", "p50 ms", "mean ms"}}
	for i, ph := range phases {
		s := summarize(ds[i])
		res.Latency["phase: "+ph.name] = s
		t.add(ph.name, fmt.Sprint(s.N), num(s.P50), num(s.Mean))
	}
	res.value("removal_on_response_path", float64(onPath))
	t.Notes = append(t.Notes, "times are podrun's agent events (server clock) and the client's send and receive times (same host); the rows up to 'stopped' follow each other",
		fmt.Sprintf("the removal finished before the answer's last byte (on the response path) in %d of %d invocations", onPath, len(invs)))
	return t, nil
}
