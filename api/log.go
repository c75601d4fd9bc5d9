package api

// LogLine is one line of an agent's output in the NDJSON form of GET /v1/agents/{id}/logs
// (format=ndjson): one JSON object per line of the answer.
type LogLine struct {
	// Seq is the line's position in the agent's output, from 1, counting both streams; optional,
	// absent for output saved by an older podrun that did not number lines.
	Seq int64 `json:"seq,omitempty"`
	// Time is when the container engine logged the line (Podman 4.3 gives whole seconds);
	// optional, absent for output saved by an older podrun that did not keep it.
	Time Time `json:"time,omitzero"`
	// Stream is StreamStdout or StreamStderr.
	Stream string `json:"stream"`
	// Text is the line without its newline; bytes that are not UTF-8 became U+FFFD. A line longer
	// than 64 KiB is cut (see Cut).
	Text string `json:"text"`
	// Partial says the output ended without a newline after Text; optional, absent when false.
	Partial bool `json:"partial,omitempty"`
	// Cut says Text is only the start of a longer line; optional, absent when false.
	Cut bool `json:"cut,omitempty"`
}
