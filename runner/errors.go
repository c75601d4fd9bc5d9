package runner

import (
	"errors"
	"fmt"
)

// Domain errors; adapters map them to their own codes (HTTP statuses, exit codes).
var (
	ErrNotFound         = errors.New("not found")
	ErrInvalid          = errors.New("invalid input")
	ErrConflict         = errors.New("conflict")
	ErrBusy             = errors.New("busy")
	ErrImageUnavailable = errors.New("image unavailable")
	ErrUnenforced       = errors.New("resource limits cannot be enforced on this host")
	// ErrNoContainer is returned by a Sandbox when the container does not exist.
	ErrNoContainer = errors.New("no such container")
	// ErrUnavailable is returned by a Sandbox when the container service does
	// not answer (restarting, say): unlike ErrNoContainer it says nothing
	// about the container, which may well run on.
	ErrUnavailable = errors.New("container service unavailable")
)

// FieldError is an ErrInvalid that names the offending input field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}
