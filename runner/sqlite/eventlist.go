package sqlite

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/podrun/podrun/runner"
)

// ListEvents returns the events of every agent that match f (validated by
// the runner), oldest first, after f.After. Held events are written first, so
// the page holds every event appended before the call; ids then grow in
// commit order (one writer connection, AUTOINCREMENT), which is what lets a
// follower resume after the last id it saw without a gap or a repeat.
func (s *Store) ListEvents(ctx context.Context, f runner.EventFilter) (runner.EventPage, error) {
	if s.hasHeld() {
		if err := s.write(ctx, noWrite); err != nil {
			return runner.EventPage{}, fmt.Errorf("list events: write held events: %w", err)
		}
	}
	limit := f.Limit
	if limit <= 0 || limit > runner.MaxEventPage {
		limit = runner.DefaultEventPage
	}
	query, args := eventQuery(f, limit+1)
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return runner.EventPage{}, fmt.Errorf("list events: %w", err)
	}
	events, err := scanAll(rows, scanEvent)
	if err != nil {
		return runner.EventPage{}, fmt.Errorf("list events: %w", err)
	}
	page := runner.EventPage{Events: events}
	if f.Tail {
		// Read newest first; the extra row says nothing about events after the page.
		page.Events = events[:min(len(events), limit)]
		slices.Reverse(page.Events)
		return page, nil
	}
	if len(events) > limit {
		page.Events, page.More = events[:limit], true
	}
	return page, nil
}

// eventQuery builds the SELECT for f. The agent is joined only when a filter
// needs one of its columns; events_type_id (0009) serves a type filter,
// events_agent an agent filter, and the primary key the plain stream.
func eventQuery(f runner.EventFilter, limit int) (string, []any) {
	where := []string{`e.id > ?`}
	args := []any{f.After}
	join := false
	if len(f.Types) > 0 {
		var types []any
		invocations := false
		for _, t := range f.Types {
			if t == runner.EventInvocation {
				invocations = true
				continue
			}
			types = append(types, t)
		}
		var alts []string
		if len(types) > 0 {
			alts = append(alts, `e.type IN (`+placeholders(len(types))+`)`)
			args = append(args, types...)
		}
		if invocations {
			alts, join = append(alts, `a.function <> ''`), true
		}
		where = append(where, `(`+strings.Join(alts, ` OR `)+`)`)
	}
	if f.AgentID != "" {
		where, args = append(where, `e.agent_id = ?`), append(args, f.AgentID)
	}
	if f.Function != "" {
		where, args, join = append(where, `a.function = ?`), append(args, f.Function), true
	}
	// As in ListAgents, json_each compares label keys as data.
	for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
		where = append(where, `EXISTS (SELECT 1 FROM json_each(a.labels) AS l WHERE l.key = ? AND l.value = ?)`)
		args, join = append(args, k, f.Labels[k]), true
	}
	query := `SELECT e.id, e.agent_id, e.time, e.type, e.name, e.detail FROM events AS e`
	if join {
		query += ` JOIN agents AS a ON a.id = e.agent_id`
	}
	query += ` WHERE ` + strings.Join(where, ` AND `) + ` ORDER BY e.id`
	if f.Tail {
		query += ` DESC`
	}
	query += ` LIMIT ?`
	return query, append(args, limit)
}

// placeholders is "?, ?, ..." n times.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
