package api

// ErrorResponse is the body of every error answer: {"error":{"code":...,"message":...,"field":...}}.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error says what went wrong with a request.
type Error struct {
	// Code is one of the Code constants; a program branches on it, not on Message.
	Code string `json:"code"`
	// Message says what went wrong, for people.
	Message string `json:"message"`
	// Field names the offending input when there is one (optional): a JSON path into the request
	// body like "limits.memory", "command[0]" or "env.KEY", a query parameter like "state", or a
	// header like "X-Callback-Url".
	Field string `json:"field,omitempty"`
	// Reason says how a failed invocation ended, for an invocation that wrote nothing (codes
	// CodeFunctionFailed and CodeTimeout): one of the Outcome constants; optional.
	Reason string `json:"reason,omitempty"`
	// ExitCode is such an invocation's exit status; optional, absent when the process never
	// exited by itself.
	ExitCode *int `json:"exit_code,omitempty"`
}

// Error codes, each with the HTTP status it comes with.
const (
	CodeInvalid              = "invalid"                // 400: a field, a parameter or the body is wrong
	CodeUnauthorized         = "unauthorized"           // 401: the bearer token is missing or wrong
	CodeNotFound             = "not_found"              // 404: no such agent, function or route
	CodeMethodNotAllowed     = "method_not_allowed"     // 405
	CodeConflict             = "conflict"               // 409: the agent's state does not allow it (e.g. exec on a finished agent)
	CodeTooLarge             = "too_large"              // 413: the body is over the server's limit
	CodeUnsupportedMediaType = "unsupported_media_type" // 415: a JSON route was sent another Content-Type
	CodeImageUnavailable     = "image_unavailable"      // 422: the image is neither present nor pullable
	CodeBusy                 = "busy"                   // 429: too many invocations; retry after Retry-After
	CodeForbidden            = "forbidden"              // 403: a file write to a read-only place, or one the container's user may not make
	CodeNoSpace              = "no_space"               // 507: the container's file system (its /tmp, a volume) is full
	CodeInternal             = "internal"               // 500: the server failed; its log has the cause
	CodeFunctionFailed       = "function_failed"        // 500: an invocation ended badly without writing anything (see Error.Reason)
	CodeUnavailable          = "unavailable"            // 503: the container engine does not answer; try again
	CodeTimeout              = "timeout"                // 504: the operation or the function ran out of time
)
