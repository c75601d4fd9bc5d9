package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/podrun/podrun/api"
)

// InvokeOptions shape an invocation's request; the zero value sends the body as
// application/octet-stream with no extra headers.
type InvokeOptions struct {
	// ContentType of the body; "" means application/octet-stream.
	ContentType string
	// Header holds more request headers; the function sees each as an Http_<Name> variable.
	Header http.Header
	// Query is the request's query string; the function sees it as Http_Query.
	Query url.Values
	// CallbackURL is where the server POSTs an asynchronous invocation's result; InvokeAsync only.
	CallbackURL string
	// Method and Path, when either is set, send the invocation through the OpenFaaS gateway
	// routes, /function/{name}{Path} (InvokeAsync: /async-function/{name}{Path}), with Method
	// (default POST): the function sees them as Http_Method and Http_Path. Left empty, the
	// invocation is POST /v1/functions/{name}/invoke.
	Method, Path string
}

// ErrNoExitCode means a streamed invocation's answer ended without its exit-code trailer: the
// invocation failed after its output began (the server's log says why), or the connection broke.
var ErrNoExitCode = errors.New("the invocation's answer ended without an exit code")

// errBodyNotRead is ExitCode's answer before a streamed body has been read to its end.
var errBodyNotRead = errors.New("the exit code of a streamed answer comes after its body: read Body to EOF first")

// Invocation is a synchronous invocation's answer: the process's stdout as Body, streaming as the
// process writes it, and its exit code.
type Invocation struct {
	// StatusCode is 200 when the process exited 0, 500 for any other end, 504 when it was killed
	// at its timeout; a long or slow answer is committed to 200 before the end is known (the exit
	// code then says how it ended).
	StatusCode int
	// AgentID names the agent the invocation ran as (X-Podrun-Agent-Id).
	AgentID string
	// Start says how its container was prepared, api.StartCold or api.StartWarm.
	Start string
	// Header is the answer's header.
	Header http.Header
	// Body is the process's stdout; the caller must close it.
	Body io.ReadCloser

	resp *http.Response
	eof  *eofReader
}

// ExitCode returns the process's exit status: from the header when the server held the answer
// until the process ended, otherwise from the trailer, which is there once Body has been read to
// EOF. A streamed answer that ended without one gives ErrNoExitCode.
func (inv *Invocation) ExitCode() (int, error) {
	if v := inv.Header.Get(api.HeaderExitCode); v != "" {
		return parseExitCode(v)
	}
	if !inv.eof.done() {
		return 0, errBodyNotRead
	}
	if v := inv.resp.Trailer.Get(api.HeaderExitCode); v != "" {
		return parseExitCode(v)
	}
	return 0, ErrNoExitCode
}

// Trailer is the answer's trailer: the exit code and the reason of an answer
// that streamed its output. It is complete once Body has been read to EOF.
func (inv *Invocation) Trailer() http.Header { return inv.resp.Trailer }

// Reason returns how the invocation ended, one of the api.Outcome constants, from the header or,
// for a streamed answer read to EOF, the trailer, as ExitCode does.
func (inv *Invocation) Reason() (string, error) {
	if v := inv.Header.Get(api.HeaderReason); v != "" {
		return v, nil
	}
	if !inv.eof.done() {
		return "", errBodyNotRead
	}
	if v := inv.resp.Trailer.Get(api.HeaderReason); v != "" {
		return v, nil
	}
	return "", ErrNoExitCode
}

func parseExitCode(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("exit code %q: %w", v, err)
	}
	return n, nil
}

