package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/podrun/podrun/runner"
)

// cpuSampleGap is the time between the two samples CPU use is computed from.
const cpuSampleGap = 150 * time.Millisecond

// statsSample is one container's entry in Podman's stats report. It is
// decoded here rather than through the bindings because 4.3 sends
// NetInput/NetOutput where v5 sends a per-interface Network map.
type statsSample struct {
	ContainerID string
	CPUNano     uint64
	SystemNano  uint64
	MemUsage    uint64
	MemLimit    uint64
	PIDs        uint64
	BlockInput  uint64
	BlockOutput uint64
	NetInput    uint64
	NetOutput   uint64
	Network     map[string]struct{ RxBytes, TxBytes uint64 }
}

// Stats samples a running container twice, cpuSampleGap apart, and reports
// CPU use over that gap in percent of one CPU, as docker stats does.
func (p *Podman) Stats(ctx context.Context, id string) (runner.Stats, error) {
	if p.noContainerCgroups(ctx) {
		return p.processStats(ctx, id)
	}
	a, err := p.statsSample(ctx, id)
	if err != nil {
		return runner.Stats{}, err
	}
	if err := sleep(ctx, cpuSampleGap); err != nil {
		return runner.Stats{}, fmt.Errorf("stats of container %s: %w", id, err)
	}
	b, err := p.statsSample(ctx, id)
	if err != nil {
		return runner.Stats{}, err
	}
	s := runner.Stats{
		MemoryUsage: b.MemUsage,
		MemoryLimit: b.MemLimit,
		PIDs:        b.PIDs,
		NetRx:       b.NetInput,
		NetTx:       b.NetOutput,
		BlockRead:   b.BlockInput,
		BlockWrite:  b.BlockOutput,
	}
	for _, n := range b.Network {
		s.NetRx += n.RxBytes
		s.NetTx += n.TxBytes
	}
	// SystemNano is the service's wall clock, so this is the share of one CPU.
	if b.SystemNano > a.SystemNano && b.CPUNano >= a.CPUNano {
		s.CPUPercent = float64(b.CPUNano-a.CPUNano) / float64(b.SystemNano-a.SystemNano) * 100
	}
	return s, nil
}

func (p *Podman) statsSample(ctx context.Context, id string) (statsSample, error) {
	conn, err := bindings.GetClient(p.conn)
	if err != nil {
		return statsSample{}, err
	}
	q := url.Values{"stream": {"false"}, "containers": {id}}
	var report struct {
		Error any // an error value the server could not serialize
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
		return statsSample{}, wrapErr("stats of", id, err)
	}
	if report.Error != nil || len(report.Stats) != 1 || report.Stats[0].SystemNano == 0 {
		return statsSample{}, p.noStats(ctx, id)
	}
	return report.Stats[0], nil
}

// noStats explains an empty stats report: 4.3 sends {"Error":{}} for a
// missing container (the message is lost) and zeros for one not running.
func (p *Podman) noStats(ctx context.Context, id string) error {
	data, err := p.inspect(ctx, id)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	if data.State == nil || !data.State.Running {
		return fmt.Errorf("stats of container %s: not running: %w", id, runner.ErrConflict)
	}
	return fmt.Errorf("stats of container %s: podman returned no sample", id)
}
