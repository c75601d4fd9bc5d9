package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/podrun/podrun/api"
)

// benchTTL is scenario 5: M sleeping agents, all running, get deadlines
// spread evenly from 1 s to ttlSpread (PATCH ttl); lateness is finished_at −
// expires_at as the API reports them.
func benchTTL(ctx context.Context, b *bench) (*benchResult, error) {
	m := b.opt.ttlAgents
	start := time.Now()
	agents, err := b.startSleepers(ctx, "ttl", m, b.opt.createWorkers, "10m")
	if err != nil {
		return nil, fmt.Errorf("start %d sleeping agents: %w", m, err)
	}
	created := time.Since(start)
	cpuBefore := b.cpuNow()
	// Deadlines: 1 s .. spread, set in a burst of PATCHes so they all count from now.
	err = b.parallel(ctx, len(agents), 8, func(ctx context.Context, i int) error {
		ttl := time.Second
		if len(agents) > 1 {
			ttl += (b.opt.ttlSpread - time.Second) * time.Duration(i) / time.Duration(len(agents)-1)
		}
		_, err := b.api.SetTTL(ctx, agents[i].ID, ttl.String())
		return err
	})
	if err != nil {
		_ = b.expireAll(context.WithoutCancel(ctx), agents)
		return nil, fmt.Errorf("set deadlines: %w", err)
	}
	var late, removed []time.Duration
	states := map[string]int{}
	var finals []api.Agent
	var mu sync.Mutex
	err = b.parallel(ctx, len(agents), 8, func(ctx context.Context, i int) error {
		a, err := b.await(ctx, agents[i].ID, b.opt.ttlSpread+2*time.Minute, finalAndRemoved)
		if err != nil {
			return err
		}
		mu.Lock()
		finals = append(finals, a)
		mu.Unlock()
		return nil
	})
	cpu := b.cpuNow().since(cpuBefore)
	if err != nil {
		return nil, err
	}
	for _, a := range finals {
		states[string(a.State)+"/"+a.Reason]++
		if a.FinishedAt == nil || a.ExpiresAt == nil {
			continue
		}
		expired := a.ExpiresAt.Time()
		late = append(late, a.FinishedAt.Time().Sub(expired))
		evs, err := b.api.Events(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Type == api.EventContainer && e.Name == api.PhaseRemoved {
				removed = append(removed, e.Time.Time().Sub(expired))
				break
			}
		}
	}
	res := newResult()
	t := benchTable{
		Title:   fmt.Sprintf("5. TTL precision: %d running `sleep 600` agents, deadlines spread over 1s..%v", m, b.opt.ttlSpread),
		Columns: latencyColumns,
	}
	ls, rs := summarize(late), summarize(removed)
	res.Latency["lateness"], res.Latency["expiry_to_container_removed"] = ls, rs
	t.add(latencyRow("lateness: finished_at - expires_at", ls)...)
	t.add(latencyRow("expires_at to container removed", rs)...)
	res.value("agents", float64(m))
	res.value("seconds_to_start_all", created.Seconds())
	res.value("machine_cpu_seconds_expiring", cpu.machine)
	t.Notes = append(t.Notes,
		fmt.Sprintf("all %d agents ran at once before the first deadline (starting them took %.1f s, %d at a time)", m, created.Seconds(), b.opt.createWorkers),
		fmt.Sprintf("final states: %v", states),
		fmt.Sprintf("while they expired the machine used %.1f CPU s (this process %.1f)", cpu.machine, cpu.proc))
	res.Targets = append(res.Targets, target("TTL lateness p99", "<= 250 ms", ls.P99, "ms", 250, true))
	res.Tables = append(res.Tables, t)
	return res, nil
}
