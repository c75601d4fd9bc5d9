package httpapi

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/podrun/podrun/runner"
)

// fakeEvents is an in-memory event log with ids in append order and the
// journal's wake-up signal: publish never blocks, whoever watches.
type fakeEvents struct {
	mu       sync.Mutex
	log      []runner.Event
	watchers map[chan struct{}]struct{}
	usage    runner.UsageSummary
	node     runner.Node
	lastQ    runner.UsageQuery
}

// publish appends events to the log, giving them the next ids, and signals the watchers.
func (f *fakeService) publish(events ...runner.Event) {
	f.ev.mu.Lock()
	defer f.ev.mu.Unlock()
	for _, e := range events {
		e.ID = int64(len(f.ev.log) + 1)
		if e.Time.IsZero() {
			e.Time = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		}
		f.ev.log = append(f.ev.log, e)
	}
	for ch := range f.ev.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (f *fakeService) ListEvents(ctx context.Context, flt runner.EventFilter) (runner.EventPage, error) {
	if err := f.enter("ListEvents"); err != nil {
		return runner.EventPage{}, err
	}
	if err := flt.Validate(); err != nil {
		return runner.EventPage{}, err
	}
	f.ev.mu.Lock()
	defer f.ev.mu.Unlock()
	var page runner.EventPage
	if flt.Tail {
		var matched []runner.Event
		for _, e := range f.ev.log {
			if e.ID > flt.After && (len(flt.Types) == 0 || slices.Contains(flt.Types, e.Type)) {
				matched = append(matched, e)
			}
		}
		page.Events = matched[max(0, len(matched)-flt.Limit):]
		return page, nil
	}
	for _, e := range f.ev.log {
		if e.ID <= flt.After || (flt.AgentID != "" && e.AgentID != flt.AgentID) ||
			(len(flt.Types) > 0 && !slices.Contains(flt.Types, e.Type)) {
			continue
		}
		if len(page.Events) == flt.Limit {
			page.More = true
			break
		}
		page.Events = append(page.Events, e)
	}
	return page, nil
}

func (f *fakeService) WatchEvents() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.ev.mu.Lock()
	if f.ev.watchers == nil {
		f.ev.watchers = map[chan struct{}]struct{}{}
	}
	f.ev.watchers[ch] = struct{}{}
	f.ev.mu.Unlock()
	return ch, func() {
		f.ev.mu.Lock()
		delete(f.ev.watchers, ch)
		f.ev.mu.Unlock()
	}
}

// watchers counts the streams watching now.
func (f *fakeService) watchers() int {
	f.ev.mu.Lock()
	defer f.ev.mu.Unlock()
	return len(f.ev.watchers)
}

func (f *fakeService) Usage(ctx context.Context, q runner.UsageQuery) (runner.UsageSummary, error) {
	if err := f.enter("Usage"); err != nil {
		return runner.UsageSummary{}, err
	}
	f.ev.mu.Lock()
	defer f.ev.mu.Unlock()
	f.ev.lastQ = q
	return f.ev.usage, nil
}

func (f *fakeService) Node(ctx context.Context) (runner.Node, error) {
	if err := f.enter("Node"); err != nil {
		return runner.Node{}, err
	}
	return f.ev.node, nil
}
