package httpapi

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

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

// invokeWriter is a synchronous invocation's Output. It holds the start of the
// output back until the process exits (the status then follows the outcome, see
// outcomeStatus), holdBytes are written, or holdTime has passed since Started
// and there is output, whichever comes first. Once released it commits to 200,
// streams every write with a flush, and sends the exit code as a trailer.
//
// A silent function is never released by the clock alone: it keeps the
// status open until its first byte, so a function that times out without
// writing still gets its 504.
//
// The runner's output copier, the hold timer and the handler all touch the
// response, so every method takes mu; once finish has run, writes fail
// instead of reaching a ResponseWriter whose handler has returned.
type invokeWriter struct {
	mu        sync.Mutex
	w         http.ResponseWriter
	rc        *http.ResponseController
	held      bytes.Buffer
	maxHeld   int
	holdFor   time.Duration
	timer     *time.Timer
	begun     bool // Started was called
	late      bool // holdFor has passed: the next byte releases the answer
	streaming bool // the status is sent; writes go straight to the client
	closed    bool // finish has run
}

func newInvokeWriter(w http.ResponseWriter, rc *http.ResponseController) *invokeWriter {
	return &invokeWriter{w: w, rc: rc, maxHeld: holdBytes, holdFor: holdTime}
}

// started is the invocation's Started: it names the agent in the headers and starts the hold clock.
func (o *invokeWriter) started(a runner.Agent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.begun || o.closed || o.streaming {
		return
	}
	o.begun = true
	o.agentHeaders(a)
	o.timer = time.AfterFunc(o.holdFor, o.holdOver)
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
	o.held.Write(p)
	if o.late || o.held.Len() >= o.maxHeld {
		if err := o.release(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// holdOver runs when holdFor has passed since Started.
func (o *invokeWriter) holdOver() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.streaming {
		return
	}
	o.late = true
	if o.held.Len() > 0 {
		// An error here is the client's connection failing; the next Write reports it.
		_ = o.release()
	}
}

// release commits to 200 with the exit code to come as a trailer, and sends what is held.
func (o *invokeWriter) release() error {
	h := o.w.Header()
	setOutputHeaders(h)
	h.Set("Trailer", headerExitCode)
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
// began, or the function timed out without writing anything.
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
	code := strconv.Itoa(res.ExitCode)
	switch {
	case o.streaming && err != nil:
		// Too late for a status; the missing trailer tells the client the answer is incomplete.
		level := slog.LevelWarn
		if r.Context().Err() != nil {
			level = slog.LevelDebug
		}
		infoFrom(r.Context()).log.LogAttrs(r.Context(), level, "invocation failed after its answer began",
			slog.String("agent", res.Agent.ID), slog.Any("err", err))
		return nil
	case o.streaming:
		o.w.Header().Set(headerExitCode, code) // declared as a trailer by release
		return nil
	case err != nil:
		return err
	}
	h := o.w.Header()
	h.Set(headerExitCode, code)
	status := outcomeStatus(res)
	if status == http.StatusGatewayTimeout && o.held.Len() == 0 {
		return apiErr(http.StatusGatewayTimeout, "timeout", "the function did not finish within its timeout")
	}
	setOutputHeaders(h)
	h.Set("Content-Length", strconv.Itoa(o.held.Len()))
	o.w.WriteHeader(status)
	_, _ = o.w.Write(o.held.Bytes())
	return nil
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
