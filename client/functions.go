package client

import (
	"context"
	"net/http"

	"github.com/podrun/podrun/api"
)

// PutFunction creates or replaces a function (PUT /v1/functions/{name}); created says which.
func (c *Client) PutFunction(ctx context.Context, name string, req api.FunctionRequest) (f api.Function, created bool, err error) {
	resp, err := c.call(ctx, http.MethodPut, functionPath(name, ""), nil, req, &f)
	if err != nil {
		return api.Function{}, false, err
	}
	return f, resp.StatusCode == http.StatusCreated, nil
}

// Function returns one function (GET /v1/functions/{name}).
func (c *Client) Function(ctx context.Context, name string) (api.Function, error) {
	var f api.Function
	_, err := c.call(ctx, http.MethodGet, functionPath(name, ""), nil, nil, &f)
	return f, err
}

// Functions returns every function, by name (GET /v1/functions); never nil.
func (c *Client) Functions(ctx context.Context) ([]api.Function, error) {
	var l api.FunctionList
	if _, err := c.call(ctx, http.MethodGet, "/v1/functions", nil, nil, &l); err != nil {
		return nil, err
	}
	if l.Functions == nil {
		l.Functions = []api.Function{}
	}
	return l.Functions, nil
}

// DeleteFunction removes a function and drains its warm pool (DELETE /v1/functions/{name}).
func (c *Client) DeleteFunction(ctx context.Context, name string) error {
	_, err := c.call(ctx, http.MethodDelete, functionPath(name, ""), nil, nil, nil)
	return err
}
