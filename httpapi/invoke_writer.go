package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// How much output, and for how long, a synchronous answer is held back. A
// function that ends within both gets a status saying how it ended; past them
// the client is better served by seeing output as it comes.
const (
	holdBytes = 64 << 10
	holdTime  = 200 * time.Millisecond
)

// errAnswered is what a write gets once the handler has finished the response.
var errAnswered = errors.New("the invocation's response is already finished")

// invokeWriter is a synchronous invocation's Output. It holds the output back
// until the first of:
//
//   - the process has exited (OutputEnded: the runner saw the shim's exit line,
//     or the end of the stream of a killed process): the status then follows
//     the outcome once it is recorded (outcomeStatus);
//   - holdBytes have been written;
//   - holdTime has passed since the first byte came, and the process has not exited.
//
// The clock starts at the first byte, not at the container's start, so a
// function's startup, however slow under load, never counts; and it stops at
// the exit, so podrun's own work after it (recording it, removing the
// container) never counts either. A function that writes and exits within
// holdTime of its first byte therefore always gets the status of its outcome.
// Once released the answer is 200, every write is streamed with a flush, and
// the exit code and reason come as trailers.
//
// A silent function is never released: it keeps the status open to the end,
// so one that fails or times out without writing gets a JSON error.
//
// The runner's output copier, the hold timer, the end-of-stream notice and the
// handler all touch the response, so every method takes mu; once finish has
// run, writes fail instead of reaching a ResponseWriter whose handler has returned.
type invokeWriter struct {
	mu        sync.Mutex
	w         http.ResponseWriter
	rc        *http.ResponseController
	held      bytes.Buffer
	maxHeld   int
	holdFor   time.Duration
	timer     *time.Timer // started by the first byte
	begun     bool        // Started was called
	ended     bool        // the process has exited: only holdBytes or finish release now
	streaming bool        // the status is sent; writes go straight to the client
	closed    bool        // finish has run
}

func newInvokeWriter(w http.ResponseWriter, rc *http.ResponseController) *invokeWriter {
	return &invokeWriter{w: w, rc: rc, maxHeld: holdBytes, holdFor: holdTime}
}

// started is the invocation's Started: it names the agent in the headers.
func (o *invokeWriter) started(a runner.Agent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.begun || o.closed || o.streaming {
		return
	}
	o.begun = true
	o.agentHeaders(a)
}

// outputEnded is the invocation's OutputEnded: the process has exited, so the
// clock stops and the answer waits for the recorded outcome. Output that is
// still on its way is held with the rest.
func (o *invokeWriter) outputEnded() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ended = true
	if o.timer != nil {
		o.timer.Stop()
	}
}

func (o *invokeWriter) agentHeaders(a runner.Agent) {
	h := o.w.Header()
	if a.ID != "" {
		h.Set(headerAgentID, a.ID)
	}
	if a.Start != "" {
		h.Set(headerStart, a.Start)
	}
}

// Write holds or streams p; an error means the client will not see it.
func (o *invokeWriter) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return 0, errAnswered
	case o.streaming:
		return o.send(p)
	}
	if o.timer == nil && len(p) > 0 && !o.ended {
		o.timer = time.AfterFunc(o.holdFor, o.holdOver)
	}
	o.held.Write(p)
	if o.held.Len() >= o.maxHeld {
		if err := o.release(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// holdOver runs when holdFor has passed since the first byte.
func (o *invokeWriter) holdOver() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.streaming || o.ended {
		return
	}
	// An error here is the client's connection failing; the next Write reports it.
	_ = o.release()
}

// release commits to 200 with the exit code and reason to come as trailers, and sends what is held.
func (o *invokeWriter) release() error {
	h := o.w.Header()
	setOutputHeaders(h)
	h.Set("Trailer", headerExitCode+", "+headerReason)
	o.w.WriteHeader(http.StatusOK)
	o.streaming = true
	held := o.held.Bytes()
	o.held = bytes.Buffer{}
	_, err := o.send(held)
	return err
}

func (o *invokeWriter) send(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil {
		return n, err
	}
	if err := o.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return n, err
	}
	return n, nil
}

