package bench

import (
	"context"
	"fmt"
	"time"
)

// benchFootprint is scenario 7: podrun's RSS and goroutines with fpAgents
// agents in the table, fpLive of them live `sleep 600` agents.
func benchFootprint(ctx context.Context, b *bench) (*benchResult, error) {
	res := newResult()
	added, took, err := b.fillTable(ctx, b.opt.fpAgents-b.opt.fpLive)
	if err != nil {
		return nil, fmt.Errorf("fill the table: %w", err)
	}
	settle(ctx)
	idle := b.footprintSample(ctx)
	start := time.Now()
	live, err := b.startSleepers(ctx, "footprint", b.opt.fpLive, b.opt.createWorkers, "10m")
	started := time.Since(start)
	var full podrunFootprint
	if err == nil {
		settle(ctx)
		full = b.footprintSample(ctx)
	}
	if xerr := b.expireAll(context.WithoutCancel(ctx), live); err == nil {
		err = xerr
	}
	if err != nil {
		return nil, fmt.Errorf("%d live agents: %w", b.opt.fpLive, err)
	}
	t := benchTable{Title: "7. footprint of podrun", Columns: []string{"when", "agents in table", "live", "RSS MB", "goroutines", "Go heap in use MB"}}
	for _, r := range []struct {
		name string
		live int
		f    podrunFootprint
	}{{"at start (daemon open, nothing run)", 0, b.report.Start}, {"table filled, none live", 0, idle}, {"table filled, live agents", len(live), full}} {
		t.add(r.name, fmt.Sprint(r.f.Agents), fmt.Sprint(r.live), mb(r.f.RSSBytes), count(r.f.Goroutines), mb(int64(r.f.HeapInuse)))
	}
	res.value("rss_bytes_idle", float64(idle.RSSBytes))
	res.value("rss_bytes_live", float64(full.RSSBytes))
	res.value("goroutines_live", float64(full.Goroutines))
	res.value("agents", float64(full.Agents))
	res.value("live", float64(len(live)))
	t.Notes = append(t.Notes,
		"measured in "+full.Source,
		fmt.Sprintf("%d agents were added (`true`, deleted at once) in %.1f s; %d live agents started in %.1f s, %d at a time",
			added, took.Seconds(), len(live), started.Seconds(), b.opt.createWorkers))
	if full.RSSBytes >= 0 {
		res.Targets = append(res.Targets, target(fmt.Sprintf("RSS with %d agents (%d live)", full.Agents, len(live)), "<= 60 MB", float64(full.RSSBytes)/(1<<20), "MB", 60, true))
	}
	res.Tables = append(res.Tables, t)
	return res, nil
}

// settle lets background work (removals, pool refills) finish before a sample.
func settle(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
}

func mb(bytes int64) string {
	if bytes <= 0 {
		return "n/a"
	}
	return num(float64(bytes) / (1 << 20))
}

func count(n int) string {
	if n < 0 {
		return "n/a"
	}
	return fmt.Sprint(n)
}
