package ttl

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeExpirer holds deadlines and records when each one was expired.
type fakeExpirer struct {
	mu        sync.Mutex
	deadlines map[string]time.Time
	expiredAt map[string]time.Time
	changed   chan struct{}
	fail      bool
}

func newFakeExpirer() *fakeExpirer {
	return &fakeExpirer{deadlines: map[string]time.Time{}, expiredAt: map[string]time.Time{}, changed: make(chan struct{}, 1)}
}

func (f *fakeExpirer) set(id string, at time.Time) {
	f.mu.Lock()
	f.deadlines[id] = at
	f.mu.Unlock()
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

func (f *fakeExpirer) ExpireDue(ctx context.Context) (time.Time, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return time.Time{}, false, errors.New("store down")
	}
	now := time.Now()
	var next time.Time
	for id, at := range f.deadlines {
		if !at.After(now) {
			f.expiredAt[id] = now
			delete(f.deadlines, id)
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next, !next.IsZero(), nil
}

func (f *fakeExpirer) DeadlineChanged() <-chan struct{} { return f.changed }

func (f *fakeExpirer) expired(id string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.expiredAt[id]
	return at, ok
}

func TestReaperWakesAtEachDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := newFakeExpirer()
		start := time.Now()
		want := map[string]time.Duration{"a": 3 * time.Second, "b": 90 * time.Second, "c": 1500 * time.Millisecond}
		for id, d := range want {
			exp.set(id, start.Add(d))
		}
		r := NewReaper(exp, nil)
		r.Open()
		defer r.Close()
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		for id, d := range want {
			got, ok := exp.expired(id)
			if !ok {
				t.Fatalf("agent %s never expired", id)
			}
			if got.Sub(start) != d {
				t.Errorf("agent %s expired at +%v, want exactly +%v", id, got.Sub(start), d)
			}
		}
	})
}

func TestReaperWakesEarlierWhenADeadlineMoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := newFakeExpirer()
		start := time.Now()
		exp.set("late", start.Add(50*time.Second))
		r := NewReaper(exp, nil)
		r.Open()
		defer r.Close()
		time.Sleep(time.Second)
		exp.set("soon", start.Add(2*time.Second))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		got, ok := exp.expired("soon")
		if !ok || got.Sub(start) != 2*time.Second {
			t.Fatalf("soon expired at +%v (ok=%v), want +2s", got.Sub(start), ok)
		}
		if _, ok := exp.expired("late"); ok {
			t.Fatal("late expired before its deadline")
		}
	})
}

func TestReaperRetriesAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := newFakeExpirer()
		exp.fail = true
		exp.set("a", time.Now().Add(time.Second))
		r := NewReaper(exp, nil)
		r.Open()
		defer r.Close()
		time.Sleep(1500 * time.Millisecond)
		exp.mu.Lock()
		exp.fail = false
		exp.mu.Unlock()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if _, ok := exp.expired("a"); !ok {
			t.Fatal("reaper did not retry after a failed pass")
		}
	})
}

func TestReaperStepSleepsMaxWithoutDeadlines(t *testing.T) {
	r := NewReaper(newFakeExpirer(), nil)
	got, err := r.Step(context.Background())
	if err != nil || got != r.MaxSleep {
		t.Fatalf("Step = %v, %v; want %v, nil", got, err, r.MaxSleep)
	}
}

type countingCleaner struct {
	mu sync.Mutex
	n  int
}

func (c *countingCleaner) Sweep(context.Context) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}

func TestSweeperRunsEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &countingCleaner{}
		s := NewSweeper(c, 30*time.Second, nil)
		s.Open()
		time.Sleep(95 * time.Second)
		synctest.Wait()
		s.Close()
		if c.n != 3 {
			t.Fatalf("swept %d times in 95s at 30s, want 3", c.n)
		}
	})
}

func TestSweeperZeroIntervalIsDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &countingCleaner{}
		s := NewSweeper(c, 0, nil)
		s.Open()
		time.Sleep(time.Hour)
		s.Close()
		if c.n != 0 {
			t.Fatalf("disabled sweeper swept %d times", c.n)
		}
	})
}
