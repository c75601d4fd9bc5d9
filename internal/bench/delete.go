package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podrun/podrun/api"
)

// benchDelete is scenario 6: DELETE of a running agent, timed to its 202,
// while delLoad cold invocations run back to back.
func benchDelete(ctx context.Context, b *bench) (*benchResult, error) {
	fn, err := b.deploy(ctx, "del", 0, max(b.opt.delLoad, 1))
	if err != nil {
		return nil, err
	}
	defer b.undeploy(fn)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var invoked, failed atomic.Int64
	var wg sync.WaitGroup
	for range b.opt.delLoad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				if _, err := b.invoke(loadCtx, fn, benchBody); err != nil {
					if loadCtx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				invoked.Add(1)
			}
		}()
	}
	loadStart := time.Now()
	var took []time.Duration
	var deleted []api.Agent
	for i := 0; i < b.opt.delN && err == nil; i++ {
		var as []api.Agent
		as, err = b.startSleepers(ctx, "delete", 1, 1, "10m")
		deleted = append(deleted, as...)
		if err != nil {
			break
		}
		var d time.Duration
		if d, err = b.deleteAgent(ctx, as[0].ID); err == nil {
			took = append(took, d)
		}
	}
	loadTime := time.Since(loadStart)
	stopLoad()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	// The deleted agents get SIGTERM, then SIGKILL after the stop timeout; let them go before the next scenario.
	stopStart := time.Now()
	werr := b.parallel(ctx, len(deleted), 8, func(ctx context.Context, i int) error {
		_, err := b.await(ctx, deleted[i].ID, 2*time.Minute, finalAndRemoved)
		return err
	})
	res := newResult()
	s := summarize(took)
	res.Latency["delete_to_202"] = s
	res.value("background_invocations", float64(invoked.Load()))
	res.value("background_invocations_per_second", float64(invoked.Load())/loadTime.Seconds())
	t := benchTable{Title: fmt.Sprintf("6. DELETE of a running agent while %d invocations run at once", b.opt.delLoad), Columns: latencyColumns}
	t.add(latencyRow("DELETE to 202", s)...)
	t.Notes = append(t.Notes,
		fmt.Sprintf("the background load completed %d invocations (%.1f/s, %d failed) meanwhile", invoked.Load(), float64(invoked.Load())/loadTime.Seconds(), failed.Load()),
		fmt.Sprintf("the deleted agents were terminated and their containers removed %.1f s after the last DELETE (sleep ignores SIGTERM: the stop timeout runs out)", time.Since(stopStart).Seconds()))
	res.Targets = append(res.Targets, target("DELETE to 202 p99", "<= 20 ms", s.P99, "ms", 20, true))
	res.Tables = append(res.Tables, t)
	return res, werr
}
