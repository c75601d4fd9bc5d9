package runner

import "sync"

// feed wakes the followers of the host-wide event stream. The journal, the
// one writer of agents' histories, signals it after every write; a follower
// then reads what is new from the store, by event id. A signal carries no
// event, so it costs the writer one non-blocking send per follower and a
// follower that is slow to read can never hold the writer up: signals that
// arrive while one is pending merge into it.
type feed struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func newFeed() *feed { return &feed{subs: map[chan struct{}]struct{}{}} }

// subscribe returns a channel signalled after each write and the func that ends the subscription.
func (f *feed) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

// notify signals every subscriber without ever blocking.
func (f *feed) notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending: the follower will read this write too
		}
	}
}

// WatchEvents returns a channel signalled whenever an event may have been
// added to any agent's history, and the func that stops the signals. Read the
// new events with ListEvents after the last id seen: subscribe first, then
// read, so that no write between the two goes unnoticed.
func (r *Runner) WatchEvents() (<-chan struct{}, func()) { return r.journal.feed.subscribe() }
