package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/podrun/podrun/api"
)

// Error is an answer with an error status. Find it with errors.As.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the API's error code (api.CodeInvalid, api.CodeNotFound, ...); "" when the answer
	// was not podrun's error JSON (a proxy's page, for instance).
	Code string
	// Message says what went wrong.
	Message string
	// Field names the offending input, as the API does ("limits.memory", "ttl", ...); "" when none.
	Field string
	// Reason and ExitCode say how an invocation that failed without writing anything ended
	// (code api.CodeFunctionFailed or api.CodeTimeout): an api.Outcome constant, and the exit
	// status when the process exited; "" and nil otherwise.
	Reason   string
	ExitCode *int
	// RetryAfter is how long the server asks a client to wait before retrying a 429; 0 otherwise.
	RetryAfter time.Duration
	// Header is the answer's header: a failed invocation's carries api.HeaderAgentID and
	// api.HeaderExitCode, for instance.
	Header http.Header
}

// Error reads like "limits.memory: must be at least 6Mi (400 invalid)".
func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	code := e.Code
	if code == "" {
		code = strings.ToLower(http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s (%d %s)", msg, e.Status, code)
}

// ErrorCode returns the API's error code of err, "" when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// readError turns an error answer into an *Error; it reads at most 64 KiB of the body.
func readError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, Header: resp.Header}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body api.ErrorResponse
	if err := json.Unmarshal(raw, &body); err == nil && body.Error.Code != "" {
		e.Code, e.Message, e.Field = body.Error.Code, body.Error.Message, body.Error.Field
		e.Reason, e.ExitCode = body.Error.Reason, body.Error.ExitCode
		return e
	}
	e.Message = strings.TrimSpace(string(raw))
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
