package httpapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/podrun/podrun/runner"
)

// Service is what the API needs from the runner.
type Service interface {
	CreateAgent(ctx context.Context, req runner.AgentRequest) (runner.Agent, error)
	Agent(ctx context.Context, id string) (runner.Agent, error)
	ListAgents(ctx context.Context, f runner.AgentFilter) (runner.AgentPage, error)
	DeleteAgent(ctx context.Context, id string) (runner.Agent, error)
	SetTTL(ctx context.Context, id, ttl string) (runner.Agent, error)
	Events(ctx context.Context, id string) ([]runner.Event, error)
	// ListEvents pages through every agent's events by durable id; see runner.Runner.ListEvents.
	ListEvents(ctx context.Context, f runner.EventFilter) (runner.EventPage, error)
	// WatchEvents signals after each write to any agent's history; see runner.Runner.WatchEvents.
	WatchEvents() (<-chan struct{}, func())
	// Usage sums up the agents created in a window, per group.
	Usage(ctx context.Context, q runner.UsageQuery) (runner.UsageSummary, error)
	// Node describes this instance, its host, capacity and what it holds now.
	Node(ctx context.Context) (runner.Node, error)
	// Logs passes an agent's output line by line, both streams in one order; see runner.Runner.Logs.
	Logs(ctx context.Context, id string, opts runner.LogOptions, emit func(runner.LogLine) error) error
	Stats(ctx context.Context, id string) (runner.Stats, error)
	Exec(ctx context.Context, id string, req runner.ExecRequest) (runner.ExecResult, error)
	// PauseAgent and ResumeAgent freeze and thaw a running agent; see runner.Runner.PauseAgent.
	PauseAgent(ctx context.Context, id string) (runner.Agent, error)
	ResumeAgent(ctx context.Context, id string) (runner.Agent, error)
	// ExecStream runs a command with its streams connected as it runs; see runner.Runner.ExecStream.
	ExecStream(ctx context.Context, id string, req runner.ExecStreamRequest, eio runner.ExecIO) (int, error)
	Ready(ctx context.Context) error
	CountByState(ctx context.Context) (map[runner.State]int, error)

	PutFunction(ctx context.Context, name string, req runner.FunctionRequest) (f runner.Function, created bool, err error)
	Function(ctx context.Context, name string) (runner.Function, error)
	Functions(ctx context.Context) ([]runner.Function, error)
	DeleteFunction(ctx context.Context, name string) error
	// Invoke runs a function; a synchronous call returns once the process has exited.
	Invoke(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error)
	// Result returns an asynchronous invocation's output; ErrConflict while it still runs.
	Result(ctx context.Context, agentID string) (runner.Result, error)

	// WriteFile, ReadFile and RemoveFile move files in and out of a running agent; see runner.Runner.
	WriteFile(ctx context.Context, id string, req runner.FileWriteRequest) (runner.FileEntry, error)
	ReadFile(ctx context.Context, id, path string, archive bool) (runner.FileRead, error)
	RemoveFile(ctx context.Context, id, path string) (runner.FileEntry, error)
	// ScaleFunction sets a function's warm pool size, capped at max_warm.
	ScaleFunction(ctx context.Context, name string, warm int) (runner.Function, error)
	// WarmReady reports how many warm containers of a function are ready.
	WarmReady(name string) int
	// Secrets, PutSecret and DeleteSecret manage the secrets functions may
	// name; see runner.SecretStore. Values are only ever written, never read.
	Secrets(ctx context.Context) ([]runner.Secret, error)
	PutSecret(ctx context.Context, name string, value []byte, replace bool) error
	DeleteSecret(ctx context.Context, name string) error
}

