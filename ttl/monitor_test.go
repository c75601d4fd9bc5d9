package ttl

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// slowSampler takes took per sample (or until its context ends) and records overlaps.
type slowSampler struct {
	took time.Duration

	mu            sync.Mutex
	calls, active int
	maxActive     int
	cut           int // samples ended by their context
}

func (s *slowSampler) SampleUsage(ctx context.Context) (int, error) {
	s.mu.Lock()
	s.calls++
	s.active++
	s.maxActive = max(s.maxActive, s.active)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	select {
	case <-time.After(s.took):
		return 1, nil
	case <-ctx.Done():
		s.mu.Lock()
		s.cut++
		s.mu.Unlock()
		return 0, ctx.Err()
	}
}

// TestMonitorSkipsTicksRatherThanPileUp: a sample that takes 2.5 intervals
// delays the next; ticks missed meanwhile are dropped, never queued or run
// beside it.
func TestMonitorSkipsTicksRatherThanPileUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSampler{took: 2500 * time.Millisecond}
		m := NewMonitor(s, time.Second, time.Minute, nil)
		m.Open()
		time.Sleep(10*time.Second + time.Millisecond)
		m.Close()
		if s.maxActive != 1 {
			t.Errorf("%d samples ran at once, want 1", s.maxActive)
		}
		// Back to back, samples of 2.5s from 1s fit 4 times in 10s; the
		// ticker may hold one tick for the receiver (then a sample starts
		// right after the last), never the 9 ticks a queue would hold.
		if s.calls < 3 || s.calls > 5 {
			t.Errorf("%d samples in 10 intervals of a sample taking 2.5, want 4 or so, not one per tick", s.calls)
		}
	})
}

// TestMonitorBoundsASample: a sample that would hang is cut at the timeout.
func TestMonitorBoundsASample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSampler{took: time.Hour}
		m := NewMonitor(s, time.Second, 300*time.Millisecond, nil)
		start := time.Now()
		if _, err := m.Step(context.Background()); err == nil {
			t.Fatal("Step of a hanging sample returned no error")
		}
		if took := time.Since(start); took != 300*time.Millisecond || s.cut != 1 {
			t.Errorf("Step took %v (cut %d), want the 300ms timeout", took, s.cut)
		}
	})
}

// TestMonitorZeroIntervalDisables: interval 0s runs no sample.
func TestMonitorZeroIntervalDisables(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSampler{}
		m := NewMonitor(s, 0, 0, nil)
		m.Open()
		time.Sleep(time.Hour)
		m.Close()
		if s.calls != 0 {
			t.Errorf("%d samples with the monitor disabled", s.calls)
		}
	})
}
