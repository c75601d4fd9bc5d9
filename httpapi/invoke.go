package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// Headers podrun adds to invocation answers and results; package api documents them.
const (
	headerAgentID        = api.HeaderAgentID
	headerStart          = api.HeaderStart
	headerExitCode       = api.HeaderExitCode
	headerReason         = api.HeaderReason // runner.Outcome: succeeded, failed, expired, oom, ...
	headerTruncated      = api.HeaderTruncated
	headerCallbackStatus = api.HeaderCallbackStatus
	headerFunction       = api.HeaderFunction
)

// invokeV1 runs a function and answers with its output, or answers 202 at once
// when the client sends Prefer: respond-async.
func (s *Server) invokeV1(w http.ResponseWriter, r *http.Request) {
	s.invoke(w, r, "/", prefersAsync(r))
}

// invokeOpenFaaS is the OpenFaaS gateway's /function/:name route: any method, any path below the name.
func (s *Server) invokeOpenFaaS(w http.ResponseWriter, r *http.Request) {
	s.invoke(w, r, subPath(r), false)
}

// invokeOpenFaaSAsync is the OpenFaaS gateway's /async-function/:name route.
func (s *Server) invokeOpenFaaSAsync(w http.ResponseWriter, r *http.Request) {
	s.invoke(w, r, subPath(r), true)
}

// subPath is the part of an OpenFaaS route's path below the function's name.
func subPath(r *http.Request) string {
	if p := httprouter.ParamsFromContext(r.Context()).ByName("path"); p != "" {
		return p
	}
	return "/"
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request, path string, async bool) {
	name, ok := functionName(w, r)
	if !ok {
		return
	}
	// A declared length over the limit is refused before a container is spent on it.
	if r.ContentLength > s.maxInvokeBody {
		writeError(w, r, &http.MaxBytesError{Limit: s.maxInvokeBody})
		return
	}
	env, err := s.invocationEnv(r, path)
	if err != nil {
		writeError(w, r, err)
		return
	}
	inv := runner.Invocation{Function: name, Env: env}
	if async {
		s.invokeAsync(w, r, inv)
		return
	}
	s.invokeSync(w, r, inv)
}

// invokeSync streams the body to the process's stdin and its stdout back; see
// invokeWriter for when the status is decided. A chunked body that outgrows the
// limit fails its read, which ends the process's stdin early rather than the request.
func (s *Server) invokeSync(w http.ResponseWriter, r *http.Request, inv runner.Invocation) {
	rc := http.NewResponseController(w)
	// The answer lasts as long as the function runs, which WriteTimeout knows
	// nothing about; the function's timeout and the request context bound it instead.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		writeError(w, r, err)
		return
	}
	// stdin may still be streaming when stdout starts: without this, HTTP/1
	// would stop reading the body at the first flushed byte.
	if err := rc.EnableFullDuplex(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		writeError(w, r, err)
		return
	}
	out := newInvokeWriter(w, rc)
	// A nil writer, not w: on overflow MaxBytesReader would touch w's headers
	// from the goroutine feeding stdin, racing the one writing stdout.
	inv.Body = http.MaxBytesReader(nil, r.Body, s.maxInvokeBody)
	inv.Output, inv.Started, inv.OutputEnded = out, out.started, out.outputEnded
	res, err := s.svc.Invoke(r.Context(), inv)
	// Closing here, not after return, drains what the function left unread while
	// the handler still owns the connection: in full duplex mode net/http would
	// otherwise start its background read too late and panic (golang/go#68560).
	_ = r.Body.Close()
	if err := out.finish(r, res, err); err != nil {
		writeError(w, r, err)
	}
}

// invokeAsync accepts the invocation and answers 202 with the agent; the output
// is kept as the agent's result and, given X-Callback-Url, POSTed there.
func (s *Server) invokeAsync(w http.ResponseWriter, r *http.Request, inv runner.Invocation) {
	cb, err := callbackURL(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	inv.Async, inv.CallbackURL = true, cb
	// The service reads the body whole before answering, so the handler's own writer is safe here.
	inv.Body = http.MaxBytesReader(baseWriter(w), r.Body, s.maxInvokeBody)
	res, err := s.svc.Invoke(r.Context(), inv)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Location", "/v1/agents/"+res.Agent.ID)
	h.Set(headerAgentID, res.Agent.ID)
	if prefersAsync(r) {
		h.Set(api.HeaderPreferenceApplied, api.PreferAsync)
	}
	writeJSON(w, r, http.StatusAccepted, agentOut(res.Agent))
}

// agentResult returns what an asynchronous invocation wrote, with how it ended in headers.
func (s *Server) agentResult(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	res, err := s.svc.Result(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	setOutputHeaders(h)
	h.Set("Content-Length", strconv.Itoa(len(res.Output)))
	h.Set(headerExitCode, strconv.Itoa(res.ExitCode))
	h.Set(headerTruncated, strconv.FormatBool(res.Truncated))
	if res.CallbackStatus != "" {
		h.Set(headerCallbackStatus, res.CallbackStatus)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Output)
}

// setOutputHeaders marks a body as a function's raw output: untrusted bytes a browser must never sniff into HTML.
func setOutputHeaders(h http.Header) {
	h.Set("Content-Type", api.ContentTypeOutput)
	h.Set("X-Content-Type-Options", "nosniff")
}
