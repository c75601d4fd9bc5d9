package runner

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Webhook event types (WebhookEvent.Type).
const (
	// WebhookState reports a state change: the agent's new state, reason and exit code.
	WebhookState = "state"
	// WebhookExpiring warns, warn_before ahead, that the agent's hard deadline is near.
	WebhookExpiring = "expiring"
)

// WebhookEvent is one lifecycle event of an agent, queued durably (in the
// transaction of the change it reports) and posted to the agent's webhook
// URL at least once. ID is unique and grows: receivers dedupe by it.
type WebhookEvent struct {
	ID        int64
	AgentID   string
	URL       string
	Type      string // WebhookState or WebhookExpiring
	State     State  // the agent's state when it happened
	Reason    string
	Message   string
	ExitCode  *int
	Time      time.Time // when it happened
	ExpiresAt time.Time // the agent's hard deadline then
	// Delivery: CallbackPending, CallbackDelivered or CallbackFailed, and the attempts made.
	Status   string
	Attempts int
}

// WebhookSender makes one attempt to deliver a webhook event: it signs and
// POSTs it. An error means try again later; retrying is the runner's job.
type WebhookSender interface {
	SendWebhook(ctx context.Context, e WebhookEvent) error
}

// ValidateWebhookURL checks a webhook URL given in field: absolute http or
// https, with a host, and, unless allowPrivate, not a loopback, private,
// link-local or unspecified address or a localhost name. A name that
// resolves to such an address is refused at delivery by the sender.
func ValidateWebhookURL(field, raw string, allowPrivate bool) error {
	if err := validText(field, raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return invalid(field, "must be an absolute http or https URL")
	}
	if u.User != nil {
		return invalid(field, "must not carry a user or password")
	}
	if allowPrivate {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return invalid(field, "must not point at a loopback or private address (%s); set webhooks.allow_private to allow it", host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !PublicAddr(ip) {
		return invalid(field, "must not point at a loopback or private address (%s); set webhooks.allow_private to allow it", ip)
	}
	return nil
}

// PublicAddr reports whether ip is an address a webhook may be sent to: not
// loopback, private (RFC 1918, fc00::/7), link-local, unspecified, multicast
// or CGNAT (100.64.0.0/10).
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsLoopback(), ip.IsPrivate(), ip.IsUnspecified(), ip.IsLinkLocalUnicast(),
		ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsMulticast():
		return false
	case cgnat.Contains(ip):
		return false
	}
	return true
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")
