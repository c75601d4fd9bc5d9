package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// names lists each event as agent-index:type:name for compact comparisons.
func eventNames(events []runner.Event, index map[string]int) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = fmt.Sprintf("%d:%s:%s", index[e.AgentID], e.Type, e.Name)
	}
	return out
}

func TestListEventsFiltersAndPagesByID(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	plain := mustCreate(t, s, testAgent(1, func(a *runner.Agent) { a.Function, a.Labels = "", map[string]string{"team": "b"} }))
	echo := mustCreate(t, s, testAgent(2)) // function echo, team a
	other := mustCreate(t, s, testAgent(3, func(a *runner.Agent) { a.Function, a.Labels = "other", map[string]string{"team": "a", "x": "1"} }))
	index := map[string]int{plain.ID: 1, echo.ID: 2, other.ID: 3}
	appendEv := func(id, typ, name string) {
		t.Helper()
		if err := s.AppendEvent(ctx, runner.Event{AgentID: id, Time: t0, Type: typ, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	appendEv(plain.ID, runner.EventContainer, "creating")
	appendEv(echo.ID, "alert", "memory")
	appendEv(other.ID, runner.EventContainer, "creating")
	if _, err := s.Transition(ctx, echo.ID, runner.Change{To: runner.StateRunning, At: t0}); err != nil {
		t.Fatal(err)
	}
	appendEv(plain.ID, "alert", "pids") // held: ListEvents must write it before reading

	for _, tc := range []struct {
		name string
		f    runner.EventFilter
		want []string
	}{
		{"all", runner.EventFilter{}, []string{"1:state:pending", "2:state:pending", "3:state:pending",
			"1:container:creating", "2:alert:memory", "3:container:creating", "2:state:running", "1:alert:pids"}},
		{"type state", runner.EventFilter{Types: []string{"state"}}, []string{"1:state:pending", "2:state:pending", "3:state:pending", "2:state:running"}},
		{"type alert or container", runner.EventFilter{Types: []string{"alert", "container"}},
			[]string{"1:container:creating", "2:alert:memory", "3:container:creating", "1:alert:pids"}},
		{"type invocation", runner.EventFilter{Types: []string{runner.EventInvocation}},
			[]string{"2:state:pending", "3:state:pending", "2:alert:memory", "3:container:creating", "2:state:running"}},
		{"type invocation or alert", runner.EventFilter{Types: []string{runner.EventInvocation, "alert"}},
			[]string{"2:state:pending", "3:state:pending", "2:alert:memory", "3:container:creating", "2:state:running", "1:alert:pids"}},
		{"agent", runner.EventFilter{AgentID: plain.ID}, []string{"1:state:pending", "1:container:creating", "1:alert:pids"}},
		{"function", runner.EventFilter{Function: "other"}, []string{"3:state:pending", "3:container:creating"}},
		{"label", runner.EventFilter{Labels: map[string]string{"team": "a"}},
			[]string{"2:state:pending", "3:state:pending", "2:alert:memory", "3:container:creating", "2:state:running"}},
		{"two labels", runner.EventFilter{Labels: map[string]string{"team": "a", "x": "1"}}, []string{"3:state:pending", "3:container:creating"}},
		{"label and type", runner.EventFilter{Labels: map[string]string{"team": "a"}, Types: []string{"alert"}}, []string{"2:alert:memory"}},
		{"no match", runner.EventFilter{Function: "none"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListEvents(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := eventNames(page.Events, index); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
			if page.More {
				t.Fatal("More on a page that holds every match")
			}
		})
	}

	tail, err := s.ListEvents(ctx, runner.EventFilter{Limit: 3, Tail: true, Types: []string{"state", "alert"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := eventNames(tail.Events, index), []string{"2:alert:memory", "2:state:running", "1:alert:pids"}; fmt.Sprint(got) != fmt.Sprint(want) || tail.More {
		t.Fatalf("tail of 3 = %v (more %t), want %v", got, tail.More, want)
	}

	// Paging by cursor reads every event once, in order, whatever the page size.
	all, err := s.ListEvents(ctx, runner.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 3, 7} {
		var got []runner.Event
		f := runner.EventFilter{Limit: size}
		for pages := 0; ; pages++ {
			page, err := s.ListEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page.Events...)
			if !page.More {
				break
			}
			if len(page.Events) != size {
				t.Fatalf("page %d of size %d holds %d events and says more follow", pages, size, len(page.Events))
			}
			f.After = page.Events[len(page.Events)-1].ID
		}
		if fmt.Sprint(eventNames(got, index)) != fmt.Sprint(eventNames(all.Events, index)) {
			t.Fatalf("pages of %d read %v, want %v", size, eventNames(got, index), eventNames(all.Events, index))
		}
	}
}

func TestUsageRowsGroupAndWindow(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	seed(t, s, 6, func(i int, a *runner.Agent) {
		a.State, a.StartedAt, a.FinishedAt = runner.StateSucceeded, a.CreatedAt, a.CreatedAt.Add(time.Duration(i+1)*time.Second)
		switch i {
		case 0:
			a.Function, a.Labels = "", map[string]string{`we"ird.key`: "v"}
		case 1, 2:
			a.Function, a.Start = "echo", runner.StartWarm
		case 3:
			a.Function, a.Start, a.State, a.Reason = "echo", runner.StartCold, runner.StateFailed, runner.ReasonOOM
		case 4:
			a.Function, a.State, a.StartedAt, a.FinishedAt = "sleep", runner.StateRunning, a.CreatedAt, time.Time{}
		case 5: // outside the window below
			a.CreatedAt = t0.Add(time.Hour)
		}
	})
	window := runner.UsageQuery{Since: t0, Until: t0.Add(time.Minute)}
	keys := func(q runner.UsageQuery) map[string]int {
		t.Helper()
		u, err := runner.SummarizeUsage(ctx, s, q)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, g := range u.Groups {
			got[g.Key] = g.Agents
		}
		return got
	}
	for _, tc := range []struct {
		groupBy string
		want    map[string]int
	}{
		{runner.GroupByFunction, map[string]int{"": 1, "echo": 3, "sleep": 1}},
		{runner.GroupByState, map[string]int{"succeeded": 3, "failed": 1, "running": 1}},
		{runner.GroupByLabel + "team", map[string]int{"": 1, "a": 4}},
		{runner.GroupByLabel + `we"ird.key`, map[string]int{"v": 1, "": 4}},
	} {
		q := window
		q.GroupBy = tc.groupBy
		if got := keys(q); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("group by %s: %v, want %v", tc.groupBy, got, tc.want)
		}
	}
	u, err := runner.SummarizeUsage(ctx, s, runner.UsageQuery{Since: t0, Until: t0.Add(time.Minute), GroupBy: runner.GroupByFunction})
	if err != nil {
		t.Fatal(err)
	}
	echo := u.Groups[1]
	if echo.Key != "echo" || echo.Invocations != 3 || echo.Warm != 2 || echo.Cold != 1 ||
		echo.Outcomes["succeeded"] != 2 || echo.Outcomes["oom"] != 1 || echo.Durations.Count != 3 ||
		echo.Durations.Total != 9*time.Second || echo.Durations.P50 != 3*time.Second || echo.Durations.P99 != 4*time.Second {
		t.Fatalf("echo group = %+v", echo)
	}
	if want := 0.5 * 9; echo.ReservedCPUSeconds != want {
		t.Errorf("reserved CPU seconds = %v, want %v", echo.ReservedCPUSeconds, want)
	}
	if echo.CPUSeconds != nil || echo.MemoryPeak != nil {
		t.Errorf("measures of never sampled agents = %v, %v, want none", echo.CPUSeconds, echo.MemoryPeak)
	}
	if sleep := u.Groups[2]; sleep.States[runner.StateRunning] != 1 || len(sleep.Outcomes) != 0 || sleep.Durations.Count != 0 {
		t.Errorf("a running invocation counts as %+v", sleep)
	}
}

// TestListEventsWaitsForHeldEventsBeingWritten: a held event taken by a write
// transaction that has not committed yet (the flush timer's, say) must not be
// skipped by a listing, or a follower woken for it would miss it until the next write.
func TestListEventsWaitsForHeldEventsBeingWritten(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(1))
	if err := s.AppendEvent(ctx, runner.Event{AgentID: a.ID, Time: t0, Type: runner.EventContainer, Name: "created"}); err != nil {
		t.Fatal(err)
	}
	taken, release := make(chan struct{}), make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		wrote <- s.write(ctx, func(*sql.Tx) error { close(taken); <-release; return nil })
	}()
	<-taken // the held event is inserted in a transaction not committed yet
	listed := make(chan runner.EventPage, 1)
	go func() {
		page, err := s.ListEvents(ctx, runner.EventFilter{Types: []string{runner.EventContainer}, Limit: 10})
		if err != nil {
			t.Error(err)
		}
		listed <- page
	}()
	time.Sleep(100 * time.Millisecond) // let the listing run ahead if it would
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if page := <-listed; len(page.Events) != 1 || page.Events[0].Name != "created" {
		t.Fatalf("listing during the write read %+v, want the held event", page.Events)
	}
}

// TestUsagePercentilesAcrossCells: a group's run-time percentiles are taken
// over all its agents, whatever cell (state, start) each one counts in,
// by the nearest-rank method: of 1..200 ms, p50 is 100 ms and p99 198 ms.
func TestUsagePercentilesAcrossCells(t *testing.T) {
	s := newStore(t)
	seed(t, s, 200, func(i int, a *runner.Agent) {
		a.Function, a.Start, a.State = "fn", runner.StartCold, runner.StateSucceeded
		if i%3 == 0 {
			a.Start = runner.StartWarm
		}
		if i%4 == 0 {
			a.State, a.Reason = runner.StateFailed, runner.ReasonError
		}
		run := time.Duration(200-i) * time.Millisecond // 200 ms down to 1 ms, so no cell is sorted by creation
		a.StartedAt, a.FinishedAt = a.CreatedAt, a.CreatedAt.Add(run)
	})
	u, err := runner.SummarizeUsage(context.Background(), s, runner.UsageQuery{Since: t0, Until: t0.Add(time.Hour), GroupBy: runner.GroupByFunction})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Groups) != 1 {
		t.Fatalf("groups = %+v, want fn alone", u.Groups)
	}
	if d := u.Groups[0].Durations; d.Count != 200 || d.P50 != 100*time.Millisecond || d.P99 != 198*time.Millisecond {
		t.Fatalf("durations = %+v, want 200 runs, p50 100ms, p99 198ms", d)
	}
}
