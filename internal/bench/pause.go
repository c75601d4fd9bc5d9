package bench

import (
	"context"
	"fmt"
	"time"
)

// benchPause is scenario 8: POST pause and POST resume of one running agent,
// alternated pauseN times, each timed to its 200 (which comes after Podman's
// pause, the cgroup freezer, has answered).
func benchPause(ctx context.Context, b *bench) (*benchResult, error) {
	agents, err := b.startSleepers(ctx, "pause", 1, 1, "10m")
	if err != nil {
		return nil, fmt.Errorf("start a sleeping agent: %w", err)
	}
	id := agents[0].ID
	defer func() {
		ctx := context.WithoutCancel(ctx)
		_, _ = b.deleteAgent(ctx, id)
		_, _ = b.await(ctx, id, 2*time.Minute, finalAndRemoved)
	}()
	var paused, resumed []time.Duration
	for range b.opt.pauseN {
		start := time.Now()
		if _, err := b.api.PauseAgent(ctx, id); err != nil {
			return nil, fmt.Errorf("pause: %w", err)
		}
		paused = append(paused, time.Since(start))
		start = time.Now()
		if _, err := b.api.ResumeAgent(ctx, id); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		resumed = append(resumed, time.Since(start))
	}
	res := newResult()
	ps, rs := summarize(paused), summarize(resumed)
	res.Latency["pause_to_200"], res.Latency["resume_to_200"] = ps, rs
	t := benchTable{Title: fmt.Sprintf("8. pause and resume of a running agent, alternated %d times", b.opt.pauseN), Columns: latencyColumns}
	t.add(latencyRow("POST pause to 200", ps)...)
	t.add(latencyRow("POST resume to 200", rs)...)
	t.Notes = append(t.Notes, "each answer comes after Podman's pause or unpause (runc and the cgroup freezer) has returned")
	res.Tables = append(res.Tables, t)
	return res, nil
}
