package runner

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter admits invocations: at most `global` run at once, at most keyMax per key (function),
// and at most `queue` wait for a slot, each no longer than maxWait.
//
// Waiters are served in arrival order, except that a waiter held back by its own key's cap does
// not hold back later waiters of other keys; within a key, order is strictly first come, first served.
// Background waiters (Wait: already accepted work, such as asynchronous invocations) take no
// room in the queue and have no deadline; they are served, in arrival order, from the slots no
// queued waiter can use. A released slot wakes its next waiter at once: nobody polls.
//
// A nil *Limiter admits everything at once.
type Limiter struct {
	global  int
	queue   int
	maxWait time.Duration

	mu         sync.Mutex
	running    int
	waiters    list.List // of *waiter (Acquire), in arrival order
	background list.List // of *waiter (Wait), in arrival order
	keys       map[string]keyCount
	skipped    []string // scratch for dispatch: keys whose first waiter could not run
	observe    func(wait time.Duration)
}

// keyCount is what one key holds; keys with nothing running or waiting are forgotten.
type keyCount struct{ running, waiting int }

// waiter is one Acquire or Wait call blocked for a slot; granted and elem are guarded by Limiter.mu.
type waiter struct {
	key     string
	keyMax  int
	ready   chan struct{} // closed once the slot is granted
	granted bool
	line    *list.List // the list it waits in: waiters or background
	elem    *list.Element
}

// NewLimiter returns a limiter for global concurrent holders and queue waiters. A global below 1
// is taken as 1 and a negative queue as 0 (never wait); a maxWait of 0 bounds a wait by its ctx alone.
func NewLimiter(global, queue int, maxWait time.Duration) *Limiter {
	return &Limiter{
		global:  max(global, 1),
		queue:   max(queue, 0),
		maxWait: max(maxWait, 0),
		keys:    make(map[string]keyCount),
	}
}

// Acquire waits for a slot for key; release must be called exactly once. It returns an error
// wrapping ErrBusy when the queue is full or the wait exceeds maxWait, and ctx.Err() when ctx ends first.
// A keyMax below 1 is taken as 1. Calling release again does nothing.
func (l *Limiter) Acquire(ctx context.Context, key string, keyMax int) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	return l.acquire(ctx, key, keyMax, &l.waiters)
}

// Wait is Acquire for work already accepted (an asynchronous invocation): it
// waits as long as it takes, without room in the queue or maxWait, and is
// served only from the slots no queued Acquire can use. It fails only with
// ctx.Err(). It is Line and Place.Wait in one call.
func (l *Limiter) Wait(ctx context.Context, key string, keyMax int) (release func(), err error) {
	return l.Line(key, keyMax).Wait(ctx)
}

// A Place is a caller's place in the background line (see Wait), taken by
// Line when the work is accepted and waited for later, on another
// goroutine, with Place.Wait: work accepted in some order is served in that
// order, whatever order the goroutines reach their wait in.
type Place struct {
	l     *Limiter
	w     *waiter
	since time.Time
}

// Line takes a place for key in the background line at once, without
// blocking: a free slot (if no older waiter of key is in line) or the back
// of the line. Its Wait must be called exactly once.
func (l *Limiter) Line(key string, keyMax int) *Place {
	if l == nil {
		return &Place{}
	}
	w, _ := l.enter(key, keyMax, &l.background) // the background line is never full
	return &Place{l: l, w: w, since: time.Now()}
}

// Wait waits for the place's slot as Limiter.Wait does; release must be
// called exactly once. It fails only with ctx.Err(), giving the place up.
func (p *Place) Wait(ctx context.Context) (release func(), err error) {
	if p.l == nil {
		return func() {}, nil
	}
	release, err = p.l.wait(ctx, p.w, false)
	if err == nil && p.l.observe != nil {
		p.l.observe(time.Since(p.since))
	}
	return release, err
}

// ObserveWaits makes the limiter report to fn how long each admitted caller
// waited for its slot (zero when one was free); call it before any use.
// fn must not block.
func (l *Limiter) ObserveWaits(fn func(wait time.Duration)) { l.observe = fn }

// Queued reports how many callers wait for a slot now, in the queue and in the background.
func (l *Limiter) Queued() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiters.Len() + l.background.Len()
}

// acquire takes a free slot at once, or waits in line for one, and reports the wait.
func (l *Limiter) acquire(ctx context.Context, key string, keyMax int, line *list.List) (func(), error) {
	start := time.Now()
	release, err := l.admit(ctx, key, keyMax, line)
	if err == nil && l.observe != nil {
		l.observe(time.Since(start))
	}
	return release, err
}

