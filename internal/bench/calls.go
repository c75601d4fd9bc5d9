package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

// newClient is a client of podrun at addr whose connections are kept alive,
// idle of them at most, so a measurement does not redial.
func newClient(addr, token string, idle int) (*client.Client, error) {
	tr := &http.Transport{MaxIdleConns: idle, MaxIdleConnsPerHost: idle, IdleConnTimeout: time.Minute, DisableCompression: true}
	return client.New(addr, token, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithUserAgent("podrun-bench"))
}

// deleteAgent sends DELETE and returns the time to its 202.
func (b *bench) deleteAgent(ctx context.Context, id string) (time.Duration, error) {
	start := time.Now()
	_, err := b.api.DeleteAgent(ctx, id)
	return time.Since(start), err
}

// expireNow moves a live agent's deadline to now, so the reaper kills it (SIGKILL, no stop
// grace); an agent already final (409) is fine.
func (b *bench) expireNow(ctx context.Context, id string) error {
	_, err := b.api.SetTTL(ctx, id, "1ms")
	if client.ErrorCode(err) == api.CodeConflict {
		return nil
	}
	return err
}

// list returns every agent matching opts, page by page.
func (b *bench) list(ctx context.Context, opts api.ListOptions) ([]api.Agent, error) {
	opts.Limit = 1000
	var all []api.Agent
	for a, err := range b.api.Agents(ctx, opts) {
		if err != nil {
			return all, err
		}
		all = append(all, a)
	}
	return all, nil
}

// metrics returns the /metrics page parsed into series (name and labels) → value.
func (b *bench) metrics(ctx context.Context) (map[string]float64, error) {
	page, err := b.api.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	return client.ParseMetrics(page)
}

// invocation is one synchronous invocation as the client saw it.
type invocation struct {
	took    time.Duration // request sent to the last byte of the answer, trailer included
	ended   time.Time
	agentID string
	start   string // X-Podrun-Start: cold or warm
}

// invoke posts body to a function, reads the whole answer and checks that it is body echoed with exit code 0.
func (b *bench) invoke(ctx context.Context, fn string, body []byte) (invocation, error) {
	begin := time.Now()
	res, err := b.api.Invoke(ctx, fn, bytes.NewReader(body), nil)
	if err != nil {
		return invocation{}, err
	}
	out, err := io.ReadAll(res.Body)
	res.Body.Close()
	inv := invocation{took: time.Since(begin), agentID: res.AgentID, start: res.Start}
	inv.ended = begin.Add(inv.took)
	if err != nil {
		return inv, fmt.Errorf("invoke %s: read answer: %w", fn, err)
	}
	code, cerr := res.ExitCode()
	if res.StatusCode != http.StatusOK || cerr != nil || code != 0 || !bytes.Equal(out, body) {
		return inv, fmt.Errorf("invoke %s: status %d, exit code %d (%v), %d bytes back of %d: %.200s",
			fn, res.StatusCode, code, cerr, len(out), len(body), out)
	}
	return inv, nil
}

// deleteFunction deletes a function; one already gone is fine.
func (b *bench) deleteFunction(ctx context.Context, name string) error {
	err := b.api.DeleteFunction(ctx, name)
	if client.ErrorCode(err) == api.CodeNotFound {
		return nil
	}
	return err
}
