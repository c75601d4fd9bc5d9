package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

const (
	// eventKeepalive is how often an idle stream sends a comment, so proxies and clients see it alive.
	eventKeepalive = 15 * time.Second
	// eventGather is how long a woken stream waits before it reads: the writes of that
	// moment come in one read, and the container phases the store holds back (up to 50 ms,
	// to keep an fsync off an invocation's path) are usually written by then, so a reading
	// stream seldom has to write them itself.
	eventGather = 100 * time.Millisecond
)

// streamEvents follows the events matching f as Server-Sent Events, each
// with its durable id, until the client leaves, the server stops, or the
// client falls behind.
//
// Two goroutines share a bounded buffer. The pump reads committed events
// from the store by id, page by page, and waits for the journal's signal
// when it has read them all; the writer sends them to the client. Nothing
// the runner does waits for either: the signal never blocks, and events
// wait in the store, not in memory. When the buffer stays full for
// slowAfter, the client is too slow: the pump stops, the writer sends what
// the buffer holds and then an "end" event saying why and after which id
// to resume.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, f runner.EventFilter) {
	// Subscribe before the first read, so no event committed in between is missed.
	wake, stop := s.svc.WatchEvents()
	defer stop()
	rc := http.NewResponseController(w)
	// The stream lasts as long as the client wants: the per-write deadline below bounds a stuck client instead.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", api.MediaEventStream)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy must pass events on at once
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	buf := make(chan runner.Event, s.eventBuffer)
	ended := make(chan api.StreamEnd, 1)
	go s.pumpEvents(ctx, f, wake, buf, ended)

	out := sseWriter{w: w, rc: rc, deadline: s.eventSlowAfter, last: f.After}
	keepalive := time.NewTicker(eventKeepalive)
	defer keepalive.Stop()
	for {
		select {
		case e, ok := <-buf:
			if !ok {
				select {
				case end := <-ended:
					end.LastEventID = out.last
					out.end(end)
					s.logStreamEnd(r, end)
				default: // the request ended
				}
				return
			}
			if err := out.event(e, len(buf) == 0); err != nil {
				return
			}
		case <-keepalive.C:
			if err := out.comment("keepalive"); err != nil {
				return
			}
		case <-s.stopping:
			out.end(api.StreamEnd{Reason: api.EndShutdown, Message: "podrun is stopping; reconnect with Last-Event-ID once it is back", LastEventID: out.last})
			return
		case <-ctx.Done():
			return
		}
	}
}

// pumpEvents reads the events after f.After into buf until ctx ends, the
// store fails, or the client leaves buf full for s.eventSlowAfter; it says
// why in ended (unless ctx ended) and closes buf.
func (s *Server) pumpEvents(ctx context.Context, f runner.EventFilter, wake <-chan struct{}, buf chan<- runner.Event, ended chan<- api.StreamEnd) {
	defer close(buf)
	f.Limit = runner.MaxEventPage
	slow := time.NewTimer(s.eventSlowAfter)
	slow.Stop()
	for {
		page, err := s.svc.ListEvents(ctx, f)
		if err != nil {
			if ctx.Err() == nil {
				ended <- api.StreamEnd{Reason: api.EndError, Message: "reading events failed: " + err.Error() + "; reconnect with Last-Event-ID"}
			}
			return
		}
		for _, e := range page.Events {
			select {
			case buf <- e:
			default:
				slow.Reset(s.eventSlowAfter)
				select {
				case buf <- e:
					slow.Stop()
				case <-slow.C:
					ended <- api.StreamEnd{Reason: api.EndSlowClient, Message: fmt.Sprintf(
						"the client left %d events unread for %s; the events after last_event_id are kept: reconnect with Last-Event-ID",
						cap(buf), s.eventSlowAfter)}
					return
				case <-ctx.Done():
					return
				}
			}
			f.After = e.ID
		}
		if page.More {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		}
		select {
		case <-time.After(eventGather):
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) logStreamEnd(r *http.Request, end api.StreamEnd) {
	infoFrom(r.Context()).log.LogAttrs(r.Context(), slog.LevelWarn, "event stream cut off",
		slog.String("reason", end.Reason), slog.Int64("last_event_id", end.LastEventID))
}

// sseWriter writes Server-Sent Events, each within a write deadline so a client that reads nothing cannot hold the handler.
type sseWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	deadline time.Duration
	last     int64 // id of the last event written
}

// event writes e with its id as the SSE id, flushing when flush is set.
func (o *sseWriter) event(e runner.Event, flush bool) error {
	data, err := json.Marshal(eventOut(e))
	if err != nil {
		return err
	}
	if err := o.write("id: " + strconv.FormatInt(e.ID, 10) + "\ndata: " + string(data) + "\n\n"); err != nil {
		return err
	}
	o.last = e.ID
	if flush {
		return o.rc.Flush()
	}
	return nil
}

// end writes the stream's last event: no id, so a client's Last-Event-ID stays the last event's.
func (o *sseWriter) end(end api.StreamEnd) {
	data, _ := json.Marshal(end)
	if o.write("event: "+api.SSEEnd+"\ndata: "+string(data)+"\n\n") == nil {
		_ = o.rc.Flush()
	}
}

func (o *sseWriter) comment(text string) error {
	if err := o.write(": " + text + "\n\n"); err != nil {
		return err
	}
	return o.rc.Flush()
}

func (o *sseWriter) write(s string) error {
	if err := o.rc.SetWriteDeadline(time.Now().Add(o.deadline)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	_, err := o.w.Write([]byte(s))
	return err
}
