package client

import (
	"context"
	"net/http"

	"github.com/podrun/podrun/api"
)

// The calls below use the OpenFaaS provider routes (/system/...), which podrun serves over its own
// functions; see docs/openfaas.md.

// ScaleFunction sets how many warm containers a function keeps ready (POST
// /system/scale-function/{name}); the server caps it at invoke.max_warm.
func (c *Client) ScaleFunction(ctx context.Context, name string, warm uint64) error {
	_, err := c.call(ctx, http.MethodPost, "/system/scale-function/"+name, nil,
		api.ScaleServiceRequest{ServiceName: name, Replicas: warm}, nil)
	return err
}

// Secrets lists the secrets functions may name, without values (GET /system/secrets); never nil.
func (c *Client) Secrets(ctx context.Context) ([]api.Secret, error) {
	var out []api.Secret
	if _, err := c.call(ctx, http.MethodGet, "/system/secrets", nil, nil, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []api.Secret{}
	}
	return out, nil
}

// CreateSecret stores a new secret in the server's secret store (POST /system/secrets); an
// *Error with code conflict if the name is taken.
func (c *Client) CreateSecret(ctx context.Context, name string, value []byte) error {
	_, err := c.call(ctx, http.MethodPost, "/system/secrets", nil, api.Secret{Name: name, RawValue: value}, nil)
	return err
}

// UpdateSecret changes a secret's value (PUT /system/secrets); not_found if there is none.
func (c *Client) UpdateSecret(ctx context.Context, name string, value []byte) error {
	_, err := c.call(ctx, http.MethodPut, "/system/secrets", nil, api.Secret{Name: name, RawValue: value}, nil)
	return err
}

// DeleteSecret removes a secret (DELETE /system/secrets); conflict while a function names it.
func (c *Client) DeleteSecret(ctx context.Context, name string) error {
	_, err := c.call(ctx, http.MethodDelete, "/system/secrets", nil, api.Secret{Name: name}, nil)
	return err
}
