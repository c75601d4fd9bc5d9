package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/podrun/podrun/api"
)

// benchIsolation is scenario 8: the cost of gVisor. Four functions running
// `cat`, runc and gvisor, each cold (no pool) and warm (a pool of one,
// refilled before every request), invoked in rounds whose order rotates, so
// both runtimes see the same host load. It needs a podrun with a gVisor
// service (--gvisor-socket for the in-process one).
func benchIsolation(ctx context.Context, b *bench) (*benchResult, error) {
	type kind struct {
		name, fn, isolation string
		warm                bool
		lat                 []time.Duration
		starts              map[string]int
	}
	var kinds []*kind
	for _, iso := range []string{api.IsolationRunc, api.IsolationGVisor} {
		for _, warm := range []bool{false, true} {
			k := &kind{isolation: iso, warm: warm, starts: map[string]int{}}
			pool, mode := 0, "cold"
			if warm {
				pool, mode = 1, "warm"
			}
			k.name = iso + " " + mode
			fn, err := b.deployIsolated(ctx, "iso-"+iso+"-"+mode, pool, 1, iso)
			if err != nil {
				return nil, fmt.Errorf("deploy a %s function (is podrun configured with sandbox.gvisor_socket? --gvisor-socket): %w", k.name, err)
			}
			defer b.undeploy(fn)
			k.fn = fn
			kinds = append(kinds, k)
		}
	}
	run := func(k *kind) (time.Duration, string, error) {
		if k.warm {
			if _, err := b.awaitPool(ctx, k.fn, 1); err != nil {
				return 0, "", err
			}
		}
		inv, err := b.invoke(ctx, k.fn, benchBody)
		return inv.took, inv.start, err
	}
	for _, k := range kinds { // unmeasured: the first gVisor sandbox pays for loading runsc
		if _, _, err := run(k); err != nil {
			return nil, fmt.Errorf("warm-up %s: %w", k.name, err)
		}
	}
	for i := range b.opt.isoN {
		for j := range kinds {
			k := kinds[(i+j)%len(kinds)]
			d, start, err := run(k)
			if err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", k.name, i+1, err)
			}
			k.lat = append(k.lat, d)
			k.starts[start]++
		}
	}
	res := newResult()
	t := benchTable{Title: fmt.Sprintf("8. isolation: runc against gVisor, %d rounds of each kind, order rotating", b.opt.isoN), Columns: latencyColumns}
	sums := map[string]latencySummary{}
	for _, k := range kinds {
		s := summarize(k.lat)
		sums[k.name] = s
		res.Latency[k.name] = s
		t.add(latencyRow(k.name, s)...)
		t.Notes = append(t.Notes, fmt.Sprintf("%s: X-Podrun-Start %d warm, %d cold", k.name, k.starts[api.StartWarm], k.starts[api.StartCold]))
	}
	for _, mode := range []string{"cold", "warm"} {
		r, g := sums["runc "+mode], sums["gvisor "+mode]
		t.add("gvisor / runc "+mode, "", num(ratio(g.P50, r.P50)), num(ratio(g.P90, r.P90)), num(ratio(g.P99, r.P99)), "")
		res.value("p50_ratio_gvisor_to_runc_"+mode, ratio(g.P50, r.P50))
	}
	t.Notes = append(t.Notes, "every figure is one invocation through the HTTP API, request sent to last byte received; warm kinds wait for their pool of one before each request")
	res.Tables = append(res.Tables, t)
	return res, nil
}

// deployIsolated deploys a `cat` function, as deploy does, under isolation.
func (b *bench) deployIsolated(ctx context.Context, kind string, warm, maxConcurrency int, isolation string) (string, error) {
	name := b.runID + "-" + kind
	f := api.FunctionRequest{
		Image: b.opt.image, Command: []string{"cat"}, Warm: &warm, MaxConcurrency: &maxConcurrency,
		Timeout: "60s", Limits: b.limitsRequest(), Isolation: isolation,
	}
	b.functions = append(b.functions, name)
	if _, _, err := b.api.PutFunction(ctx, name, f); err != nil {
		return "", err
	}
	return name, nil
}
