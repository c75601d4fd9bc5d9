package runner

import "sync"

// group counts goroutines so that a Close can wait for every one of them.
// Once closing it starts no more from outside (start): one started after the
// wait began could be missed. A goroutine the group already counts may still
// fork helpers, since its own count keeps the total above zero.
type group struct {
	mu      sync.Mutex
	wg      sync.WaitGroup
	closing bool
}

// start runs fn in a new goroutine unless the group is closing; it reports whether it did.
func (g *group) start(fn func()) bool {
	if !g.add() {
		return false
	}
	go func() {
		defer g.wg.Done()
		fn()
	}()
	return true
}

// add counts one unit of work that will call done, unless the group is closing.
func (g *group) add() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.wg.Add(1)
	return true
}

// done ends one unit counted by add.
func (g *group) done() { g.wg.Done() }

// fork runs fn in a new goroutine; call it only from a goroutine the group counts.
func (g *group) fork(fn func()) { g.wg.Go(fn) }

// close refuses new goroutines from outside.
func (g *group) close() {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
}

// wait blocks until every counted goroutine has returned; call close first.
func (g *group) wait() { g.wg.Wait() }
