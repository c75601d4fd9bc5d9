package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// listEvents answers GET /v1/events: every agent's events on this host,
// oldest first, filtered by type, agent, function and label, paged by a cursor
// that is an event id. Asked for text/event-stream, it follows new events
// instead (streamEvents).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilterIn(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if wantsEventStream(r) {
		if err := lastEventID(r, &f); err != nil {
			writeError(w, r, err)
			return
		}
		s.streamEvents(w, r, f)
		return
	}
	page, err := s.svc.ListEvents(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, eventPageOut(page))
}

// wantsEventStream reports whether the client accepts Server-Sent Events.
func wantsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			media, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(media), api.MediaEventStream) {
				return true
			}
		}
	}
	return false
}

// lastEventID resumes a stream after the id a reconnecting client last saw; it takes precedence over the cursor.
func lastEventID(r *http.Request, f *runner.EventFilter) error {
	v := r.Header.Get(api.HeaderLastEventID)
	if v == "" {
		return nil
	}
	id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || id < 0 {
		return &runner.FieldError{Field: api.HeaderLastEventID, Message: "must be an event id"}
	}
	f.After = id
	return nil
}

// eventFilterIn reads the query of GET /v1/events; unknown parameters are ignored.
func eventFilterIn(q url.Values) (runner.EventFilter, error) {
	f := runner.EventFilter{AgentID: q.Get(api.QueryAgent), Function: q.Get(api.QueryFunction)}
	for _, t := range q[api.QueryType] {
		if !slices.Contains(f.Types, t) {
			f.Types = append(f.Types, t)
		}
	}
	labels, err := labelsIn(q[api.QueryLabel])
	if err != nil {
		return f, err
	}
	f.Labels = labels
	if c := q.Get(api.QueryCursor); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id < 0 {
			return f, &runner.FieldError{Field: api.QueryCursor, Message: "must be an event id (the id of the last event seen)"}
		}
		f.After = id
	}
	if v := q.Get(api.QueryTail); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > runner.MaxEventPage {
			return f, &runner.FieldError{Field: api.QueryTail, Message: "must be an integer from 1 to " + strconv.Itoa(runner.MaxEventPage)}
		}
		if q.Has(api.QueryLimit) {
			return f, &runner.FieldError{Field: api.QueryTail, Message: "takes the place of limit: give one of them"}
		}
		f.Limit, f.Tail = n, true
	}
	if l := q.Get(api.QueryLimit); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > runner.MaxEventPage {
			return f, &runner.FieldError{Field: api.QueryLimit, Message: "must be an integer from 1 to " + strconv.Itoa(runner.MaxEventPage)}
		}
		f.Limit = n
	}
	return f, f.Validate()
}

// labelsIn reads repeated key=value label parameters; nil when there are none.
func labelsIn(kvs []string) (map[string]string, error) {
	var labels map[string]string
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, &runner.FieldError{Field: api.QueryLabel, Message: "must look like key=value"}
		}
		if old, dup := labels[k]; dup && old != v {
			return nil, &runner.FieldError{Field: api.QueryLabel, Message: "label " + strconv.Quote(k) + " is given twice with different values"}
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = v
	}
	return labels, nil
}

func eventOut(e runner.Event) api.Event {
	return api.Event{ID: e.ID, AgentID: e.AgentID, Time: api.Time(e.Time), Type: e.Type, Name: e.Name, Detail: e.Detail}
}

func eventPageOut(p runner.EventPage) api.EventPage {
	out := api.EventPage{Events: make([]api.Event, len(p.Events))}
	for i, e := range p.Events {
		out.Events[i] = eventOut(e)
	}
	if p.More && len(p.Events) > 0 {
		out.NextCursor = strconv.FormatInt(p.Events[len(p.Events)-1].ID, 10)
	}
	return out
}
