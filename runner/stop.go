package runner

import (
	"fmt"
	"time"
)

// A stop is podrun ending a live agent on purpose: the state it moves the
// agent to and why. Its transition races the process's own end in the store;
// if it wins, the agent's supervisor stops the container (supervisors.end).
type stop struct {
	to      State
	reason  string
	message string // the agent's message
	detail  string // the state event's detail
	idleDue time.Time
}

func (s stop) change() Change {
	return Change{To: s.to, Reason: s.reason, Message: s.message, Detail: s.detail, IdleDue: s.idleDue}
}

// deletion is DELETE's stop: SIGTERM, then SIGKILL after the stop timeout.
var deletion = stop{to: StateTerminating, reason: ReasonDeleted, message: "deleted by request", detail: "delete requested"}

// expiry kills an agent at its deadline.
func expiry(expiresAt time.Time) stop {
	at := expiresAt.UTC().Format(time.RFC3339Nano)
	return stop{to: StateExpired, reason: ReasonTTL, message: "killed at its deadline (ttl): expires_at " + at, detail: "deadline " + at}
}

// idleExpiry kills a running agent that had no activity for its idle timeout;
// it loses to activity that moved the idle deadline past idleAt.
func idleExpiry(idleAt time.Time) stop {
	at := idleAt.UTC().Format(time.RFC3339Nano)
	return stop{StateExpired, ReasonIdle, "killed after no activity for its idle timeout (idle): idle_expires_at " + at,
		"idle deadline " + at, idleAt}
}

// clientGone kills a synchronous invocation nobody waits for any more.
func clientGone(message, detail string) stop {
	return stop{to: StateFailed, reason: ReasonClientGone, message: message, detail: detail}
}

// outputLimit kills an invocation that wrote more than its function's max_output.
func outputLimit(maxOutput int64) stop {
	return stop{to: StateFailed, reason: ReasonOutputLimit,
		message: fmt.Sprintf("it wrote more than its max_output of %d bytes", maxOutput), detail: ReasonOutputLimit}
}

// mustStop reports whether a's state says its container must not run on:
// podrun deleted or expired it, or ended it (client_gone, output_limit). A
// supervisor taking a container back reads it so, to learn of a stop that
// was requested before a restart.
func mustStop(a Agent) bool {
	return a.State == StateExpired || a.State == StateTerminating || a.State == StateFailed
}

// stopReason is the reason of the stop a state mustStop accepts stands for.
func stopReason(a Agent) string {
	switch {
	case a.State == StateExpired && a.Reason != "":
		return a.Reason // ttl or idle: killed at once
	case a.State == StateExpired:
		return ReasonTTL
	case a.State == StateFailed && a.Reason != "":
		return a.Reason // client_gone, output_limit: killed at once
	default:
		return ReasonDeleted
	}
}
