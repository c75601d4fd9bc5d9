package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// testPolicy is small enough that "over max" cases are easy to write.
var testPolicy = runner.Policy{
	Defaults:   runner.Limits{Memory: 256 << 20, CPUs: 1, PIDs: 256},
	Max:        runner.Limits{Memory: 1 << 30, CPUs: 2, PIDs: 512},
	DefaultTTL: 5 * time.Minute,
	MaxTTL:     time.Hour,
	Isolation:  runner.IsolationPolicy{Available: []string{runner.IsolationRunc, runner.IsolationGVisor}},
	Egress:     true,
}

// fakeService keeps agents in memory, validates with the real runner code and records calls.
type fakeService struct {
	mu      sync.Mutex
	agents  map[string]runner.Agent
	calls   map[string]int
	created int // agents that passed validation and were stored

	errs     map[string]error // injected per method name
	panicIn  string
	readyErr error
	counts   map[runner.State]int

	lastFilter    runner.AgentFilter
	lastTTL       string
	lastExec      runner.ExecRequest
	execsCanceled int // ExecStream calls that ended by their context
	lastLogs      runner.LogOptions
	logs          func(ctx context.Context, emit func(runner.LogLine) error) error
	fn            fakeFunctions             // functions and invocations, in fake_functions_test.go
	files         fakeFiles                 // files in agents, in fake_files_test.go
	secrets       fakeSecrets               // in fake_openfaas_test.go
	ev            fakeEvents                // the host-wide event log, in fake_events_test.go
	events        map[string][]runner.Event // more history per agent, after its pending event
}

func newFake() *fakeService {
	return &fakeService{agents: map[string]runner.Agent{}, calls: map[string]int{}, errs: map[string]error{}}
}

// enter records a call and returns the injected error, if any.
func (f *fakeService) enter(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if f.panicIn == method {
		panic("fake: boom in " + method)
	}
	return f.errs[method]
}

func (f *fakeService) called(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeService) createdCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created
}

func (f *fakeService) CreateAgent(ctx context.Context, req runner.AgentRequest) (runner.Agent, error) {
	if err := f.enter("CreateAgent"); err != nil {
		return runner.Agent{}, err
	}
	a, err := req.Validate(testPolicy)
	if err != nil {
		return runner.Agent{}, fmt.Errorf("create agent: %w", err)
	}
	now := time.Now()
	a.ID = runner.NewID(now)
	a.CreatedAt = now
	a.ExpiresAt = now.Add(a.ExpiresAt.Sub(time.Time{}))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.agents[a.ID] = a
	f.created++
	return a, nil
}

func (f *fakeService) get(id string) (runner.Agent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.agents[id]
	if !ok {
		return runner.Agent{}, fmt.Errorf("agent %s: %w", id, runner.ErrNotFound)
	}
	return a, nil
}

func (f *fakeService) Agent(ctx context.Context, id string) (runner.Agent, error) {
	if err := f.enter("Agent"); err != nil {
		return runner.Agent{}, err
	}
	return f.get(id)
}

func (f *fakeService) ListAgents(ctx context.Context, flt runner.AgentFilter) (runner.AgentPage, error) {
	if err := f.enter("ListAgents"); err != nil {
		return runner.AgentPage{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastFilter = flt
	var page runner.AgentPage
	for _, a := range f.agents {
		page.Agents = append(page.Agents, a)
	}
	return page, nil
}

func (f *fakeService) DeleteAgent(ctx context.Context, id string) (runner.Agent, error) {
	if err := f.enter("DeleteAgent"); err != nil {
		return runner.Agent{}, err
	}
	a, err := f.get(id)
	if err != nil {
		return a, err
	}
	a.State = runner.StateTerminating
	return a, nil
}

func (f *fakeService) SetTTL(ctx context.Context, id, ttl string) (runner.Agent, error) {
	if err := f.enter("SetTTL"); err != nil {
		return runner.Agent{}, err
	}
	f.mu.Lock()
	f.lastTTL = ttl
	f.mu.Unlock()
	d, err := runner.ParseTTL("ttl", ttl, testPolicy)
	if err != nil {
		return runner.Agent{}, err
	}
	a, err := f.get(id)
	a.ExpiresAt = time.Now().Add(d)
	return a, err
}

func (f *fakeService) Events(ctx context.Context, id string) ([]runner.Event, error) {
	if err := f.enter("Events"); err != nil {
		return nil, err
	}
	if _, err := f.get(id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]runner.Event{{ID: 1, AgentID: id, Type: runner.EventState, Name: string(runner.StatePending)}}, f.events[id]...), nil
}

// fakeLines is the output of every fake agent without its own logs func.
var fakeLines = []runner.LogLine{
	{Seq: 1, Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Stream: runner.Stdout, Text: "out"},
	{Seq: 2, Time: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC), Stream: runner.Stderr, Text: "err"},
}

