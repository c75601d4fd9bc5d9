package runner

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// acquire takes a slot that the test expects to be free at once.
func acquireNow(t *testing.T, l *Limiter, key string, keyMax int) func() {
	t.Helper()
	release, err := l.Acquire(t.Context(), key, keyMax)
	if err != nil {
		t.Fatalf("Acquire(%q): %v", key, err)
	}
	return release
}

// acquireLater starts an Acquire in a goroutine; its outcome arrives on the returned channel.
func acquireLater(ctx context.Context, l *Limiter, key string, keyMax int) <-chan acquired {
	out := make(chan acquired, 1)
	go func() {
		release, err := l.Acquire(ctx, key, keyMax)
		out <- acquired{key, release, err}
	}()
	return out
}

// acquired is the outcome of one Acquire call.
type acquired struct {
	key     string
	release func()
	err     error
}

// checkLimiter compares the limiter's counts with the expected ones.
func checkLimiter(t *testing.T, l *Limiter, running, waiting int) {
	t.Helper()
	if got, gotW := counts(l); got != running || gotW != waiting {
		t.Errorf("running %d, waiting %d; want %d, %d", got, gotW, running, waiting)
	}
}

// counts reports the slots held and the waiters of both lines.
func counts(l *Limiter) (running, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running, l.waiters.Len() + l.background.Len()
}

// blocked checks that a pending Acquire has not returned yet; call it after synctest.Wait.
func stillWaiting(t *testing.T, c <-chan acquired) {
	t.Helper()
	select {
	case r := <-c:
		t.Errorf("Acquire(%q) returned early: %v", r.key, r.err)
	default:
	}
}

func TestLimiterCapsUnderLoad(t *testing.T) {
	const (
		global, keyMax, goroutines = 8, 3, 200
	)
	keys := []string{"a", "b", "c", "d"} // 4 keys × 3 > 8: both caps bind
	l := NewLimiter(global, goroutines, 0)
	var running, maxRunning atomic.Int64
	perKey := make([]atomic.Int64, len(keys))
	var maxPerKey atomic.Int64
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			k := i % len(keys)
			release, err := l.Acquire(t.Context(), keys[k], keyMax)
			if err != nil {
				t.Error(err)
				return
			}
			raiseTo(&maxRunning, running.Add(1))
			raiseTo(&maxPerKey, perKey[k].Add(1))
			time.Sleep(100 * time.Microsecond) // long enough for others to queue up
			perKey[k].Add(-1)
			running.Add(-1)
			release()
		})
	}
	wg.Wait()
	if got := maxRunning.Load(); got > global {
		t.Errorf("%d ran at once, want at most %d", got, global)
	}
	if got := maxPerKey.Load(); got > keyMax {
		t.Errorf("%d of one key ran at once, want at most %d", got, keyMax)
	}
	checkLimiter(t, l, 0, 0)
	if len(l.keys) != 0 {
		t.Errorf("keys not forgotten: %v", l.keys)
	}
}

func raiseTo(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

func TestLimiterQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 1, time.Minute)
		release := acquireNow(t, l, "a", 4)
		waiter := acquireLater(t.Context(), l, "b", 4)
		synctest.Wait()
		checkLimiter(t, l, 1, 1)

		start := time.Now()
		_, err := l.Acquire(t.Context(), "c", 4)
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("got %v, want ErrBusy", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("waited %s, want an immediate answer", waited)
		}
		release()
		r := <-waiter
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.release()
		checkLimiter(t, l, 0, 0)
	})
}

func TestLimiterNoQueue(t *testing.T) {
	l := NewLimiter(1, 0, time.Minute)
	release := acquireNow(t, l, "a", 1)
	defer release()
	if _, err := l.Acquire(t.Context(), "b", 1); !errors.Is(err, ErrBusy) {
		t.Errorf("got %v, want ErrBusy", err)
	}
	checkLimiter(t, l, 1, 0)
}

func TestLimiterMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 10, 10*time.Second)
		release := acquireNow(t, l, "a", 1)
		start := time.Now()
		_, err := l.Acquire(t.Context(), "b", 1)
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("got %v, want ErrBusy", err)
		}
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("waited %s, want 10s", waited)
		}
		checkLimiter(t, l, 1, 0)
		release()
		checkLimiter(t, l, 0, 0)
	})
}

func TestLimiterZeroMaxWaitWaitsForCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 10, 0)
		release := acquireNow(t, l, "a", 1)
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		start := time.Now()
		_, err := l.Acquire(ctx, "b", 1)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Hour {
			t.Errorf("got %v after %s, want DeadlineExceeded after 1h", err, time.Since(start))
		}
		release()
		checkLimiter(t, l, 0, 0)
	})
}

func TestLimiterCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 10, time.Minute)
		release := acquireNow(t, l, "a", 1)
		ctx, cancel := context.WithCancel(t.Context())
		waiter := acquireLater(ctx, l, "a", 1)
		other := acquireLater(t.Context(), l, "a", 1)
		synctest.Wait()
		checkLimiter(t, l, 1, 2)

		cancel()
		if r := <-waiter; !errors.Is(r.err, context.Canceled) || r.release != nil {
			t.Fatalf("got %v, want context.Canceled and no release", r.err)
		}
		checkLimiter(t, l, 1, 1)
		release()
		r := <-other // the cancelled waiter left the queue instead of taking the slot
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.release()
		checkLimiter(t, l, 0, 0)
	})
}

func TestLimiterDeadlineBeforeMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 10, time.Minute)
		release := acquireNow(t, l, "a", 1)
		defer release()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := l.Acquire(ctx, "b", 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestLimiterDoneContextTakesNoFreeSlot(t *testing.T) {
	l := NewLimiter(1, 10, time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if release, err := l.Acquire(ctx, "a", 1); !errors.Is(err, context.Canceled) || release != nil {
		t.Errorf("got %v, want context.Canceled and no release", err)
	}
	checkLimiter(t, l, 0, 0)
}

// A slot granted while the waiter is being cancelled must go back to the limiter.
func TestLimiterGrantDuringCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 10, time.Minute)
		acquireNow(t, l, "a", 1) // its slot is freed by hand below
		ctx, cancel := context.WithCancel(t.Context())
		waiter := acquireLater(ctx, l, "a", 1)
		synctest.Wait()

		// Grant and cancel under the lock, so the waiter sees both at once.
		l.mu.Lock()
		cancel()
		l.free("a")
		l.mu.Unlock()

		if r := <-waiter; !errors.Is(r.err, context.Canceled) || r.release != nil {
			t.Errorf("got %v, want context.Canceled and no release", r.err)
		}
		checkLimiter(t, l, 0, 0)
	})
}

// The same race as above, left to the scheduler, many times: no slot may be lost or leaked.
func TestLimiterCancelRace(t *testing.T) {
	l := NewLimiter(1, 10, time.Minute)
	for range 500 {
		release := acquireNow(t, l, "a", 1)
		ctx, cancel := context.WithCancel(t.Context())
		waiter := acquireLater(ctx, l, "a", 1)
		for _, w := counts(l); w == 0; _, w = counts(l) {
			runtime.Gosched()
		}
		go cancel()
		release()
		if r := <-waiter; r.err == nil {
			r.release()
		} else if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("got %v, want nil or context.Canceled", r.err)
		}
		cancel()
		checkLimiter(t, l, 0, 0)
	}
}

func TestLimiterTimeoutRace(t *testing.T) {
	l := NewLimiter(1, 10, time.Millisecond)
	for range 200 {
		release := acquireNow(t, l, "a", 1)
		waiter := acquireLater(t.Context(), l, "a", 1)
		time.Sleep(time.Millisecond)
		release()
		if r := <-waiter; r.err == nil {
			r.release()
		} else if !errors.Is(r.err, ErrBusy) {
			t.Fatalf("got %v, want nil or ErrBusy", r.err)
		}
		checkLimiter(t, l, 0, 0)
	}
}

func TestLimiterFairWithinKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(10, 10, time.Minute)
		release := acquireNow(t, l, "a", 1)
		var waiters []<-chan acquired
		for range 5 {
			waiters = append(waiters, acquireLater(t.Context(), l, "a", 1))
			synctest.Wait() // each one queues before the next arrives
		}
		for i, w := range waiters {
			release()
			synctest.Wait()
			for _, later := range waiters[i+1:] {
				stillWaiting(t, later)
			}
			r := <-w
			if r.err != nil {
				t.Fatalf("waiter %d: %v", i, r.err)
			}
			release = r.release
		}
		release()
		checkLimiter(t, l, 0, 0)
	})
}

func TestLimiterFairAcrossKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 10, time.Minute)
		release := acquireNow(t, l, "x", 4)
		a := acquireLater(t.Context(), l, "a", 4)
		synctest.Wait()
		b := acquireLater(t.Context(), l, "b", 4)
		synctest.Wait()

		release()
		synctest.Wait()
		stillWaiting(t, b)
		r := <-a
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.release()
		if r := <-b; r.err != nil {
			t.Fatal(r.err)
		} else {
			r.release()
		}
		checkLimiter(t, l, 0, 0)
	})
}

