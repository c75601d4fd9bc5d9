package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Backup writes a consistent copy of the server's live database to w (GET /v1/backup) and
// returns the bytes written. A copy shorter than the server announced is an error.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/backup", nil, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.send(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET /v1/backup: %w", err)
	}
	if want, perr := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); perr == nil && n != want {
		return n, fmt.Errorf("GET /v1/backup: got %d bytes of %d", n, want)
	}
	return n, nil
}
