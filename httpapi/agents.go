package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// List page sizes.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) {
	var in api.AgentRequest
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	req, err := agentRequestIn(in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a, err := s.svc.CreateAgent(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/agents/"+a.ID)
	writeJSON(w, r, http.StatusCreated, agentOut(a))
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	page, err := s.svc.ListAgents(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, agentPageOut(page))
}

// parseFilter validates the list query; unknown parameters are ignored. The state parameter may
// be repeated: an agent in any of the states matches.
func parseFilter(q url.Values) (runner.AgentFilter, error) {
	f := runner.AgentFilter{
		Function: q.Get(api.QueryFunction),
		Cursor:   q.Get(api.QueryCursor),
		Limit:    defaultListLimit,
	}
	for _, v := range q[api.QueryState] {
		st := runner.State(v)
		if !st.Valid() {
			return f, &runner.FieldError{Field: api.QueryState, Message: "must be one of " + stateNames()}
		}
		if !slices.Contains(f.States, st) {
			f.States = append(f.States, st)
		}
	}
	for _, kv := range q[api.QueryLabel] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return f, &runner.FieldError{Field: api.QueryLabel, Message: "must look like key=value"}
		}
		if old, dup := f.Labels[k]; dup && old != v {
			return f, &runner.FieldError{Field: api.QueryLabel, Message: "label " + strconv.Quote(k) + " is given twice with different values"}
		}
		if f.Labels == nil {
			f.Labels = make(map[string]string)
		}
		f.Labels[k] = v
	}
	if l := q.Get(api.QueryLimit); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxListLimit {
			return f, &runner.FieldError{Field: api.QueryLimit, Message: "must be an integer from 1 to " + strconv.Itoa(maxListLimit)}
		}
		f.Limit = n
	}
	return f, nil
}

func stateNames() string {
	names := make([]string, len(runner.States))
	for i, st := range runner.States {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	a, err := s.svc.Agent(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, agentOut(a))
}

// deleteAgent answers 202: the service marks the agent terminating and removes
// the container in the background, so the response never waits for Podman.
func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	a, err := s.svc.DeleteAgent(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusAccepted, agentOut(a))
}

func (s *Server) patchAgent(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	var req api.PatchAgentRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.TTL == "" {
		// The service reads "" as "use the default", which a PATCH never means.
		writeError(w, r, &runner.FieldError{Field: "ttl", Message: "is required"})
		return
	}
	a, err := s.svc.SetTTL(r.Context(), id, req.TTL)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, agentOut(a))
}

func (s *Server) agentEvents(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	events, err := s.svc.Events(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, eventListOut(events))
}

func (s *Server) agentStats(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	st, err := s.svc.Stats(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, statsOut(st))
}

// execGrace is how long past the longest exec a response may take to write.
const execGrace = 30 * time.Second

func (s *Server) agentExec(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	stream, err := streamQuery(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var in api.ExecRequest
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if stream {
		s.agentExecStream(w, r, id, in)
		return
	}
	// An exec may legitimately run for MaxExecTimeout, longer than the server's
	// WriteTimeout; extend (not lift) the deadline so a stuck exec still ends.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(runner.MaxExecTimeout + execGrace))
	res, err := s.svc.Exec(r.Context(), id, execRequestIn(in))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, execOut(res))
}

// pauseAgent freezes a running agent (200 with the agent, now paused); 409 unless it is running.
func (s *Server) pauseAgent(w http.ResponseWriter, r *http.Request) {
	s.freezeAgent(w, r, s.svc.PauseAgent)
}

// resumeAgent thaws a paused agent (200 with the agent, running again); 409 unless it is paused.
func (s *Server) resumeAgent(w http.ResponseWriter, r *http.Request) {
	s.freezeAgent(w, r, s.svc.ResumeAgent)
}

func (s *Server) freezeAgent(w http.ResponseWriter, r *http.Request, do func(context.Context, string) (runner.Agent, error)) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	a, err := do(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, agentOut(a))
}
