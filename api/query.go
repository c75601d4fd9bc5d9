package api

import (
	"net/url"
	"slices"
	"strconv"
)

// Query parameters of GET /v1/agents.
const (
	QueryState    = "state"    // a State, repeatable: an agent in any of them
	QueryFunction = "function" // a function's name
	QueryLabel    = "label"    // key=value, repeatable: an agent must carry all
	QueryCursor   = "cursor"   // AgentPage.NextCursor of the previous page
	QueryLimit    = "limit"    // page size, 1 to 1000; 100 when left out
)

// Query parameters of GET /v1/agents/{id}/logs.
const (
	QueryFollow     = "follow"     // "true" keeps the answer open until the process ends
	QueryTail       = "tail"       // the last N lines of the selected streams, counted together; 0 or left out means all
	QueryStream     = "stream"     // StreamStdout, StreamStderr or StreamBoth (the default)
	QueryTimestamps = "timestamps" // "true" starts each line of the text form with its time
	QueryFormat     = "format"     // FormatText (the default) or FormatNDJSON
)

// Values of QueryStream.
const (
	StreamBoth   = "both"
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// Values of QueryFormat.
const (
	// FormatText writes each line and its newline (none after a partial last line), as
	// text/plain; with timestamps each starts with its time, RFC 3339, and a space ("-" for a
	// line saved without one).
	FormatText = "text"
	// FormatNDJSON writes one LogLine per line, as application/x-ndjson.
	FormatNDJSON = "ndjson"
)

// ListOptions select a page of GET /v1/agents; every field is optional.
type ListOptions struct {
	// States keeps agents in any of these states; empty keeps every state.
	States []State
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
	for _, st := range o.States {
		q.Add(QueryState, string(st))
	}
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

// LogOptions select what GET /v1/agents/{id}/logs writes: the agent's output, stdout and
// stderr interleaved in the order they were written unless Stream picks one.
type LogOptions struct {
	// Follow keeps the answer open, writing output as it comes, until the process ends.
	Follow bool
	// Tail is how many lines from the end, both streams counted together; 0 means all.
	Tail int
	// Stream is StreamStdout, StreamStderr, or "" (or StreamBoth) for both.
	Stream string
	// Timestamps starts each line of the text form with its time.
	Timestamps bool
	// Format is FormatText ("" too) or FormatNDJSON.
	Format string
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
	if o.Timestamps {
		q.Set(QueryTimestamps, "true")
	}
	set(q, QueryFormat, o.Format)
	return q
}

func set(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}