// A key at its cap, with waiters, must not hold back another key that could run.
func TestLimiterKeyAtCapDoesNotBlockOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(2, 10, time.Minute)
		releaseA := acquireNow(t, l, "a", 1)
		waitingA := acquireLater(t.Context(), l, "a", 1)
		synctest.Wait()
		checkLimiter(t, l, 1, 1)

		// A global slot is free: b runs at once though a is queued ahead of it.
		releaseB := acquireNow(t, l, "b", 4)
		checkLimiter(t, l, 2, 1)

		// Now the global cap binds; when b's slot frees, the earlier waiter of a still cannot
		// run, so the later waiter of b gets it.
		laterB := acquireLater(t.Context(), l, "b", 4)
		synctest.Wait()
		checkLimiter(t, l, 2, 2)
		releaseB()
		synctest.Wait()
		stillWaiting(t, waitingA)
		r := <-laterB
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.release()

		releaseA()
		if r := <-waitingA; r.err != nil {
			t.Fatal(r.err)
		} else {
			r.release()
		}
		checkLimiter(t, l, 0, 0)
	})
}

// A later waiter of a key never overtakes an earlier one, even when its larger keyMax would fit.
func TestLimiterKeyOrderSurvivesLargerKeyMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(4, 10, time.Minute)
		release := acquireNow(t, l, "a", 1)
		ctx, cancel := context.WithCancel(t.Context())
		first := acquireLater(ctx, l, "a", 1)
		synctest.Wait()
		second := acquireLater(t.Context(), l, "a", 2)
		synctest.Wait()
		stillWaiting(t, second)
		checkLimiter(t, l, 1, 2)

		// Once first leaves, second fits under its own keyMax and runs.
		cancel()
		if r := <-first; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", r.err)
		}
		r := <-second
		if r.err != nil {
			t.Fatal(r.err)
		}
		checkLimiter(t, l, 2, 0)
		r.release()
		release()
		checkLimiter(t, l, 0, 0)
	})
}

func TestLimiterReleaseTwice(t *testing.T) {
	l := NewLimiter(2, 10, time.Minute)
	first := acquireNow(t, l, "a", 2)
	second := acquireNow(t, l, "a", 2)
	first()
	first()
	checkLimiter(t, l, 1, 0)
	if got := l.keys["a"].running; got != 1 {
		t.Errorf("key a runs %d, want 1", got)
	}
	second()
	checkLimiter(t, l, 0, 0)
}

func TestLimiterReleaseConcurrently(t *testing.T) {
	l := NewLimiter(2, 10, time.Minute)
	keep := acquireNow(t, l, "a", 2)
	release := acquireNow(t, l, "a", 2)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(release)
	}
	wg.Wait()
	checkLimiter(t, l, 1, 0)
	keep()
}

func TestNewLimiterClampsArguments(t *testing.T) {
	l := NewLimiter(0, -1, -time.Second)
	release := acquireNow(t, l, "a", 1)
	defer release()
	if _, err := l.Acquire(t.Context(), "b", 1); !errors.Is(err, ErrBusy) {
		t.Errorf("got %v, want ErrBusy from a limiter of one slot and no queue", err)
	}

	l = NewLimiter(4, 0, 0)
	release = acquireNow(t, l, "a", 0) // keyMax 0 counts as 1
	defer release()
	if _, err := l.Acquire(t.Context(), "a", 0); !errors.Is(err, ErrBusy) {
		t.Errorf("got %v, want ErrBusy for a second slot of a key capped at 1", err)
	}
}

func BenchmarkLimiterUncontended(b *testing.B) {
	l := NewLimiter(16, 64, time.Second)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		release, err := l.Acquire(ctx, "echo", 4)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

func TestLimiterHoldCountsAgainstBothCaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(2, 8, 0)
		held := l.Hold("f")
		// Past the cap: work that already runs is counted, never refused.
		heldToo := l.Hold("f")
		checkLimiter(t, l, 2, 0)
		sameKey := acquireLater(t.Context(), l, "f", 1)
		otherKey := acquireLater(t.Context(), l, "g", 1)
		synctest.Wait()
		stillWaiting(t, sameKey)
		stillWaiting(t, otherKey) // the global cap of 2 is taken by the holds
		held()
		held() // a second call does nothing
		synctest.Wait()
		if r := <-otherKey; r.err != nil {
			t.Fatalf("Acquire(g) after a hold's release: %v", r.err)
		} else {
			defer r.release()
		}
		stillWaiting(t, sameKey) // f still holds one slot, its cap
		heldToo()
		synctest.Wait()
		if r := <-sameKey; r.err != nil {
			t.Fatalf("Acquire(f) after the holds' release: %v", r.err)
		} else {
			r.release()
		}
	})
}

