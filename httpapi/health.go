package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"

	"github.com/VictoriaMetrics/metrics"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/internal/buildinfo"
)

// healthz says only that the process serves HTTP; dependencies belong to readyz,
// so a Podman hiccup makes the instance unready rather than restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, api.Health{Status: "ok"})
}

// readyz reports whether the runner can take work.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Ready(r.Context()); err != nil {
		writeJSON(w, r, http.StatusServiceUnavailable, api.ErrorResponse{Error: api.Error{Code: api.CodeUnavailable, Message: err.Error()}})
		return
	}
	h := api.Health{Status: "ok"}
	if rt, ok := s.svc.(runtimesReporter); ok {
		h.Runtimes = rt.Runtimes()
	}
	writeJSON(w, r, http.StatusOK, h)
}

// runtimesReporter is the part of the service that says which runtime runs
// each isolation (runner.Runner.Runtimes); a service without it shows none.
type runtimesReporter interface {
	Runtimes() map[string]string
}

// version names the build of podrun serving the API.
func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, buildinfo.Get())
}

// serveMetrics writes the Prometheus text format, every family with its # TYPE
// and # HELP (see families). A failing store drops only the podrun_agents
// gauges (an absent series is more honest than zeros), not the scrape.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	s.metrics.set.WritePrometheus(&buf)
	counts, err := s.svc.CountByState(r.Context())
	if err != nil {
		infoFrom(r.Context()).log.LogAttrs(r.Context(), slog.LevelWarn, "count agents for metrics", slog.Any("err", err))
	} else {
		writeAgents(&buf, counts)
	}
	metrics.WriteProcessMetrics(&buf)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = writeWithMetadata(w, buf.Bytes()) // an error is the client's connection failing
}
