package runnertest

import (
	"context"

	"github.com/podrun/podrun/runner"
)

// Sample reports Samples for the running containers among ids, in one call.
func (f *Fake) Sample(_ context.Context, ids []string) (map[string]runner.Sample, error) {
	if err := f.down("stats"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.SampleCalls++
	out := make(map[string]runner.Sample, len(ids))
	for _, id := range ids {
		c := f.ctrs[id]
		if c == nil || c.c.State != "running" {
			continue
		}
		s, ok := f.Samples[id]
		if !ok {
			s = runner.Sample{MemoryUsage: 1 << 20, PIDs: 1}
		}
		if s.MemoryLimit == 0 {
			s.MemoryLimit = uint64(c.spec.Limits.Memory)
		}
		out[id] = s
	}
	return out, nil
}
