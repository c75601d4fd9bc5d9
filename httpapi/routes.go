package httpapi

import (
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/podrun/podrun/runner"
)

// unmatchedRoute labels requests no route matched, keeping metric cardinality bounded.
const unmatchedRoute = "unmatched"

func (s *Server) routes() *httprouter.Router {
	r := httprouter.New()
	// An API has exact paths: redirects would turn a mistyped POST into a 307
	// the client may not follow, and case-folding paths makes no sense for ids.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleOPTIONS = false
	r.HandleMethodNotAllowed = true
	// Unknown /v1 paths still demand the token, so the route table is not probeable anonymously.
	r.NotFound = s.protectV1(http.HandlerFunc(notFound))
	r.MethodNotAllowed = s.protectV1(http.HandlerFunc(methodNotAllowed))

	add := func(method, pattern string, h http.HandlerFunc) {
		var next http.Handler = h
		if isV1(pattern) {
			next = s.requireToken(next)
		}
		r.Handler(method, pattern, withRoute(pattern, next))
	}
	add(http.MethodPost, "/v1/agents", s.createAgent)
	add(http.MethodGet, "/v1/agents", s.listAgents)
	add(http.MethodGet, "/v1/agents/:id", s.getAgent)
	add(http.MethodDelete, "/v1/agents/:id", s.deleteAgent)
	add(http.MethodPatch, "/v1/agents/:id", s.patchAgent)
	add(http.MethodGet, "/v1/agents/:id/logs", s.agentLogs)
	add(http.MethodGet, "/v1/agents/:id/stats", s.agentStats)
	add(http.MethodPost, "/v1/agents/:id/exec", s.agentExec)
	add(http.MethodGet, "/v1/agents/:id/events", s.agentEvents)
	add(http.MethodGet, "/healthz", s.healthz)
	add(http.MethodGet, "/readyz", s.readyz)
	add(http.MethodGet, "/metrics", s.serveMetrics)
	return r
}

func isV1(path string) bool { return path == "/v1" || strings.HasPrefix(path, "/v1/") }

// withRoute records the matched pattern for the access log and metrics.
func withRoute(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = pattern
		next.ServeHTTP(w, r)
	})
}

// agentID returns the :id parameter, or writes 404 when it cannot be an agent id,
// so malformed ids never reach the service.
func agentID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := httprouter.ParamsFromContext(r.Context()).ByName("id")
	if !runner.ValidID(id) {
		writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no agent with this id"))
		return "", false
	}
	return id, true
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no such route"))
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	// httprouter has already set the Allow header.
	writeError(w, r, apiErr(http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" is not allowed here"))
}
