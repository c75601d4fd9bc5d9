package httpapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/podrun/podrun/api"
)

// reqInfo is what the middleware learns about one request; the router fills in
// route after the outer middleware has already stored the pointer.
type reqInfo struct {
	id       string
	route    string
	agent    string // the :id of an agent route
	function string // the :name of a function route
	log      *slog.Logger
}

type infoKey struct{}

var discardLogger = slog.New(slog.DiscardHandler)

// infoFrom never returns nil, so handlers work even without the middleware.
func infoFrom(ctx context.Context) *reqInfo {
	if info, ok := ctx.Value(infoKey{}).(*reqInfo); ok {
		return info
	}
	return &reqInfo{log: discardLogger}
}

const (
	requestIDHeader = "X-Request-Id"
	maxRequestIDLen = 64
)

// requestID adopts a sane incoming X-Request-Id (so a proxy's id ties the logs
// together) or makes one, echoes it, and gives the request a logger carrying it.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set(requestIDHeader, id)
		info := &reqInfo{id: id, route: unmatchedRoute, log: s.log.With("request_id", id)}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

// validRequestID accepts short visible ASCII only, so an id cannot forge log lines or bloat them.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// quietRoutes are polled by probes and scrapers (thousands of hits a day): their
// access lines are debug, so they do not drown the lines an operator reads.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// accessLog writes one line per request, naming the agent and function it
// concerned. It deliberately logs no headers, so the Authorization header and
// its token can never reach the logs.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.inFlight.Add(1)
		sw, w := capture(w)
		// Deferred so an aborted response (see recoverPanic) is still logged.
		defer func() {
			s.inFlight.Add(-1)
			info := infoFrom(r.Context())
			level := slog.LevelInfo
			if quietRoutes[info.route] {
				level = slog.LevelDebug
			}
			if !info.log.Enabled(r.Context(), level) {
				return
			}
			attrs := make([]slog.Attr, 0, 8)
			attrs = append(attrs, slog.String("method", r.Method), slog.String("route", info.route), slog.String("path", r.URL.Path))
			// An invocation learns its agent only once the runner has made it; the answer names it.
			if agent := cmp.Or(info.agent, sw.Header().Get(headerAgentID)); agent != "" {
				attrs = append(attrs, slog.String("agent", agent))
			}
			if info.function != "" {
				attrs = append(attrs, slog.String("function", info.function))
			}
			attrs = append(attrs,
				slog.Int("status", sw.code()),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)),
			)
			info.log.LogAttrs(r.Context(), level, "http request", attrs...)
		}()
		next.ServeHTTP(w, r)
	})
}

// InFlight is the number of requests being served now; shutdown logs what it drains.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// observe records the request count and latency per route pattern.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw, w := capture(w)
		defer func() { s.metrics.observeHTTP(infoFrom(r.Context()).route, sw.code(), time.Since(start)) }()
		next.ServeHTTP(w, r)
	})
}

// recoverPanic turns a handler panic into a logged 500 instead of a dropped connection.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, w := capture(w)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the handler asked net/http to abort the response
			}
			infoFrom(r.Context()).log.LogAttrs(r.Context(), slog.LevelError, "handler panic",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			if sw.status != 0 {
				// Too late for a status: abort the connection so the client sees a
				// broken response rather than a short one that looks complete.
				sw.status = http.StatusInternalServerError
				panic(http.ErrAbortHandler)
			}
			// Not writeError: the panic is already logged, with more than it could say.
			writeJSON(w, r, http.StatusInternalServerError, api.ErrorResponse{Error: api.Error{Code: api.CodeInternal, Message: "internal error"}})
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and body size for the observers.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// capture wraps w once, however many middlewares ask.
func capture(w http.ResponseWriter) (*statusWriter, http.ResponseWriter) {
	if sw, ok := w.(*statusWriter); ok {
		return sw, sw
	}
	sw := &statusWriter{ResponseWriter: w}
	return sw, sw
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK // net/http's default for a handler that wrote nothing
	}
	return w.status
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// FlushError lets http.ResponseController flush through the wrapper and see the error.
func (w *statusWriter) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush serves callers that assert http.Flusher directly.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// baseWriter returns the server's own writer beneath any wrappers.
func baseWriter(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