// Options configure a Server; the zero value is usable.
type Options struct {
	// Token, when set, is the bearer token every /v1, /system, /function and /async-function
	// request must carry; Basic auth with BasicAuthUser and the token as password is accepted too.
	Token string
	// BasicAuthUser is the Basic auth user name (configs: http.basic_auth_user); "" is "admin".
	BasicAuthUser string
	// PublicFunctions leaves the OpenFaaS gateway's invocation routes (/function/NAME and
	// /async-function/NAME) open without the token, as an OpenFaaS gateway leaves them
	// (configs: http.public_functions). Every other guarded route still needs the token.
	PublicFunctions bool
	// MaxBody caps request bodies in bytes (configs: http.max_body); it must be positive.
	MaxBody int64
	// MaxInvokeBody caps an invocation's body, the process's stdin, in bytes (configs:
	// invoke.max_body); it must be positive.
	MaxInvokeBody int64
	// Logger receives access and error logs; nil discards them.
	Logger *slog.Logger
	// Metrics records HTTP and runner metrics; nil gives the server a private set.
	Metrics *Metrics
	// Backup copies the database for GET /v1/backup; nil answers that route 404.
	Backup Backuper
	// EventBuffer is how many events may wait for one event stream's client
	// (configs: http.event_buffer); it must be positive.
	EventBuffer int
	// EventSlowAfter is how long an event stream's full buffer waits for its
	// client before the stream is cut off (configs: http.event_slow_client); it must be positive.
	EventSlowAfter time.Duration
}

// Server is the HTTP API over a Service.
type Server struct {
	svc           Service
	maxBody       int64
	maxInvokeBody int64
	log           *slog.Logger
	metrics       *Metrics
	backuper      Backuper
	publicFuncs   bool // Options.PublicFunctions
	// tokenSum is the SHA-256 of the token, so comparisons take the same time whatever its length.
	tokenSum     [sha256.Size]byte
	basicUserSum [sha256.Size]byte
	hasToken     bool
	router       *httprouter.Router
	handler      http.Handler
	inFlight     atomic.Int64 // requests being served; see InFlight
	execs        *execTracker // exec WebSockets, ended by EndExecs

	eventBuffer    int
	eventSlowAfter time.Duration
	stopping       chan struct{} // closed by StopStreams
	stopOnce       sync.Once
}

// New builds a Server and its routes. Its limits come from the configuration
// as given: a limit that is not positive is an error, not a default.
func New(svc Service, opts Options) (*Server, error) {
	if opts.MaxBody <= 0 || opts.MaxInvokeBody <= 0 {
		return nil, fmt.Errorf("httpapi: MaxBody (%d) and MaxInvokeBody (%d) must be positive", opts.MaxBody, opts.MaxInvokeBody)
	}
	s := &Server{
		execs:          newExecTracker(),
		svc:            svc,
		maxBody:        opts.MaxBody,
		maxInvokeBody:  opts.MaxInvokeBody,
		log:            opts.Logger,
		metrics:        opts.Metrics,
		backuper:       opts.Backup,
		publicFuncs:    opts.PublicFunctions,
		eventBuffer:    opts.EventBuffer,
		eventSlowAfter: opts.EventSlowAfter,
		stopping:       make(chan struct{}),
	}
	if s.eventBuffer <= 0 || s.eventSlowAfter <= 0 {
		return nil, fmt.Errorf("httpapi: EventBuffer (%d) and EventSlowAfter (%s) must be positive", opts.EventBuffer, opts.EventSlowAfter)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if opts.Token != "" {
		s.tokenSum, s.hasToken = sha256.Sum256([]byte(opts.Token)), true
	}
	if opts.BasicAuthUser == "" {
		opts.BasicAuthUser = "admin"
	}
	s.basicUserSum = sha256.Sum256([]byte(opts.BasicAuthUser))
	s.router = s.routes()
	// Outermost first: the request id must exist before anything logs, and
	// recover sits inside the observers so a panic is logged and counted as a 500.
	s.handler = chain(s.router, s.requestID, s.accessLog, s.observe, s.recoverPanic)
	return s, nil
}

// StopStreams ends every event stream with an "end" event saying podrun is
// stopping, so a graceful shutdown need not wait for them; later calls do nothing.
func (s *Server) StopStreams() { s.stopOnce.Do(func() { close(s.stopping) }) }

// Handler returns the API with all its middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// chain wraps h so that the first middleware is the outermost.
func chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Timeouts bound the phases of a connection. A zero ReadHeader takes 5s; a zero
// Read, Write or Idle means none, as the configuration documents.
type Timeouts struct {
	ReadHeader time.Duration // until the request headers are read
	Read       time.Duration // whole request, body included
	Write      time.Duration // from the end of the headers to the end of the response
	Idle       time.Duration // between keep-alive requests
}

// NewHTTPServer returns an http.Server for h with hardened timeouts; streaming handlers lift the write deadline themselves.
func NewHTTPServer(addr string, h http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: orDefault(t.ReadHeader, 5*time.Second),
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10, // the API has no use for large headers
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
