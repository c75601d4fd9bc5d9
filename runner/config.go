package runner

import (
	"fmt"
	"log/slog"
	"time"
)

// Config is what the Runner needs to know. cmd builds it from the daemon's
// configuration, which holds every default: New refuses a value that makes
// no sense rather than replace it, and each field says what zero means.
type Config struct {
	// Instance labels every container this daemon creates; containers of
	// other instances are never touched. Required.
	Instance string
	Policy   Policy
	// AllowUnenforcedLimits lets the runner start on a host where limits would be silently ignored.
	AllowUnenforcedLimits bool
	// StopTimeout is how long DELETE's stop waits after SIGTERM before SIGKILL; 0 kills at once.
	StopTimeout time.Duration
	// SucceededGrace and FailedGrace are how long a finished agent's container
	// is kept (for logs, stats, exec); 0 removes it at the next sweep.
	SucceededGrace time.Duration
	FailedGrace    time.Duration
	// OrphanGrace is how old a labelled container no agent knows must be before it is removed; 0: at once.
	OrphanGrace time.Duration
	// Retention is how long final agent rows are kept after their container is gone; 0 keeps them for ever.
	Retention time.Duration
	// LogTail is how many bytes of each stream are kept when a container is removed; must be positive.
	LogTail        int
	FunctionPolicy FunctionPolicy // its DefaultMaxOutput must be positive
	// Limiter admits invocations; nil admits all at once.
	Limiter *Limiter
	// Notifier delivers results to callback URLs; nil disables callbacks.
	Notifier Notifier
	// CallbackAttempts is how many deliveries are tried per result; must be
	// positive when there is a Notifier.
	CallbackAttempts int
	// CallbackBackoff is the wait after the first failed delivery, doubling after each; 0 retries at once.
	CallbackBackoff time.Duration
	// Webhooks sends agents' lifecycle events; nil sends none (and agents get no webhook URL).
	Webhooks WebhookSender
	// WebhookURL is the webhook of every agent that names none (configs:
	// webhooks.url); "" means none. Deliveries use CallbackAttempts and
	// CallbackBackoff, like callbacks.
	WebhookURL string
	// WebhookWarnBefore is how long before an agent's hard deadline its
	// "expiring" event is sent; 0 sends none.
	WebhookWarnBefore time.Duration
	// WarmMaxIdle is how old a warm container may grow before it is replaced; must be positive.
	WarmMaxIdle time.Duration
	// CallTimeout bounds each sandbox call but the wait for a process to
	// end, so a wedged container service cannot hang a supervisor for ever;
	// must be positive.
	CallTimeout time.Duration
	// MaxUpload bounds one file upload (or tar) into an agent, in bytes; 0 refuses every upload.
	MaxUpload int64
	// Egress opens the egress proxies of agents with an allow list; nil
	// refuses such agents (Policy.Egress should then be false).
	Egress EgressGate
	// Thresholds are where the resource monitor raises alerts; zero values turn kinds off.
	Thresholds Thresholds
	// Logger receives the runner's logs; nil discards them.
	Logger *slog.Logger
	// Observer is told what the runner does, for metrics; nil observes nothing.
	Observer Observer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// validate names the first field that makes no sense, as a *FieldError (ErrInvalid).
func (c Config) validate() error {
	if err := c.Thresholds.validate(); err != nil {
		return fmt.Errorf("runner config: %w", err)
	}
	for _, p := range []struct {
		bad   bool
		field string
		what  string
	}{
		{c.Instance == "", "Instance", "is required"},
		{c.StopTimeout < 0, "StopTimeout", "must not be negative"},
		{c.SucceededGrace < 0, "SucceededGrace", "must not be negative"},
		{c.FailedGrace < 0, "FailedGrace", "must not be negative"},
		{c.OrphanGrace < 0, "OrphanGrace", "must not be negative"},
		{c.Retention < 0, "Retention", "must not be negative"},
		{c.LogTail <= 0, "LogTail", "must be positive"},
		{c.FunctionPolicy.DefaultMaxOutput <= 0, "FunctionPolicy.DefaultMaxOutput", "must be positive"},
		{(c.Notifier != nil || c.Webhooks != nil) && c.CallbackAttempts <= 0, "CallbackAttempts", "must be positive"},
		{c.WebhookWarnBefore < 0, "WebhookWarnBefore", "must not be negative"},
		{c.Policy.DefaultIdleTimeout < 0, "Policy.DefaultIdleTimeout", "must not be negative"},
		{c.CallbackBackoff < 0, "CallbackBackoff", "must not be negative"},
		{c.WarmMaxIdle <= 0, "WarmMaxIdle", "must be positive"},
		{c.CallTimeout <= 0, "CallTimeout", "must be positive"},
		{c.MaxUpload < 0, "MaxUpload", "must not be negative"},
	} {
		if p.bad {
			return fmt.Errorf("runner config: %w", invalid(p.field, "%s", p.what))
		}
	}
	if c.WebhookURL != "" {
		if err := ValidateWebhookURL("WebhookURL", c.WebhookURL, c.Policy.AllowPrivateWebhooks); err != nil {
			return fmt.Errorf("runner config: %w", err)
		}
	}
	return nil
}