func (f *fakeService) Logs(ctx context.Context, id string, opts runner.LogOptions, emit func(runner.LogLine) error) error {
	if err := f.enter("Logs"); err != nil {
		return err
	}
	f.mu.Lock()
	f.lastLogs = opts
	logs := f.logs
	f.mu.Unlock()
	if logs != nil {
		return logs(ctx, emit)
	}
	if _, err := f.get(id); err != nil {
		return err
	}
	for _, l := range fakeLines {
		if l.Stream&opts.Streams != 0 {
			if err := emit(l); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakeService) Stats(ctx context.Context, id string) (runner.Stats, error) {
	if err := f.enter("Stats"); err != nil {
		return runner.Stats{}, err
	}
	if _, err := f.get(id); err != nil {
		return runner.Stats{}, err
	}
	return runner.Stats{CPUPercent: 12.5, MemoryUsage: 1 << 20, PIDs: 3}, nil
}

func (f *fakeService) Exec(ctx context.Context, id string, req runner.ExecRequest) (runner.ExecResult, error) {
	if err := f.enter("Exec"); err != nil {
		return runner.ExecResult{}, err
	}
	f.mu.Lock()
	f.lastExec = req
	f.mu.Unlock()
	if _, err := req.Validate(); err != nil {
		return runner.ExecResult{}, err
	}
	if _, err := f.get(id); err != nil {
		return runner.ExecResult{}, err
	}
	return runner.ExecResult{ExitCode: 0, Stdout: strings.Join(req.Command, " ")}, nil
}

func (f *fakeService) Ready(ctx context.Context) error {
	if err := f.enter("Ready"); err != nil {
		return err
	}
	return f.readyErr
}

func (f *fakeService) CountByState(ctx context.Context) (map[runner.State]int, error) {
	if err := f.enter("CountByState"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts, nil
}

// add stores an agent directly and returns its id.
func (f *fakeService) add() string {
	now := time.Now()
	a := runner.Agent{ID: runner.NewID(now), Image: "busybox", State: runner.StateRunning, CreatedAt: now, Isolation: runner.IsolationRunc}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.agents[a.ID] = a
	return a.ID
}

// syncBuffer is a log sink that is safe to read while a live server writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	fake *fakeService
	srv  *Server
	h    http.Handler
	logs *syncBuffer
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	fake := newFake()
	srv := newServer(t, fake, opts)
	// Every exchange is validated against openapi.json when the test ends.
	return &harness{fake: fake, srv: srv, h: recordExchanges(t, srv, opts.Token), logs: logs}
}

// do sends one request through the full handler stack; headers come as name, value pairs.
func (h *harness) do(t testing.TB, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

// doRaw is do without the default Content-Type, for tests that set their own.
func (h *harness) doRaw(t testing.TB, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return h.do(t, method, target, body, append([]string{"Content-Type", ""}, headers...)...)
}

// apiErrorOf decodes an error response and checks its shape.
func apiErrorOf(t testing.TB, rec *httptest.ResponseRecorder) api.Error {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json; body %s", ct, rec.Body)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	var e api.Error
	dec := json.NewDecoder(bytes.NewReader(body["error"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || len(body) != 1 || e.Code == "" || e.Message == "" {
		t.Fatalf("error body %s is not {\"error\":{\"code\",\"message\",...}}: %v", rec.Body, err)
	}
	return e
}

// newServer is New with the configured body limits filled in where a test leaves them out.
func newServer(t testing.TB, svc Service, opts Options) *Server {
	t.Helper()
	if opts.MaxBody == 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.MaxInvokeBody == 0 {
		opts.MaxInvokeBody = 16 << 20
	}
	if opts.EventBuffer == 0 {
		opts.EventBuffer = 256
	}
	if opts.EventSlowAfter == 0 {
		opts.EventSlowAfter = 10 * time.Second
	}
	s, err := New(svc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fakeService) PauseAgent(ctx context.Context, id string) (runner.Agent, error) {
	return f.freeze("PauseAgent", id, runner.StateRunning, runner.StatePaused)
}

func (f *fakeService) ResumeAgent(ctx context.Context, id string) (runner.Agent, error) {
	return f.freeze("ResumeAgent", id, runner.StatePaused, runner.StateRunning)
}

// freeze moves a fake agent from one state to the other, as the runner's table allows, or answers ErrConflict.
func (f *fakeService) freeze(method, id string, from, to runner.State) (runner.Agent, error) {
	if err := f.enter(method); err != nil {
		return runner.Agent{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.agents[id]
	if !ok {
		return runner.Agent{}, fmt.Errorf("agent %s: %w", id, runner.ErrNotFound)
	}
	if a.State != from {
		return a, fmt.Errorf("%w: agent %s is %s, not %s", runner.ErrConflict, id, a.State, from)
	}
	a.State = to
	f.agents[id] = a
	return a, nil
}