// waitLater starts a Wait in a goroutine; its outcome arrives on the returned channel.
func waitLater(ctx context.Context, l *Limiter, key string, keyMax int) <-chan acquired {
	out := make(chan acquired, 1)
	go func() {
		release, err := l.Wait(ctx, key, keyMax)
		out <- acquired{key, release, err}
	}()
	return out
}

// TestLimiterWaitWakesOnRelease: a background waiter gets the slot the moment
// it is released, with no timer in between (the bubble's clock does not
// move), however long it waited and with no room in the queue.
func TestLimiterWaitWakesOnRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 0, time.Second)
		release := acquireNow(t, l, "a", 1)
		waiter := waitLater(t.Context(), l, "a", 1)
		time.Sleep(time.Hour) // far past maxWait: a background wait has no deadline
		synctest.Wait()
		stillWaiting(t, waiter)
		checkLimiter(t, l, 1, 1)
		before := time.Now()
		release()
		synctest.Wait()
		select {
		case r := <-waiter:
			if r.err != nil {
				t.Fatalf("Wait: %v", r.err)
			}
			r.release()
		default:
			t.Fatal("the background waiter did not get the released slot at once")
		}
		if waited := time.Since(before); waited != 0 {
			t.Errorf("the slot reached the waiter %s after its release, want at once", waited)
		}
		checkLimiter(t, l, 0, 0)
	})
}

// TestLimiterServesTheQueueBeforeBackgroundWork: a synchronous caller that
// queued after an accepted asynchronous one still gets the next slot, and the
// background waiter the one after; a cancelled background wait frees its place.
func TestLimiterServesTheQueueBeforeBackgroundWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(1, 4, 0)
		release := acquireNow(t, l, "a", 4)
		background := waitLater(t.Context(), l, "a", 4)
		ctx, cancel := context.WithCancel(t.Context())
		gone := waitLater(ctx, l, "b", 4)
		synctest.Wait()
		queued := acquireLater(t.Context(), l, "c", 4)
		synctest.Wait()
		cancel()
		synctest.Wait()
		if r := <-gone; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled Wait = %v, want context.Canceled", r.err)
		}
		release()
		synctest.Wait()
		stillWaiting(t, background)
		r := <-queued
		if r.err != nil {
			t.Fatalf("queued Acquire: %v", r.err)
		}
		r.release()
		synctest.Wait()
		if r = <-background; r.err != nil {
			t.Fatalf("background Wait: %v", r.err)
		}
		r.release()
		checkLimiter(t, l, 0, 0)
	})
}

func TestANilLimiterAdmitsEverything(t *testing.T) {
	var l *Limiter
	for _, take := range []func() (func(), error){
		func() (func(), error) { return l.Acquire(t.Context(), "a", 1) },
		func() (func(), error) { return l.Wait(t.Context(), "a", 1) },
		func() (func(), error) { return l.Hold("a"), nil },
	} {
		release, err := take()
		if err != nil || release == nil {
			t.Fatalf("nil limiter: %v", err)
		}
		release()
	}
}

// TestLimiterPlacesKeepTheirOrder: places taken in the background line are
// served in the order they were taken, whatever order their Waits come in,
// and a place given up (its ctx ended) lets the next one through.
func TestLimiterPlacesKeepTheirOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(4, 4, time.Minute)
		hold := acquireNow(t, l, "f", 1)
		places := []*Place{l.Line("f", 1), l.Line("f", 1), l.Line("f", 1)}
		ctx, giveUp := context.WithCancel(t.Context())
		order := make(chan int, len(places))
		for i := len(places) - 1; i >= 0; i-- { // waited for in reverse
			waitCtx := t.Context()
			if i == 1 {
				waitCtx = ctx
			}
			go func() {
				release, err := places[i].Wait(waitCtx)
				if err != nil {
					order <- -i
					return
				}
				order <- i
				release()
			}()
			synctest.Wait()
		}
		giveUp()
		synctest.Wait()
		if got := <-order; got != -1 {
			t.Fatalf("first out: %d, want the place given up (-1)", got)
		}
		hold()
		for _, want := range []int{0, 2} {
			if got := <-order; got != want {
				t.Fatalf("served %d, want %d", got, want)
			}
		}
		if n := l.Queued(); n != 0 {
			t.Fatalf("%d still queued", n)
		}
	})
}