// finish ends the answer once Invoke has returned. It returns an error when the
// answer is still to be written by writeError: Invoke failed before the answer
// began, or the function ended badly without writing anything (functionError).
func (o *invokeWriter) finish(r *http.Request, res runner.InvokeResult, err error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer != nil {
		o.timer.Stop()
	}
	o.closed = true
	if err == nil && !o.begun {
		o.agentHeaders(res.Agent)
	}
	code, reason := strconv.Itoa(res.ExitCode), runner.Outcome(res.Agent)
	switch {
	case o.streaming && err != nil:
		// Too late for a status; the missing trailers tell the client the answer is incomplete.
		level := slog.LevelWarn
		if r.Context().Err() != nil {
			level = slog.LevelDebug
		}
		infoFrom(r.Context()).log.LogAttrs(r.Context(), level, "invocation failed after its answer began",
			slog.String("agent", res.Agent.ID), slog.Any("err", err))
		return nil
	case o.streaming:
		h := o.w.Header() // both declared as trailers by release
		h.Set(headerExitCode, code)
		setReason(h, reason)
		return nil
	case err != nil:
		return err
	}
	h := o.w.Header()
	h.Set(headerExitCode, code)
	setReason(h, reason)
	status := outcomeStatus(res)
	if status != http.StatusOK && o.held.Len() == 0 {
		return functionError(status, res)
	}
	setOutputHeaders(h)
	h.Set("Content-Length", strconv.Itoa(o.held.Len()))
	o.w.WriteHeader(status)
	_, _ = o.w.Write(o.held.Bytes())
	return nil
}

// setReason sets the X-Podrun-Reason header (or trailer), left out rather than empty when the
// agent has no outcome yet: a client either gets one of the outcome words or nothing.
func setReason(h http.Header, reason string) {
	if reason != "" {
		h.Set(headerReason, reason)
	}
}

// outcomeStatus is the status of an answer given after the process ended: 504
// when it was killed at its timeout (with or without output), 200 when it exited
// 0, 500 for any other end (non-zero exit, OOM, output limit, ...).
func outcomeStatus(res runner.InvokeResult) int {
	switch {
	case res.Agent.State == runner.StateExpired:
		return http.StatusGatewayTimeout
	case res.ExitCode == 0 && res.Agent.State != runner.StateFailed:
		return http.StatusOK
	}
	return http.StatusInternalServerError
}

// functionError is the JSON answer of an invocation that ended badly without
// writing anything: code "timeout" (504) or "function_failed" (500), a message
// naming the reason and exit code, and both as fields of their own.
func functionError(status int, res runner.InvokeResult) *apiError {
	a, code := res.Agent, res.ExitCode
	var what string
	switch runner.Outcome(a) {
	case runner.OutcomeExpired:
		what = "did not finish within its timeout and was killed"
	case runner.OutcomeOOM:
		what = "ran out of memory and was killed"
	case runner.OutcomeOutputLimit:
		what = "wrote more than its max_output and was killed"
	case runner.OutcomeError:
		what = "could not be run: its container failed to start or vanished"
	case runner.OutcomeDeleted:
		what = "was stopped by a DELETE of its agent"
	case runner.OutcomeClientGone:
		what = "was killed because the client went away"
	default:
		what = "failed"
	}
	msg := "the function " + what
	if code >= 0 {
		msg += fmt.Sprintf(" (exit code %d%s)", code, exitHint(code))
	}
	if a.ID != "" {
		msg += "; its stderr is in /v1/agents/" + a.ID + "/logs?stream=stderr"
	}
	apiCode := api.CodeFunctionFailed
	if status == http.StatusGatewayTimeout {
		apiCode = api.CodeTimeout
	}
	e := apiErr(status, apiCode, msg)
	e.reason = runner.Outcome(a)
	if code >= 0 {
		e.exitCode = &code
	}
	return e
}

// exitHint says what the exit codes of shells and the shim conventionally mean.
func exitHint(code int) string {
	switch code {
	case 125:
		return ": podrun's shim could not start the command"
	case 126:
		return ": the command is not executable"
	case 127:
		return ": the command was not found"
	}
	return ""
}
