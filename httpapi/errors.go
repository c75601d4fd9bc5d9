package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// apiError is an error that already knows its HTTP status and code.
type apiError struct {
	status   int
	code     string
	message  string
	field    string
	reason   string // a failed invocation's outcome
	exitCode *int   // a failed invocation's exit code
}

func (e *apiError) Error() string { return e.message }

func apiErr(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// statusClientClosed follows nginx's convention for a client that went away;
// it only reaches logs and metrics, never the client, as does codeCanceled.
const (
	statusClientClosed = 499
	codeCanceled       = "canceled"
)

// classify maps an error to what the client is told; only known errors keep their message.
func classify(r *http.Request, err error) *apiError {
	var (
		ae  *apiError
		fe  *runner.FieldError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return apiErr(http.StatusRequestEntityTooLarge, api.CodeTooLarge, fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
	case errors.As(err, &fe):
		return &apiError{status: http.StatusBadRequest, code: api.CodeInvalid, message: fe.Message, field: fe.Field}
	case errors.Is(err, runner.ErrInvalid):
		return apiErr(http.StatusBadRequest, api.CodeInvalid, err.Error())
	case errors.Is(err, runner.ErrNotFound):
		return apiErr(http.StatusNotFound, api.CodeNotFound, err.Error())
	case errors.Is(err, runner.ErrConflict):
		return apiErr(http.StatusConflict, api.CodeConflict, err.Error())
	case errors.Is(err, runner.ErrTooLarge):
		return apiErr(http.StatusRequestEntityTooLarge, api.CodeTooLarge, err.Error())
	case errors.Is(err, runner.ErrNoSpace):
		return apiErr(http.StatusInsufficientStorage, api.CodeNoSpace, err.Error())
	case errors.Is(err, runner.ErrForbidden):
		return apiErr(http.StatusForbidden, api.CodeForbidden, err.Error())
	case errors.Is(err, runner.ErrBusy):
		return apiErr(http.StatusTooManyRequests, api.CodeBusy, err.Error())
	case errors.Is(err, runner.ErrImageUnavailable):
		return apiErr(http.StatusUnprocessableEntity, api.CodeImageUnavailable, err.Error())
	case errors.Is(err, runner.ErrUnavailable):
		return apiErr(http.StatusServiceUnavailable, api.CodeUnavailable, "the container service does not answer; try again")
	case errors.Is(err, context.DeadlineExceeded):
		return apiErr(http.StatusGatewayTimeout, api.CodeTimeout, "the operation timed out")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return apiErr(statusClientClosed, codeCanceled, "the request was canceled")
	default:
		return apiErr(http.StatusInternalServerError, api.CodeInternal, "internal error")
	}
}

// writeError is the one place errors become responses. Server-side failures
// are logged with the real error and answered with a generic message.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(r, err)
	log := infoFrom(r.Context()).log
	switch {
	case ae.reason != "":
		// A function's own failure, not podrun's: the access log has the status.
	case ae.status == http.StatusInsufficientStorage:
		// The agent filled its own file system: its business, not podrun's failure.
	case ae.status >= 500:
		log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.Int("status", ae.status), slog.Any("err", err))
	case ae.status == statusClientClosed:
		log.LogAttrs(r.Context(), slog.LevelDebug, "client went away", slog.Any("err", err))
	}
	if ae.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, r, ae.status, api.ErrorResponse{Error: api.Error{Code: ae.code, Message: ae.message, Field: ae.field, Reason: ae.reason, ExitCode: ae.exitCode}})
}

// writeJSON marshals before writing so an encoding failure can still become a clean 500.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		infoFrom(r.Context()).log.LogAttrs(r.Context(), slog.LevelError, "encode response", slog.Any("err", err))
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", api.ContentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
