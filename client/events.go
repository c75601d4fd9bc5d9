package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/podrun/podrun/api"
)

// ListEvents returns one page of every agent's events, oldest first (GET /v1/events); pass the
// page's NextCursor, or the last event's id, as opts.After for the next one.
func (c *Client) ListEvents(ctx context.Context, opts api.EventOptions) (api.EventPage, error) {
	var p api.EventPage
	_, err := c.call(ctx, http.MethodGet, "/v1/events", opts.Query(), nil, &p)
	if p.Events == nil {
		p.Events = []api.Event{}
	}
	return p, err
}

// FollowEvents opens the live event stream (GET /v1/events as text/event-stream): the events
// after opts.After that match opts, then each new one as it is committed. Read it with Next;
// close it when done. Reconnecting with the last id Next returned misses and repeats nothing.
func (c *Client) FollowEvents(ctx context.Context, opts api.EventOptions) (*EventStream, error) {
	after := opts.After
	opts.After, opts.Limit, opts.Tail = 0, 0, 0
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/events", opts.Query(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", api.MediaEventStream)
	if after > 0 {
		req.Header.Set(api.HeaderLastEventID, strconv.FormatInt(after, 10))
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); ct != api.MediaEventStream {
		resp.Body.Close()
		return nil, fmt.Errorf("GET /v1/events: answered %s, not an event stream", ct)
	}
	return &EventStream{body: resp.Body, rd: bufio.NewReader(resp.Body), LastID: after}, nil
}

// EventStream is an open event stream; it is not safe for concurrent use.
type EventStream struct {
	body io.ReadCloser
	rd   *bufio.Reader
	// LastID is the id of the last event Next returned (or the id the stream resumed after).
	LastID int64
}

// StreamEndError is the server's word that it ended the stream, and why; resume after LastEventID.
type StreamEndError struct{ api.StreamEnd }

func (e *StreamEndError) Error() string {
	return fmt.Sprintf("event stream ended by the server (%s): %s", e.Reason, e.Message)
}

// Next returns the next event. It returns a *StreamEndError when the server ended the stream,
// io.ErrUnexpectedEOF when the connection ended without a word, and ctx's error once it ends.
func (s *EventStream) Next() (api.Event, error) {
	var name, data string
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return api.Event{}, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		switch {
		case line == "":
			if data == "" {
				continue // a comment or a keepalive ended
			}
			if name == api.SSEEnd {
				var end api.StreamEnd
				if err := json.Unmarshal([]byte(data), &end); err != nil {
					return api.Event{}, fmt.Errorf("event stream: end event %q: %w", data, err)
				}
				return api.Event{}, &StreamEndError{end}
			}
			var e api.Event
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				return api.Event{}, fmt.Errorf("event stream: event %q: %w", data, err)
			}
			s.LastID = e.ID
			return e, nil
		case strings.HasPrefix(line, ":"):
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				name = value
			case "data":
				data += value
			}
		}
	}
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }

// Usage sums up the agents created in a window, per group (GET /v1/usage).
func (c *Client) Usage(ctx context.Context, opts api.UsageOptions) (api.UsageSummary, error) {
	var u api.UsageSummary
	_, err := c.call(ctx, http.MethodGet, "/v1/usage", opts.Query(), nil, &u)
	return u, err
}

// Node describes the server as a node: host, capacity and what it holds now (GET /v1/node).
func (c *Client) Node(ctx context.Context) (api.Node, error) {
	var n api.Node
	_, err := c.call(ctx, http.MethodGet, "/v1/node", nil, nil, &n)
	return n, err
}
