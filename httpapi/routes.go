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
		if isGuarded(rt.pattern) && !(s.publicFuncs && isGatewayInvocation(rt.pattern)) {
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
		{http.MethodPost, "/v1/agents/:id/pause", s.pauseAgent},
		{http.MethodPost, "/v1/agents/:id/resume", s.resumeAgent},
		{http.MethodGet, "/v1/agents/:id/exec", s.agentExecWS},
		{http.MethodGet, "/v1/agents/:id/events", s.agentEvents},
		{http.MethodGet, "/v1/agents/:id/result", s.agentResult},
		{http.MethodPut, "/v1/agents/:id/files", s.putFile},
		{http.MethodPost, "/v1/agents/:id/files", s.postFiles},
		{http.MethodGet, "/v1/agents/:id/files", s.getFile},
		{http.MethodDelete, "/v1/agents/:id/files", s.deleteFile},
		{http.MethodPut, "/v1/functions/:name", s.putFunction},
		{http.MethodGet, "/v1/functions", s.listFunctions},
		{http.MethodGet, "/v1/functions/:name", s.getFunction},
		{http.MethodDelete, "/v1/functions/:name", s.deleteFunction},
		{http.MethodPost, "/v1/functions/:name/invoke", s.invokeV1},
		{http.MethodGet, "/v1/version", s.version},
		{http.MethodGet, "/v1/backup", s.backup},
		{http.MethodGet, "/v1/events", s.listEvents},
		{http.MethodGet, "/v1/usage", s.usage},
		{http.MethodGet, "/v1/node", s.node},
	}
	// OpenFaaS gateway compatibility: the function sees every method and the path below its name.
	for _, m := range openFaaSMethods {
		rs = append(rs,
			route{m, "/function/:name", withGatewayHeaders(s.invokeOpenFaaS)},
			route{m, "/function/:name/*path", withGatewayHeaders(s.invokeOpenFaaS)},
			route{m, "/async-function/:name", withGatewayHeaders(s.invokeOpenFaaSAsync)},
			route{m, "/async-function/:name/*path", withGatewayHeaders(s.invokeOpenFaaSAsync)},
		)
	}
	rs = append(rs, s.openFaaSRoutes()...)
	return append(rs,
		route{http.MethodGet, "/healthz", s.healthz},
		route{http.MethodHead, "/healthz", s.healthz}, // the OpenFaaS gateway's probes use HEAD
		route{http.MethodGet, "/readyz", s.readyz},
		route{http.MethodGet, "/metrics", s.serveMetrics},
		route{http.MethodGet, "/openapi.json", s.serveOpenAPI},
		route{http.MethodGet, "/ui", s.serveUI},
		route{http.MethodGet, "/ui/*file", s.serveUI},
	)
}

// openFaaSMethods are the methods the /function routes accept: all a function could mean something by.
var openFaaSMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// isGuarded reports whether path needs the token: the API itself and the routes that run code.
func isGuarded(path string) bool {
	for _, prefix := range []string{"/v1", "/system", "/function", "/async-function"} {
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

// isGatewayInvocation reports whether pattern is one of the OpenFaaS gateway's invocation
// routes, which Options.PublicFunctions leaves open.
func isGatewayInvocation(pattern string) bool {
	return strings.HasPrefix(pattern, "/function/") || strings.HasPrefix(pattern, "/async-function/")
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
		if name, _ := splitNamespace(params.ByName("name")); runner.ValidFunctionName(name) {
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
// function name, so the service only ever sees names it could have stored. As
// with OpenFaaS, the name may carry its namespace ("echo.openfaas-fn"); any
// namespace but that one is 404.
func functionName(w http.ResponseWriter, r *http.Request) (string, bool) {
	raw := httprouter.ParamsFromContext(r.Context()).ByName("name")
	name, ok := splitNamespace(raw)
	if !ok {
		_, ns, _ := strings.Cut(raw, ".")
		writeError(w, r, checkNamespace(ns))
		return "", false
	}
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
