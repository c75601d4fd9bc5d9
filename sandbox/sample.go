package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/podrun/podrun/runner"
)

// Sample reads many running containers' resource use with one stats call to
// Podman (stream=false, every id in the query) and, on a host whose cgroups
// podrun can see, the CPU throttling counters, the memory high-water mark
// and /tmp's fill from the kernel. Podman 4.3 fails the whole call, with an
// empty error, when one of the containers is gone; then the running ones
// are listed and the call made once more without the others. Containers not
// running are left out of the answer.
func (p *Podman) Sample(ctx context.Context, ids []string) (map[string]runner.Sample, error) {
	out := make(map[string]runner.Sample, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	stats, ok, err := p.statsOf(ctx, ids)
	if err == nil && !ok {
		if ids, err = p.runningAmong(ctx, ids); err == nil && len(ids) > 0 {
			stats, ok, err = p.statsOf(ctx, ids)
			if err == nil && !ok {
				err = fmt.Errorf("stats of %d containers: podman returned an error without a message", len(ids))
			}
		}
	}
	if err != nil {
		return nil, err
	}
	for _, st := range stats {
		if st.ContainerID == "" || st.SystemNano == 0 || st.PIDs == 0 && st.MemUsage == 0 {
			continue // stopped: 4.3 answers zeros
		}
		s := runner.Sample{
			MemoryUsage: st.MemUsage, MemoryLimit: st.MemLimit, CPUNanos: st.CPUNano, PIDs: st.PIDs,
			BlockRead: st.BlockInput, BlockWrite: st.BlockOutput,
		}
		p.kernel.fill(st.ContainerID, &s)
		out[st.ContainerID] = s
	}
	return out, nil
}

// statsOf makes the one stats call; ok is false when Podman reported an error instead of samples.
func (p *Podman) statsOf(ctx context.Context, ids []string) (_ []statsSample, ok bool, err error) {
	conn, err := bindings.GetClient(p.conn)
	if err != nil {
		return nil, false, err
	}
	q := url.Values{"stream": {"false"}, "containers": ids}
	var report struct {
		Error any
		Stats []statsSample
	}
	err = p.do(ctx, "stats", func(ctx context.Context) error {
		resp, err := conn.DoRequest(ctx, nil, http.MethodGet, "/containers/stats", q, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return resp.Process(&report)
	})
	if err != nil {
		return nil, false, fmt.Errorf("stats of %d containers: %w", len(ids), unavailable(err))
	}
	return report.Stats, report.Error == nil, nil
}

// runningAmong returns those of ids that are running, in one list call.
func (p *Podman) runningAmong(ctx context.Context, ids []string) ([]string, error) {
	opts := new(containers.ListOptions).WithFilters(map[string][]string{"id": ids, "status": {"running"}})
	var list []types.ListContainer
	err := p.do(ctx, "list", func(ctx context.Context) (err error) {
		list, err = containers.List(ctx, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list running containers: %w", unavailable(err))
	}
	running := make([]string, 0, len(list))
	for _, c := range list {
		running = append(running, c.ID)
	}
	return running, nil
}
