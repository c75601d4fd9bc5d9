package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/podrun/podrun/runner"
)

// DefaultCallbackTimeout bounds one callback delivery when NewCallbacks is given no timeout.
const DefaultCallbackTimeout = 10 * time.Second

// Callbacks POSTs asynchronous invocations' results to their callback URLs; make one with NewCallbacks.
type Callbacks struct {
	client *http.Client
}

var _ runner.Notifier = (*Callbacks)(nil)

// NewCallbacks returns a Notifier whose every attempt ends within timeout (0 means DefaultCallbackTimeout).
func NewCallbacks(timeout time.Duration) *Callbacks {
	return &Callbacks{client: &http.Client{
		Timeout: orDefault(timeout, DefaultCallbackTimeout),
		// A redirect would send the output somewhere the caller did not name; a 3xx is a failed delivery.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
	}}
}

// Notify makes one delivery attempt: any 2xx answer is a delivery, anything else an error.
// Retrying is the runner's job.
func (c *Callbacks) Notify(ctx context.Context, target string, a runner.Agent, r runner.Result) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("callback for agent %s: parse URL: %w", a.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(r.Output))
	if err != nil {
		return fmt.Errorf("callback for agent %s: %w", a.ID, err)
	}
	h := req.Header
	h.Set("Content-Type", "application/octet-stream")
	h.Set("User-Agent", "podrun")
	h.Set(headerAgentID, a.ID)
	h.Set(headerExitCode, strconv.Itoa(r.ExitCode))
	h.Set(headerFunction, a.Function)
	h.Set(headerTruncated, strconv.FormatBool(r.Truncated))
	resp, err := c.client.Do(req)
	if err != nil {
		// url.Error repeats the whole URL, query and all; callback URLs often carry secrets there.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("callback for agent %s to %s: %w", a.ID, u.Host, err)
	}
	defer resp.Body.Close()
	// Draining a little lets the connection be reused; a receiver's long answer is not worth reading.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback for agent %s to %s: status %s", a.ID, u.Host, resp.Status)
	}
	return nil
}
