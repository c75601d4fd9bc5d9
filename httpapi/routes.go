package httpapi

import (
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/podrun/podrun/api"
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
	// Unknown guarded paths still demand the token, so the route table is not probeable anonymously.
	r.NotFound = s.protectGuarded(http.HandlerFunc(notFound))
	r.MethodNotAllowed = s.protectGuarded(http.HandlerFunc(methodNotAllowed))

	for _, rt := range s.routeTable() {
		var next http.Handler = rt.handle
		if !isInvocation(rt.pattern) {
			// An invocation passes its query on raw; invocationEnv checks it.
			next = checkQueryText(next)
		}
		if isGuarded(rt.pattern) {
			next = s.requireToken(next)
		}
		r.Handler(rt.method, rt.pattern, withRoute(rt.pattern, next))
	}
	return r
}

// route is one entry of the route table: a method, an httprouter pattern and its handler.
type route struct {
	method, pattern string
	handle          http.HandlerFunc
}

// routeTable lists every route the server serves. It is the one list: the router is built from
// it, and a test checks it against openapi.json, path by path and method by method.
func (s *Server) routeTable() []route {
	rs := []route{
		{http.MethodPost, "/v1/agents", s.createAgent},
		{http.MethodGet, "/v1/agents", s.listAgents},
		{http.MethodGet, "/v1/agents/:id", s.getAgent},
		{http.MethodDelete, "/v1/agents/:id", s.deleteAgent},
		{http.MethodPatch, "/v1/agents/:id", s.patchAgent},
		{http.MethodGet, "/v1/agents/:id/logs", s.agentLogs},
		{http.MethodGet, "/v1/agents/:id/stats", s.agentStats},
		{http.MethodPost, "/v1/agents/:id/exec", s.agentExec},
		{http.MethodGet, "/v1/agents/:id/exec", s.agentExecWS},
		{http.MethodGet, "/v1/agents/:id/events", s.agentEvents},
		{http.MethodGet, "/v1/agents/:id/result", s.agentResult},
		{http.MethodPut, "/v1/functions/:name", s.putFunction},
		{http.MethodGet, "/v1/functions", s.listFunctions},
		{http.MethodGet, "/v1/functions/:name", s.getFunction},
		{http.MethodDelete, "/v1/functions/:name", s.deleteFunction},
		{http.MethodPost, "/v1/functions/:name/invoke", s.invokeV1},
		{http.MethodGet, "/v1/version", s.version},
	}
	// OpenFaaS gateway compatibility: the function sees every method and the path below its name.
	for _, m := range openFaaSMethods {
		rs = append(rs,
			route{m, "/function/:name", s.invokeOpenFaaS},
			route{m, "/function/:name/*path", s.invokeOpenFaaS},
			route{m, "/async-function/:name", s.invokeOpenFaaSAsync},
			route{m, "/async-function/:name/*path", s.invokeOpenFaaSAsync},
		)
	}
	return append(rs,
		route{http.MethodGet, "/healthz", s.healthz},
		route{http.MethodGet, "/readyz", s.readyz},
		route{http.MethodGet, "/metrics", s.serveMetrics},
		route{http.MethodGet, "/openapi.json", s.serveOpenAPI},
	)
}

// openFaaSMethods are the methods the /function routes accept: all a function could mean something by.
var openFaaSMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// isGuarded reports whether path needs the token: the API itself and the routes that run code.
func isGuarded(path string) bool {
	for _, prefix := range []string{"/v1", "/function", "/async-function"} {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}

// isInvocation reports whether pattern is a route that runs a function.
func isInvocation(pattern string) bool {
	return strings.HasSuffix(pattern, "/invoke") || strings.HasPrefix(pattern, "/function/") || strings.HasPrefix(pattern, "/async-function/")
}

// withRoute records the matched pattern, and the agent or function it names, for the access log and metrics.
func withRoute(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		info.route = pattern
		params := httprouter.ParamsFromContext(r.Context())
		if id := params.ByName("id"); runner.ValidID(id) {
			info.agent = id
		}
		if name := params.ByName("name"); runner.ValidFunctionName(name) {
			info.function = name
		}
		next.ServeHTTP(w, r)
	})
}

// agentID returns the :id parameter, or writes 404 when it cannot be an agent id,
// so malformed ids never reach the service.
func agentID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := httprouter.ParamsFromContext(r.Context()).ByName("id")
	if !runner.ValidID(id) {
		writeError(w, r, apiErr(http.StatusNotFound, api.CodeNotFound, "no agent with this id"))
		return "", false
	}
	return id, true
}

// functionName returns the :name parameter, or writes 400 when it is not a valid
// function name, so the service only ever sees names it could have stored.
func functionName(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := httprouter.ParamsFromContext(r.Context()).ByName("name")
	if !runner.ValidFunctionName(name) {
		writeError(w, r, &runner.FieldError{Field: "name", Message: "must match [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"})
		return "", false
	}
	return name, true
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, apiErr(http.StatusNotFound, api.CodeNotFound, "no such route"))
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	// httprouter has already set the Allow header.
	writeError(w, r, apiErr(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "method "+r.Method+" is not allowed here"))
}
