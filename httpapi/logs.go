package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/podrun/podrun/runner"
)

// agentLogs streams an agent's output as plain text, interleaving stdout and stderr.
func (s *Server) agentLogs(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var opts runner.LogOptions
	if v := q.Get("follow"); v != "" {
		follow, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, r, &runner.FieldError{Field: "follow", Message: "must be true or false"})
			return
		}
		opts.Follow = follow
	}
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, r, &runner.FieldError{Field: "tail", Message: "must be a non-negative integer"})
			return
		}
		opts.Tail = n
	}
	rc := http.NewResponseController(w)
	out := &streamWriter{w: w, rc: rc, flush: opts.Follow}
	// A nil writer tells the service to skip that stream entirely.
	var stdout, stderr io.Writer = out, out
	switch q.Get("stream") {
	case "", "all":
	case "stdout":
		stderr = nil
	case "stderr":
		stdout = nil
	default:
		writeError(w, r, &runner.FieldError{Field: "stream", Message: "must be stdout, stderr or all"})
		return
	}
	if opts.Follow {
		// A followed stream lasts as long as the container; the request context
		// (client gone, server shutdown) is what ends it, not WriteTimeout.
		if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
			writeError(w, r, err)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff") // agent output is untrusted; never let a browser sniff it into HTML
	err := s.svc.Logs(r.Context(), id, opts, stdout, stderr)
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

// streamWriter serialises the service's two streams onto one response and,
// when following, flushes each write so the client sees output as it happens.
type streamWriter struct {
	mu    sync.Mutex
	w     io.Writer
	rc    *http.ResponseController
	flush bool
	wrote bool
	// closed guards the response once the handler returns: a write from a
	// straggling goroutine in the service must fail, not crash the server.
	closed bool
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := s.w.Write(p)
	s.wrote = s.wrote || n > 0
	if err != nil {
		return n, err
	}
	if s.flush {
		if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return n, err
		}
	}
	return n, nil
}

func (s *streamWriter) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wrote
}

func (s *streamWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}
