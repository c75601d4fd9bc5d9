package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// A function's log, as OpenFaaS shows it, is what its invocations wrote to
// stderr: stdout is each caller's answer. Lines come as api.FunctionLogMessage
// objects, one per line, each naming the invocation (instance: its agent id).

const (
	// logAgentPages bounds how many pages of a function's agents a log read looks through.
	logAgentPages = 10
	// logPollInterval is how often a followed log looks for new invocations.
	logPollInterval = 250 * time.Millisecond
	// shimExitPrefix opens the shim's own last line on stderr, which is no line of the function's.
	shimExitPrefix = "podrun-shim: exit status "
)

// logsQuery is what GET /system/logs was asked.
type logsQuery struct {
	name     string
	instance string
	since    time.Time
	tail     int // 0: all
	follow   bool
}

func parseLogsQuery(r *http.Request) (logsQuery, error) {
	v := r.URL.Query()
	if err := checkNamespace(v.Get("namespace")); err != nil {
		return logsQuery{}, err
	}
	name, ok := splitNamespace(v.Get("name"))
	if !ok {
		return logsQuery{}, apiErr(http.StatusNotFound, api.CodeNotFound, "no function "+v.Get("name"))
	}
	q := logsQuery{name: name, instance: v.Get("instance")}
	if !runner.ValidFunctionName(name) {
		return q, &runner.FieldError{Field: "name", Message: "must name a function"}
	}
	var err error
	if s := v.Get("since"); s != "" {
		if q.since, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return q, &runner.FieldError{Field: "since", Message: "must be an RFC 3339 time"}
		}
	}
	if s := v.Get("tail"); s != "" {
		if q.tail, err = strconv.Atoi(s); err != nil {
			return q, &runner.FieldError{Field: "tail", Message: "must be a whole number of lines"}
		}
		q.tail = max(q.tail, 0) // OpenFaaS's -1 means all
	}
	if s := v.Get("follow"); s != "" {
		if q.follow, err = strconv.ParseBool(s); err != nil {
			return q, &runner.FieldError{Field: "follow", Message: "must be true or false"}
		}
	}
	return q, nil
}

// systemLogs writes the function's log lines since the time asked, oldest
// first (the last tail of them), then with follow the lines of invocations
// as they run, until the client leaves.
func (s *Server) systemLogs(w http.ResponseWriter, r *http.Request) {
	q, err := parseLogsQuery(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ctx := r.Context()
	if _, err := s.svc.Function(ctx, q.name); err != nil {
		writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	if q.follow {
		if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
			writeError(w, r, err)
			return
		}
	}
	// The newest invocation so far, whatever the filters: a follow passes only later ones whole.
	latest, err := s.svc.ListAgents(ctx, runner.AgentFilter{Function: q.name, Limit: 1})
	if err != nil {
		writeError(w, r, err)
		return
	}
	newest := ""
	if len(latest.Agents) > 0 {
		newest = latest.Agents[0].ID
	}
	agents, err := s.functionAgents(ctx, q, "")
	if err != nil {
		writeError(w, r, err)
		return
	}
	lines, read, err := s.agentLogLines(ctx, q, agents)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if q.tail > 0 && len(lines) > q.tail {
		lines = lines[len(lines)-q.tail:]
	}
	out := &messageWriter{w: w, rc: rc, flush: q.follow}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	for _, m := range lines {
		out.write(m)
	}
	out.flushNow()
	if q.follow {
		s.followFunctionLogs(ctx, q, newest, agents, read, out)
	}
}

// functionAgents returns the function's invocations created at or after
// q.since (newest first), down to the agent after the one with id stop.
func (s *Server) functionAgents(ctx context.Context, q logsQuery, stop string) ([]runner.Agent, error) {
	var out []runner.Agent
	filter := runner.AgentFilter{Function: q.name, Limit: 100}
	for range logAgentPages {
		page, err := s.svc.ListAgents(ctx, filter)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Agents {
			if a.ID == stop || (!q.since.IsZero() && a.CreatedAt.Before(q.since.Add(-time.Second)) && !a.State.Live()) {
				return out, nil
			}
			if q.instance == "" || q.instance == a.ID {
				out = append(out, a)
			}
		}
		if page.Next == "" {
			break
		}
		filter.Cursor = page.Next
	}
	return out, nil
}

// agentLogLines reads the stderr lines of agents (newest first), oldest
// first; read counts the lines read of each agent, shown or not.
func (s *Server) agentLogLines(ctx context.Context, q logsQuery, agents []runner.Agent) (lines []api.FunctionLogMessage, read map[string]int, err error) {
	read = map[string]int{}
	for _, a := range slices.Backward(agents) {
		err := s.svc.Logs(ctx, a.ID, runner.LogOptions{Streams: runner.Stderr}, func(l runner.LogLine) error {
			read[a.ID]++
			if m, ok := logMessage(q, a.ID, l); ok {
				lines = append(lines, m)
			}
			return nil
		})
		if err != nil && !errors.Is(err, runner.ErrNotFound) { // pruned meanwhile
			return nil, nil, err
		}
	}
	return lines, read, nil
}

// logMessage is l as OpenFaaS shows it; false for the shim's exit line and lines before q.since.
func logMessage(q logsQuery, agentID string, l runner.LogLine) (api.FunctionLogMessage, bool) {
	if strings.HasPrefix(l.Text, shimExitPrefix) || (!q.since.IsZero() && !l.Time.IsZero() && l.Time.Before(q.since.Truncate(time.Second))) {
		return api.FunctionLogMessage{}, false
	}
	return api.FunctionLogMessage{Name: q.name, Namespace: api.OpenFaaSNamespace, Instance: agentID, Timestamp: l.Time.UTC(), Text: l.Text}, true
}

// followFunctionLogs passes the lines of the live agents in seen, and of
// every invocation started later, as they are written, until ctx ends.
// newest is the function's newest invocation when the read began.
func (s *Server) followFunctionLogs(ctx context.Context, q logsQuery, newest string, seen []runner.Agent, read map[string]int, out *messageWriter) {
	var wg sync.WaitGroup
	defer wg.Wait()
	follow := func(a runner.Agent, skip int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			_ = s.svc.Logs(ctx, a.ID, runner.LogOptions{Streams: runner.Stderr, Follow: true}, func(l runner.LogLine) error {
				if n++; n <= skip {
					return nil // already written
				}
				if m, ok := logMessage(q, a.ID, l); ok {
					out.write(m)
				}
				return nil
			})
		}()
	}
	for _, a := range seen {
		if a.State.Live() {
			follow(a, read[a.ID])
		}
	}
	tick := time.NewTicker(logPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		fresh, err := s.functionAgents(ctx, logsQuery{name: q.name, instance: q.instance}, newest)
		if err != nil || len(fresh) == 0 {
			continue
		}
		newest = fresh[0].ID
		for _, a := range slices.Backward(fresh) {
			follow(a, 0)
		}
	}
}

// messageWriter writes log messages one JSON object per line, from several goroutines.
type messageWriter struct {
	mu    sync.Mutex
	w     http.ResponseWriter
	rc    *http.ResponseController
	flush bool
}

func (mw *messageWriter) write(m api.FunctionLogMessage) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	mw.mu.Lock()
	defer mw.mu.Unlock()
	_, _ = mw.w.Write(append(b, '\n'))
	if mw.flush {
		_ = mw.rc.Flush()
	}
}

func (mw *messageWriter) flushNow() {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	_ = mw.rc.Flush()
}