// Invoke runs a function synchronously (POST /v1/functions/{name}/invoke), streaming body (nil
// for none) to the process's stdin while its stdout comes back. It returns as soon as the answer
// begins; an error status before any output (unknown function, 429 busy, 504 with no output, ...)
// is an *Error.
func (c *Client) Invoke(ctx context.Context, name string, body io.Reader, opts *InvokeOptions) (*Invocation, error) {
	req, err := c.invokeRequest(ctx, name, body, opts, false)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	// The function's own output may come with 500 or 504; only podrun's JSON is an error.
	if resp.StatusCode >= 400 && isJSON(resp.Header.Get("Content-Type")) {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	eof := &eofReader{r: resp.Body}
	return &Invocation{
		StatusCode: resp.StatusCode, AgentID: resp.Header.Get(api.HeaderAgentID), Start: resp.Header.Get(api.HeaderStart),
		Header: resp.Header, Body: struct {
			io.Reader
			io.Closer
		}{eof, resp.Body}, resp: resp, eof: eof,
	}, nil
}

// InvokeAsync queues an invocation and returns its agent at once (202): its output is kept as
// the agent's Result and, with opts.CallbackURL, POSTed there.
func (c *Client) InvokeAsync(ctx context.Context, name string, body io.Reader, opts *InvokeOptions) (api.Agent, error) {
	req, err := c.invokeRequest(ctx, name, body, opts, true)
	if err != nil {
		return api.Agent{}, err
	}
	if opts == nil || (opts.Method == "" && opts.Path == "") {
		req.Header.Set(api.HeaderPrefer, api.PreferAsync)
	}
	if opts != nil && opts.CallbackURL != "" {
		req.Header.Set(api.HeaderCallbackURL, opts.CallbackURL)
	}
	resp, err := c.send(req)
	if err != nil {
		return api.Agent{}, err
	}
	defer resp.Body.Close()
	var a api.Agent
	if err := decodeJSON(resp, &a); err != nil {
		return api.Agent{}, fmt.Errorf("invoke %s: %w", name, err)
	}
	return a, nil
}

func (c *Client) invokeRequest(ctx context.Context, name string, body io.Reader, opts *InvokeOptions, async bool) (*http.Request, error) {
	if opts == nil {
		opts = &InvokeOptions{}
	}
	if body == nil {
		body = http.NoBody
	}
	method, path := http.MethodPost, functionPath(name, "invoke")
	if opts.Method != "" || opts.Path != "" {
		method = cmp.Or(opts.Method, http.MethodPost)
		prefix := "/function/"
		if async {
			prefix = "/async-function/"
		}
		path = prefix + url.PathEscape(name)
		if opts.Path != "" && opts.Path != "/" {
			path += "/" + strings.TrimPrefix((&url.URL{Path: opts.Path}).EscapedPath(), "/")
		}
	}
	req, err := c.newRequest(ctx, method, path, opts.Query, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	ct := opts.ContentType
	if ct == "" {
		ct = api.ContentTypeOutput
	}
	req.Header.Set("Content-Type", ct)
	return req, nil
}

// Result returns what an asynchronous invocation wrote and how it ended
// (GET /v1/agents/{id}/result); while it still runs the server answers 409 (api.CodeConflict).
func (c *Client) Result(ctx context.Context, agentID string) (api.Result, error) {
	req, err := c.newRequest(ctx, http.MethodGet, agentPath(agentID, "result"), nil, nil)
	if err != nil {
		return api.Result{}, err
	}
	resp, err := c.send(req)
	if err != nil {
		return api.Result{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return api.Result{}, fmt.Errorf("result of %s: read output: %w", agentID, err)
	}
	code, err := parseExitCode(resp.Header.Get(api.HeaderExitCode))
	if err != nil {
		return api.Result{}, fmt.Errorf("result of %s: %w", agentID, err)
	}
	return api.Result{
		Output: out, ExitCode: code, Truncated: resp.Header.Get(api.HeaderTruncated) == "true",
		CallbackStatus: resp.Header.Get(api.HeaderCallbackStatus),
	}, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == api.ContentTypeJSON || strings.HasSuffix(mt, "+json"))
}

// eofReader remembers that its reader reached EOF, after which the trailer is complete.
type eofReader struct {
	r   io.Reader
	mu  sync.Mutex
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.mu.Lock()
		e.eof = true
		e.mu.Unlock()
	}
	return n, err
}

func (e *eofReader) done() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.eof
}
