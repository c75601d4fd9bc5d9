package api

import (
	"net/url"
	"slices"
	"strconv"
)

// Query parameters of GET /v1/agents.
const (
	QueryState    = "state"    // one State
	QueryFunction = "function" // a function's name
	QueryLabel    = "label"    // key=value, repeatable: an agent must carry all
	QueryCursor   = "cursor"   // AgentPage.NextCursor of the previous page
	QueryLimit    = "limit"    // page size, 1 to 1000; 100 when left out
)

// Query parameters of GET /v1/agents/{id}/logs.
const (
	QueryFollow = "follow" // "true" keeps the answer open until the process ends
	QueryTail   = "tail"   // the last N lines of each stream; 0 or left out means all
	QueryStream = "stream" // StreamStdout, StreamStderr or StreamAll (the default)
)

// Values of QueryStream.
const (
	StreamAll    = "all"
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// ListOptions select a page of GET /v1/agents; every field is optional.
type ListOptions struct {
	// State keeps agents in this state.
	State State
	// Function keeps the agents of this function's invocations.
	Function string
	// Labels keeps agents carrying every one of these labels.
	Labels map[string]string
	// Cursor continues a listing where the previous page's NextCursor says.
	Cursor string
	// Limit is the page size, 1 to 1000; 0 leaves it to the server (100).
	Limit int
}

// Query encodes the options as query parameters.
func (o ListOptions) Query() url.Values {
	q := url.Values{}
	set(q, QueryState, string(o.State))
	set(q, QueryFunction, o.Function)
	set(q, QueryCursor, o.Cursor)
	if o.Limit != 0 {
		q.Set(QueryLimit, strconv.Itoa(o.Limit))
	}
	keys := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a stable URL for logs and caches
	for _, k := range keys {
		q.Add(QueryLabel, k+"="+o.Labels[k])
	}
	return q
}

// LogOptions select what GET /v1/agents/{id}/logs writes: the agent's output as plain text,
// stdout and stderr interleaved unless Stream picks one.
type LogOptions struct {
	// Follow keeps the answer open, writing output as it comes, until the process ends.
	Follow bool
	// Tail is how many lines from the end of each stream; 0 means all.
	Tail int
	// Stream is StreamStdout, StreamStderr, or "" (or StreamAll) for both.
	Stream string
}

// Query encodes the options as query parameters.
func (o LogOptions) Query() url.Values {
	q := url.Values{}
	if o.Follow {
		q.Set(QueryFollow, "true")
	}
	if o.Tail != 0 {
		q.Set(QueryTail, strconv.Itoa(o.Tail))
	}
	set(q, QueryStream, o.Stream)
	return q
}

func set(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}