func (l *Limiter) admit(ctx context.Context, key string, keyMax int, line *list.List) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, err := l.enter(key, keyMax, line)
	if err != nil {
		return nil, err
	}
	if w.elem == nil { // a free slot, taken at once
		return l.releaser(key), nil
	}
	return l.wait(ctx, w, line == &l.waiters)
}

// enter takes a free slot of key, returning a waiter already granted and in
// no line (elem nil), or puts a new waiter at the back of line. A waiter of the same key, even one
// held back only by an older keyMax, keeps its turn. The queue (the line of
// Acquire) may be full: that is ErrBusy; the background line never is.
func (l *Limiter) enter(key string, keyMax int, line *list.List) (*waiter, error) {
	keyMax = max(keyMax, 1)
	w := &waiter{key: key, keyMax: keyMax, ready: make(chan struct{}), line: line}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if l.running < l.global && k.running < keyMax && k.waiting == 0 {
		l.take(key)
		w.granted = true
		close(w.ready)
		return w, nil
	}
	if line == &l.waiters && l.waiters.Len() >= l.queue {
		return nil, fmt.Errorf("%w: no free slot for %q and no room in the queue", ErrBusy, key)
	}
	w.elem = line.PushBack(w)
	k.waiting++
	l.keys[key] = k
	return w, nil
}

// wait blocks until w is granted a slot, ctx ends or, if bounded, maxWait
// passes, whichever comes first.
func (l *Limiter) wait(ctx context.Context, w *waiter, bounded bool) (func(), error) {
	var timeout <-chan time.Time
	if bounded && l.maxWait > 0 {
		t := time.NewTimer(l.maxWait)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-w.ready:
		if err := ctx.Err(); err != nil {
			l.releaseSlot(w.key)
			return nil, err
		}
		return l.releaser(w.key), nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = fmt.Errorf("%w: no slot for %q within %s", ErrBusy, w.key, l.maxWait)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if w.granted { // granted while we were giving up
		if ctx.Err() == nil {
			return l.releaser(w.key), nil // the wait ran out, yet the slot is ours: use it
		}
		l.free(w.key)
		return nil, ctx.Err()
	}
	w.line.Remove(w.elem)
	k := l.keys[w.key]
	k.waiting--
	l.store(w.key, k)
	l.dispatch() // a later waiter of the same key with a larger keyMax may run now
	return nil, err
}

// Hold takes a slot of key at once, past the caps if need be, for work that
// already runs: an invocation taken back after a restart counts against the
// caps until it ends, as it did before. release is as Acquire's.
func (l *Limiter) Hold(key string) (release func()) {
	if l == nil {
		return func() {}
	}
	l.mu.Lock()
	l.take(key)
	l.mu.Unlock()
	return l.releaser(key)
}

// releaser returns the release function of one slot of key; only its first call frees the slot.
func (l *Limiter) releaser(key string) func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			l.releaseSlot(key)
		}
	}
}

// releaseSlot frees one slot of key.
func (l *Limiter) releaseSlot(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.free(key)
}

// take counts a slot of key as running; the caller holds mu.
func (l *Limiter) take(key string) {
	k := l.keys[key]
	k.running++
	l.keys[key] = k
	l.running++
}

// free returns a slot of key and hands freed slots to waiters; the caller holds mu.
func (l *Limiter) free(key string) {
	k := l.keys[key]
	k.running--
	l.store(key, k)
	l.running--
	l.dispatch()
}

func (l *Limiter) store(key string, k keyCount) {
	if k == (keyCount{}) {
		delete(l.keys, key) // function names come and go: keep the map bounded
		return
	}
	l.keys[key] = k
}

// dispatch grants slots to queued waiters in arrival order, then to
// background waiters, skipping the keys whose first waiter is at its key's
// cap; the caller holds mu. Afterwards no waiter could run.
func (l *Limiter) dispatch() {
	l.skipped = l.skipped[:0]
	l.grant(&l.waiters)
	l.grant(&l.background)
	clear(l.skipped) // drop the strings so the scratch slice pins no key
}

// grant is one dispatch pass over a line of waiters.
func (l *Limiter) grant(line *list.List) {
	for e := line.Front(); e != nil && l.running < l.global; {
		w := e.Value.(*waiter)
		next := e.Next()
		if slices.Contains(l.skipped, w.key) {
			e = next
			continue
		}
		k := l.keys[w.key]
		if k.running >= w.keyMax {
			l.skipped = append(l.skipped, w.key)
			e = next
			continue
		}
		line.Remove(e)
		k.waiting--
		l.keys[w.key] = k
		l.take(w.key)
		w.granted = true
		close(w.ready)
		e = next
	}
}
