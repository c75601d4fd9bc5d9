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

// ContentTypeJSON is the Content-Type of every JSON body, asked and answered. Output of agents
// and functions comes as ContentTypeOutput (invocations, results) or text/plain (logs).
const (
	ContentTypeJSON   = "application/json"
	ContentTypeOutput = "application/octet-stream"
)
