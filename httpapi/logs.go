package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// agentLogs streams an agent's output, stdout and stderr as one stream in
// the order it was written. Query: follow (bool), tail (lines in all),
// stream (stdout, stderr or both), timestamps (bool, text form) and format:
// "text" (the default: each line and its newline, if it had one) or
// "ndjson" (one api.LogLine per line, with its stream, time and seq).
func (s *Server) agentLogs(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	opts, form, err := logQuery(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	if opts.Follow {
		// A followed stream lasts as long as the container; the request context
		// (client gone, server shutdown) is what ends it, not WriteTimeout.
		if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
			writeError(w, r, err)
			return
		}
	}
	out := &lineWriter{w: w, rc: rc, flush: opts.Follow, form: form}
	h := w.Header()
	h.Set("Content-Type", form.contentType())
	h.Set("X-Content-Type-Options", "nosniff") // agent output is untrusted; never let a browser sniff it into HTML
	err = s.svc.Logs(r.Context(), id, opts, out.write)
	out.close()
	if err == nil {
		return
	}
	if !out.started() {
		writeError(w, r, err) // nothing sent yet, so the client can still get a proper status
		return
	}
	// The status is gone; all that is left is to end the body and say why in the log.
	level := slog.LevelWarn
	if r.Context().Err() != nil {
		level = slog.LevelDebug
	}
	infoFrom(r.Context()).log.LogAttrs(r.Context(), level, "log stream ended early", slog.String("agent", id), slog.Any("err", err))
}

// logForm is how lines are written to the response.
type logForm struct {
	ndjson     bool
	timestamps bool // text form: each line starts with its time
}

func (f logForm) contentType() string {
	if f.ndjson {
		return api.ContentTypeNDJSON
	}
	return "text/plain; charset=utf-8"
}

// logQuery reads a logs request's query; errors name the field.
func logQuery(r *http.Request) (runner.LogOptions, logForm, error) {
	q := r.URL.Query()
	var opts runner.LogOptions
	var form logForm
	boolean := func(name string, dst *bool) error {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return &runner.FieldError{Field: name, Message: "must be true or false"}
		}
		*dst = b
		return nil
	}
	if err := boolean(api.QueryFollow, &opts.Follow); err != nil {
		return opts, form, err
	}
	if err := boolean(api.QueryTimestamps, &form.timestamps); err != nil {
		return opts, form, err
	}
	if v := q.Get(api.QueryTail); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return opts, form, &runner.FieldError{Field: api.QueryTail, Message: "must be a non-negative integer"}
		}
		opts.Tail = n
	}
	streams, err := runner.ParseLogStreams(q.Get(api.QueryStream))
	if err != nil {
		return opts, form, err
	}
	opts.Streams = streams
	switch q.Get(api.QueryFormat) {
	case "", api.FormatText:
	case api.FormatNDJSON:
		form.ndjson = true
	default:
		return opts, form, &runner.FieldError{Field: api.QueryFormat, Message: "must be text or ndjson"}
	}
	return opts, form, nil
}

// lineWriter writes the service's lines to the response and, when
// following, flushes each so the client sees output as it happens.
type lineWriter struct {
	mu    sync.Mutex
	w     io.Writer
	rc    *http.ResponseController
	flush bool
	form  logForm
	buf   []byte
	wrote bool
	// closed guards the response once the handler returns: a write from a
	// straggling goroutine in the service must fail, not crash the server.
	closed bool
}

// unknownTime stands for the time of a line saved before podrun kept times.
const unknownTime = "-"

func (lw *lineWriter) write(l runner.LogLine) error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed {
		return io.ErrClosedPipe
	}
	b := lw.buf[:0]
	switch {
	case lw.form.ndjson:
		j, err := json.Marshal(logLineOut(l))
		if err != nil {
			return err
		}
		b = append(append(b, j...), '\n')
	default:
		if lw.form.timestamps {
			if l.Time.IsZero() {
				b = append(b, unknownTime...)
			} else {
				b = l.Time.UTC().AppendFormat(b, time.RFC3339Nano)
			}
			b = append(b, ' ')
		}
		b = append(b, l.Text...)
		if !l.Partial {
			b = append(b, '\n')
		}
	}
	lw.buf = b
	n, err := lw.w.Write(b)
	lw.wrote = lw.wrote || n > 0
	if err != nil {
		return err
	}
	if lw.flush {
		if err := lw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	}
	return nil
}

func (lw *lineWriter) started() bool {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.wrote
}

func (lw *lineWriter) close() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.closed = true
}
