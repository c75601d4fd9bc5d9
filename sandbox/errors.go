package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"

	"github.com/containers/podman/v5/pkg/errorhandling"
	"github.com/podrun/podrun/runner"
)

// statusCode returns the HTTP status of a Podman API error, or 0 if err did not come from the API.
func statusCode(err error) int {
	var pm *errorhandling.ErrorModel
	if errors.As(err, &pm) {
		return pm.Code()
	}
	var m errorhandling.ErrorModel
	if errors.As(err, &m) {
		return m.Code()
	}
	return 0
}

// notFound reports whether Podman said the container (or exec session) does not exist.
// Some 4.3 endpoints answer 500 with "no such container", so the message counts too.
func notFound(err error) bool {
	if err == nil {
		return false
	}
	if statusCode(err) == http.StatusNotFound {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "no such container") || strings.Contains(msg, "no container with name or ID")
}

// wrapErr adds the operation and container to err; a missing container becomes
// runner.ErrNoContainer, an unreachable service runner.ErrUnavailable. Podman's own
// messages often name the container ("... 2114740e8e6d is in state created"): then the
// id is not added a second time.
func wrapErr(op, id string, err error) error {
	if notFound(err) {
		return fmt.Errorf("%s container %s: %w", op, id, runner.ErrNoContainer)
	}
	if id != "" && strings.Contains(err.Error(), id[:min(len(id), shortID)]) {
		return fmt.Errorf("%s container: %w", op, unavailable(err))
	}
	return fmt.Errorf("%s container %s: %w", op, id, unavailable(err))
}

// unavailable marks err with runner.ErrUnavailable if it says the service
// could not be reached or dropped the connection: stopped or restarting, it
// says nothing about the containers, which conmon keeps running meanwhile.
func unavailable(err error) error {
	if unreachable(err) {
		return fmt.Errorf("%w: %w", runner.ErrUnavailable, err)
	}
	return err
}

// unreachable reports whether err is a failure to talk to the service rather
// than its answer: a socket that is gone (ENOENT) or not listened on
// (ECONNREFUSED), or a connection dropped mid-call.
func unreachable(err error) bool {
	if err == nil || statusCode(err) != 0 {
		return false
	}
	for _, target := range []error{syscall.ENOENT, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, io.ErrUnexpectedEOF, io.EOF} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// shortID is the length of the id prefix Podman and its users print.
const shortID = 12

// notRunning reports whether Podman refused because the container is not running.
func notRunning(err error) bool {
	if err == nil {
		return false
	}
	return statusCode(err) == http.StatusConflict || strings.Contains(err.Error(), "container state improper")
}
