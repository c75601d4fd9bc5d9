package ttl

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Sampler is what the resource monitor needs from the runner.
type Sampler interface {
	// SampleUsage samples every running agent once and returns how many it sampled.
	SampleUsage(ctx context.Context) (int, error)
}

// Monitor samples every running agent's resource use every Interval; a zero
// Interval disables it. A sample is bounded by Timeout; one still running
// when the next is due makes the loop skip that tick (time.Ticker drops
// ticks a slow receiver misses), so samples never pile up.
type Monitor struct {
	s        Sampler
	log      *slog.Logger
	Interval time.Duration
	Timeout  time.Duration

	loop every
}

// NewMonitor returns a monitor for s; Open starts it. A timeout of zero bounds a sample by the interval.
func NewMonitor(s Sampler, interval, timeout time.Duration, log *slog.Logger) *Monitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if timeout <= 0 {
		timeout = interval
	}
	return &Monitor{s: s, log: log, Interval: interval, Timeout: timeout}
}

// Step takes one sample, bounded by Timeout.
func (m *Monitor) Step(ctx context.Context) (int, error) {
	if m.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.Timeout)
		defer cancel()
	}
	return m.s.SampleUsage(ctx)
}

// Open starts the loop unless Interval is zero.
func (m *Monitor) Open() {
	m.loop.start(m.Interval, func(ctx context.Context) {
		_, err := m.Step(ctx)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, context.DeadlineExceeded):
			m.log.Warn("resource monitor sample took longer than its timeout; skipped", "timeout", m.Timeout)
		default:
			m.log.Error("resource monitor sample failed", "err", err)
		}
	})
}

// Close stops the loop and waits for the sample in progress.
func (m *Monitor) Close() { m.loop.stop() }
