package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// ParseMetrics reads a Prometheus text exposition, such as Metrics returns,
// into a map from each sample's series, its name and labels as written
// (`podrun_pool_size{function="echo"}`), to its value. Comments and blank
// lines are skipped; a sample line without a number fails, naming the line.
func ParseMetrics(page []byte) (map[string]float64, error) {
	m := map[string]float64{}
	for n, line := range bytes.Split(page, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		i := bytes.LastIndexByte(line, ' ')
		if i <= 0 {
			return m, fmt.Errorf("metrics line %d: %q is not a sample", n+1, line)
		}
		v, err := strconv.ParseFloat(string(line[i+1:]), 64)
		if err != nil {
			return m, fmt.Errorf("metrics line %d: %q: %w", n+1, line, err)
		}
		m[string(line[:i])] = v
	}
	return m, nil
}

// GetRaw sends GET path (with query, if any) as every other method does, and
// copies a successful answer's body to w without decoding it: for tools that
// measure or relay the API, like the bench's load generator. An error status
// is an *Error.
func (c *Client) GetRaw(ctx context.Context, path string, query url.Values, w io.Writer) error {
	req, err := c.newRequest(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}
