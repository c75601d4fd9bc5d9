package runner

// How an invocation ended, in one word: the outcome label of
// podrun_invocations_total and the X-Podrun-Reason header of an answer. The
// list is closed, so a metric's series and a client's switch stay bounded
// whatever reasons the runner records.
const (
	OutcomeSucceeded   = "succeeded"    // exited 0
	OutcomeFailed      = "failed"       // exited non-zero, or ended for a reason not listed here
	OutcomeExpired     = "expired"      // killed at its timeout
	OutcomeOOM         = "oom"          // killed for memory
	OutcomeOutputLimit = "output_limit" // killed for writing more than max_output
	OutcomeClientGone  = "client_gone"  // killed because the synchronous caller left
	OutcomeError       = "error"        // its container could not be made or started, or vanished
	OutcomeDeleted     = "deleted"      // stopped by DELETE
)

// Outcomes lists every outcome Outcome returns.
var Outcomes = []string{
	OutcomeSucceeded, OutcomeFailed, OutcomeExpired, OutcomeOOM,
	OutcomeOutputLimit, OutcomeClientGone, OutcomeError, OutcomeDeleted,
}

// Outcome names how an invocation's agent ended, from its state and reason;
// "" while it is pending or running. A terminating agent is already "deleted".
func Outcome(a Agent) string {
	switch a.State {
	case StateSucceeded:
		return OutcomeSucceeded
	case StateExpired:
		return OutcomeExpired
	case StateTerminating, StateTerminated:
		return OutcomeDeleted
	case StateFailed:
		switch a.Reason {
		case ReasonOOM:
			return OutcomeOOM
		case ReasonOutputLimit:
			return OutcomeOutputLimit
		case ReasonClientGone:
			return OutcomeClientGone
		case ReasonError, ReasonLost:
			return OutcomeError
		}
		return OutcomeFailed
	}
	return ""
}
