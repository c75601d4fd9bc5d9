package client

import (
	"context"
	"io"
	"net/http"

	"github.com/podrun/podrun/api"
)

// Health says whether the server process answers HTTP (GET /healthz).
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	var h api.Health
	_, err := c.call(ctx, http.MethodGet, "/healthz", nil, nil, &h)
	return h, err
}

// Ready says whether the server can take work (GET /readyz): an unready server gives an *Error
// with status 503 and code api.CodeUnavailable whose message says why.
func (c *Client) Ready(ctx context.Context) (api.Health, error) {
	var h api.Health
	_, err := c.call(ctx, http.MethodGet, "/readyz", nil, nil, &h)
	return h, err
}

// Version asks which build of podrun the server runs (GET /v1/version). A server older than that
// route answers 404: an *Error with code api.CodeNotFound.
func (c *Client) Version(ctx context.Context) (api.Version, error) {
	var v api.Version
	_, err := c.call(ctx, http.MethodGet, "/v1/version", nil, nil, &v)
	return v, err
}

// Metrics returns the server's Prometheus text exposition (GET /metrics).
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
