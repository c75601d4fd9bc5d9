package api

// Headers of invocations (POST /v1/functions/{name}/invoke, /function/{name}, /async-function/{name}),
// of results (GET /v1/agents/{id}/result) and of callbacks.
const (
	// HeaderAgentID names the agent an invocation ran as.
	HeaderAgentID = "X-Podrun-Agent-Id"
	// HeaderStart says how its container was prepared: StartCold or StartWarm.
	HeaderStart = "X-Podrun-Start"
	// HeaderExitCode is the process's exit status: a header when the server held the answer until
	// the process ended, a trailer when it streamed the output as it came.
	HeaderExitCode = "X-Podrun-Exit-Code"
	// HeaderReason says how the invocation ended, one of the Outcome constants: a header or a
	// trailer, as HeaderExitCode.
	HeaderReason = "X-Podrun-Reason"
	// HeaderTruncated is "true" when the output was cut at the function's max_output.
	HeaderTruncated = "X-Podrun-Truncated"
	// HeaderCallbackStatus is a result's callback delivery state.
	HeaderCallbackStatus = "X-Podrun-Callback-Status"
	// HeaderFunction names the function, on callbacks.
	HeaderFunction = "X-Podrun-Function"
	// HeaderCallbackURL is where an asynchronous invocation's result is POSTed, as OpenFaaS names it.
	HeaderCallbackURL = "X-Callback-Url"
	// HeaderPrefer with PreferAsync asks POST /v1/functions/{name}/invoke for a 202 (RFC 7240).
	HeaderPrefer = "Prefer"
	// HeaderPreferenceApplied answers HeaderPrefer when the server honoured it.
	HeaderPreferenceApplied = "Preference-Applied"
	// PreferAsync is the HeaderPrefer value for an asynchronous invocation.
	PreferAsync = "respond-async"
)

// How an invocation ended, in one word: the HeaderReason of its answer and the Reason of the
// error of one that failed without output. The list is closed.
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

// ContentTypeJSON is the Content-Type of every JSON body, asked and answered. Output of agents
// and functions comes as ContentTypeOutput (invocations, results) or text/plain (logs).
const (
	ContentTypeJSON   = "application/json"
	ContentTypeOutput = "application/octet-stream"
	// ContentTypeNDJSON is the Content-Type of the NDJSON logs: one LogLine per line.
	ContentTypeNDJSON = "application/x-ndjson"
)
