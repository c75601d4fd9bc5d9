package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// Webhooks POSTs agents' lifecycle events, signed; make one with NewWebhooks.
// The runner's deliverer retries and records; this makes one attempt.
type Webhooks struct {
	client *http.Client
	secret []byte
	now    func() time.Time
}

var _ runner.WebhookSender = (*Webhooks)(nil)

// NewWebhooks returns a sender whose every attempt ends within timeout (0
// means DefaultCallbackTimeout), signing with secret (none if empty). Unless
// allowPrivate, it refuses to connect to a loopback or private address,
// whatever name resolved to it: a URL naming a public host that resolves to
// 127.0.0.1 fails at the dial.
func NewWebhooks(timeout time.Duration, secret string, allowPrivate bool) *Webhooks {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would hide the address actually dialled
	if !allowPrivate {
		dialer := &net.Dialer{Timeout: 10 * time.Second, Control: refusePrivate}
		tr.DialContext = dialer.DialContext
	}
	return &Webhooks{
		client: &http.Client{
			Timeout:       orDefault(timeout, DefaultCallbackTimeout),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport:     tr,
		},
		secret: []byte(secret),
		now:    time.Now,
	}
}

// errPrivateAddress is the dial error for a webhook that resolved to a loopback or private address.
var errPrivateAddress = errors.New("refusing to send a webhook to a loopback or private address (webhooks.allow_private is off)")

func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook dial %s: %w", address, err)
	}
	if !runner.PublicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", errPrivateAddress, ap.Addr())
	}
	return nil
}

// WebhookBody is the JSON body of event e, the same bytes at every attempt.
func WebhookBody(e runner.WebhookEvent) ([]byte, error) {
	return json.Marshal(api.WebhookEvent{
		ID: e.ID, Type: e.Type, AgentID: e.AgentID, State: api.State(e.State), Reason: e.Reason,
		Message: e.Message, ExitCode: e.ExitCode, Time: api.Time(e.Time), ExpiresAt: api.TimeOf(e.ExpiresAt),
	})
}

// Sign returns the X-Podrun-Signature value of body at time t under secret:
// "t=<unix seconds>,v1=<hex of HMAC-SHA256(secret, "<unix seconds>.<body>")>".
// The timestamp is inside the MAC, so a receiver that rejects old ones
// (more than five minutes, say) defeats the replay of a captured request.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// SendWebhook makes one delivery attempt: any 2xx answer is a delivery, anything else an error.
func (w *Webhooks) SendWebhook(ctx context.Context, e runner.WebhookEvent) error {
	body, err := WebhookBody(e)
	if err != nil {
		return fmt.Errorf("webhook %d of agent %s: %w", e.ID, e.AgentID, err)
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		return fmt.Errorf("webhook %d of agent %s: parse URL: %w", e.ID, e.AgentID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %d of agent %s: %w", e.ID, e.AgentID, err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "podrun")
	h.Set(api.HeaderEventID, strconv.FormatInt(e.ID, 10))
	h.Set(headerAgentID, e.AgentID)
	if len(w.secret) > 0 {
		h.Set(api.HeaderSignature, Sign(w.secret, body, w.now()))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error // it repeats the whole URL, whose query may hold a secret
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook %d of agent %s to %s: %w", e.ID, e.AgentID, u.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %d of agent %s to %s: status %s", e.ID, e.AgentID, u.Host, resp.Status)
	}
	return nil
}
