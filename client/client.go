// Package client is the Go client of podrun's HTTP API: one typed method per route, taking a
// context, speaking the wire types of package api. An answer with an error status comes back as
// an *Error carrying the API's code, message and field.
//
//	c, err := client.New("127.0.0.1:8080", os.Getenv("PODRUN_TOKEN"))
//	a, err := c.CreateAgent(ctx, api.AgentRequest{Image: "localhost/podrun/busybox:latest", Command: []string{"echo", "hi"}})
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Field == "limits.memory" { ... }
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/podrun/podrun/api"
)

// Client talks to one podrun server. It is safe for concurrent use; make one with New.
type Client struct {
	base      string // scheme://host[:port][/prefix], no trailing slash
	token     string
	hc        *http.Client
	userAgent string
}

// Option changes how New builds a Client.
type Option func(*Client)

// WithHTTPClient sends every request through hc. The default client has no overall timeout,
// because followed logs and invocations last as long as their process: bound calls with their
// context instead.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at addr: "host:port", or a URL "http://host:port" or
// "https://host/prefix"; "" means api.DefaultAddr. A non-empty token is sent as a bearer token.
func New(addr, token string, opts ...Option) (*Client, error) {
	base, err := baseURL(addr)
	if err != nil {
		return nil, err
	}
	// No transparent gzip: an invocation's headers become the function's environment, and
	// Accept-Encoding is not one the caller chose to send.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	c := &Client{base: base, token: token, hc: &http.Client{Transport: tr}, userAgent: "podrun-client"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// baseURL normalises an address to the URL every path is appended to.
func baseURL(addr string) (string, error) {
	if addr == "" {
		addr = api.DefaultAddr
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", fmt.Errorf("server address %q: %w", addr, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("server address %q: want host:port or an http(s) URL without query", addr)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// BaseURL is the URL the client appends the API's paths to.
func (c *Client) BaseURL() string { return c.base }

// newRequest builds a request to path (already escaped) with query parameters.
func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	return req, nil
}

// send does req; an answer with status 400 or more becomes an *Error and its body is closed.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// call sends in as JSON (when not nil) and decodes a 2xx answer into out (when not nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := c.newRequest(ctx, method, path, query, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", api.ContentTypeJSON)
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := decodeJSON(resp, out); err != nil {
			return resp, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	// Drain the rest so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp, nil
}

// decodeJSON reads a JSON answer into out.
func decodeJSON(resp *http.Response, out any) error {
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer (status %d): %w", resp.StatusCode, err)
	}
	return nil
}

// agentPath is the path of an agent, or of one of its sub-resources when sub is not "".
func agentPath(id, sub string) string {
	p := "/v1/agents/" + url.PathEscape(id)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

func functionPath(name, sub string) string {
	p := "/v1/functions/" + url.PathEscape(name)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// CloseIdleConnections closes the client's kept-alive connections that carry no request now.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }
