package httpapi

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// streamQuery reads POST /v1/agents/:id/exec's stream parameter.
func streamQuery(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("stream")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &runner.FieldError{Field: "stream", Message: "must be true or false"}
	}
	return b, nil
}

// agentExecStream answers POST /v1/agents/:id/exec?stream=true: once the request is checked and
// the agent found running, 200 with the output as it comes, in Docker's multiplexed frames
// (api.ContentTypeMultiplexed), and the exit code and reason in trailers. The command is killed
// (its whole tree) when the client leaves.
func (s *Server) agentExecStream(w http.ResponseWriter, r *http.Request, id string, in api.ExecRequest) {
	req := runner.ExecStreamRequest{Command: in.Command, Env: in.Env, Workdir: in.Workdir, Timeout: in.Timeout}
	if _, err := req.Validate(); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.execTarget(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// The answer lasts as long as the command; the client's leaving ends it.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", api.ContentTypeMultiplexed)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Trailer", headerExitCode+", "+headerReason)
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	mux := &muxWriter{w: w, rc: rc}
	eio := runner.ExecIO{
		Stdin:  strings.NewReader(in.Stdin),
		Stdout: mux.stream(api.ExecStdout),
		Stderr: mux.stream(api.ExecStderr),
	}
	code, err := s.svc.ExecStream(r.Context(), id, req, eio)
	switch {
	case err == nil && code == 0:
		h.Set(headerExitCode, "0")
		h.Set(headerReason, api.OutcomeSucceeded)
	case err == nil:
		h.Set(headerExitCode, strconv.Itoa(code))
		h.Set(headerReason, api.OutcomeFailed)
	case errors.Is(err, context.DeadlineExceeded):
		h.Set(headerReason, api.OutcomeExpired)
	case r.Context().Err() != nil:
		h.Set(headerReason, api.OutcomeClientGone)
	default:
		infoFrom(r.Context()).log.LogAttrs(r.Context(), slog.LevelWarn, "streamed exec failed", slog.String("agent", id), slog.Any("err", err))
		h.Set(headerReason, api.OutcomeError)
	}
}

// muxWriter frames each write of a stream with Docker's 8-byte header and flushes it.
type muxWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (m *muxWriter) stream(b byte) *muxStream { return &muxStream{m: m, b: b} }

type muxStream struct {
	m *muxWriter
	b byte
}

func (s *muxStream) Write(p []byte) (int, error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	var hdr [8]byte
	hdr[0] = s.b
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := s.m.w.Write(hdr[:]); err != nil {
		return 0, err
	}
	if _, err := s.m.w.Write(p); err != nil {
		return 0, err
	}
	return len(p), s.m.rc.Flush()
}
