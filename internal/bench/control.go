package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

// benchControl is scenario 4: GET /v1/agents/:id and a 100-agent list page
// under 16 concurrent keep-alive clients; the table is topped up first.
func benchControl(ctx context.Context, b *bench) (*benchResult, error) {
	res := newResult()
	added, took, err := b.fillTable(ctx, max(b.opt.ctlAgents, 100))
	if err != nil {
		return nil, fmt.Errorf("create agents: %w", err)
	}
	all, err := b.list(ctx, api.ListOptions{})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(all))
	for _, a := range all {
		ids = append(ids, a.ID)
	}
	if len(ids) < 100 {
		return nil, fmt.Errorf("the table holds %d agents, want at least 100", len(ids))
	}
	t := benchTable{
		Title:   fmt.Sprintf("4. control plane: %d keep-alive clients, %v per route, %d agents in the table", b.opt.ctlClients, b.opt.ctlTime, len(ids)),
		Columns: []string{"route", "req/s", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"},
	}
	routes := []struct{ name, key string }{
		{"GET /v1/agents/:id", "get"},
		{"GET /v1/agents?limit=100", "list"},
	}
	page := api.ListOptions{Limit: 100}.Query()
	for _, r := range routes {
		get := func(ctx context.Context, c *client.Client, i int) error {
			return c.GetRaw(ctx, "/v1/agents/"+ids[i%len(ids)], nil, io.Discard)
		}
		if r.key == "list" {
			get = func(ctx context.Context, c *client.Client, _ int) error {
				return c.GetRaw(ctx, "/v1/agents", page, io.Discard)
			}
		}
		cpuBefore := b.cpuNow()
		l := b.load(ctx, get)
		cpu := b.cpuNow().since(cpuBefore)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		s := summarize(l.lat)
		rps := float64(s.N) / l.elapsed.Seconds()
		res.Latency[r.key] = s
		res.value(r.key+"_per_second", rps)
		res.value(r.key+"_errors", float64(l.errs))
		res.value(r.key+"_process_cpu_seconds", cpu.proc)
		res.value(r.key+"_machine_cpu_seconds", cpu.machine)
		t.add(r.name, num(rps), fmt.Sprint(s.N), num(s.P50), num(s.P90), num(s.P99), num(s.Max), fmt.Sprint(l.errs))
		t.Notes = append(t.Notes, fmt.Sprintf("%s: podrun's process used %.2f CPU s, the machine %.2f, in %.1f s", r.name, cpu.proc, cpu.machine, l.elapsed.Seconds()))
		if l.err != nil {
			t.Notes = append(t.Notes, fmt.Sprintf("%s: first error: %v", r.name, l.err))
		}
		if r.key == "get" {
			res.Targets = append(res.Targets, target("GET /v1/agents/:id", ">= 15000 req/s", rps, "req/s", 15000, false))
		} else {
			res.Targets = append(res.Targets, target("list page p99", "<= 20 ms", s.P99, "ms", 20, true))
		}
	}
	if added > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("%d agents were added first (`true`, deleted at once) in %.1f s", added, took.Seconds()))
	}
	if b.daemon != nil {
		t.Notes = append(t.Notes, "podrun runs in-process: its process CPU includes the load generator's, and both share the same cores")
	} else {
		t.Notes = append(t.Notes, "the load generator (this process) shares the machine's cores with podrun")
	}
	res.Tables = append(res.Tables, t)
	return res, nil
}

// loadStats is what one route's load produced.
type loadStats struct {
	lat     []time.Duration
	errs    int
	err     error
	elapsed time.Duration
}

// load sends get from ctlClients clients, each with its own keep-alive
// connection, for ctlTime; only successful answers count. The answers are
// read whole but not decoded: what is measured is podrun.
func (b *bench) load(ctx context.Context, get func(ctx context.Context, c *client.Client, i int) error) loadStats {
	var mu sync.Mutex
	var st loadStats
	start := time.Now()
	deadline := start.Add(b.opt.ctlTime)
	var wg sync.WaitGroup
	for w := range b.opt.ctlClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := newClient(b.addr, b.opt.token, 1)
			if err != nil {
				mu.Lock()
				st.errs, st.err = st.errs+1, firstNonNil(st.err, err)
				mu.Unlock()
				return
			}
			defer c.CloseIdleConnections()
			lat := make([]time.Duration, 0, 4096)
			errs, i := 0, w*7919
			var first error
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i++
				t0 := time.Now()
				err := get(ctx, c, i)
				if err != nil {
					errs++
					first = firstNonNil(first, err)
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			st.lat = append(st.lat, lat...)
			st.errs += errs
			st.err = firstNonNil(st.err, first)
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	return st
}
