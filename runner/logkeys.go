package runner

// Log keys: every record of the runner names the same thing with the same key.
const (
	logAgent         = "agent"
	logContainer     = "container"
	logFunction      = "function"
	logErr           = "err"
	logReason        = "reason"
	logState         = "state"
	logPhase         = "phase"
	logAttempt       = "attempt"
	logCount         = "count"
	logExpiresAt     = "expires_at"
	logIdleExpiresAt = "idle_expires_at"
	logWhy           = "why"
	logStopped       = "supervisors_stopped"
	logWarm          = "warm_containers_removed"
	logKind          = "kind"
	logDetail        = "detail"
)
