package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// newTestWriter returns an invokeWriter over a recorder whose hold clock never runs out by itself.
func newTestWriter() (*invokeWriter, *httptest.ResponseRecorder) {
	rec := httptest.NewRecorder()
	o := newInvokeWriter(rec, http.NewResponseController(rec))
	o.holdFor = time.Hour
	o.started(runner.Agent{ID: "agent-1", Start: runner.StartCold})
	return o, rec
}

func TestInvokeWriterReleasesAtHoldBytes(t *testing.T) {
	o, rec := newTestWriter()
	req := httptest.NewRequest(http.MethodPost, "/function/fn", nil)
	o.Write([]byte(strings.Repeat("a", holdBytes-1)))
	if rec.Body.Len() != 0 || rec.Flushed {
		t.Fatalf("released after %d bytes, want held below %d", rec.Body.Len(), holdBytes)
	}
	o.Write([]byte("b"))
	if rec.Body.Len() != holdBytes || !rec.Flushed {
		t.Fatalf("body %d bytes (flushed %v) after %d written, want all of it flushed", rec.Body.Len(), rec.Flushed, holdBytes)
	}
	o.Write([]byte("c"))
	if err := o.finish(req, runner.InvokeResult{ExitCode: 2}, nil); err != nil {
		t.Fatal(err)
	}
	res := rec.Result()
	if res.StatusCode != 200 || res.Trailer.Get(headerExitCode) != "2" || rec.Body.Len() != holdBytes+1 {
		t.Errorf("status %d trailer %q body %d", res.StatusCode, res.Trailer.Get(headerExitCode), rec.Body.Len())
	}
	if res.Header.Get(headerAgentID) != "agent-1" || res.Header.Get(headerStart) != "cold" {
		t.Errorf("agent headers = %v", res.Header)
	}
}

func TestInvokeWriterHoldTime(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/function/fn", nil)
	failed := runner.InvokeResult{Agent: runner.Agent{ID: "agent-1", State: runner.StateFailed, Reason: runner.ReasonExit}, ExitCode: 3}

	// The clock starts at the first byte, not at Started...
	o, rec := newTestWriter()
	if o.timer != nil {
		t.Fatal("the hold clock runs before any output")
	}
	o.Write(nil)
	if o.timer != nil {
		t.Fatal("an empty write started the hold clock")
	}
	o.Write([]byte("abc"))
	if o.timer == nil || rec.Flushed {
		t.Fatalf("after the first byte: clock running %v, flushed %v; want running and held", o.timer != nil, rec.Flushed)
	}
	// ...and output held when the time is up goes out then.
	o.holdOver()
	if rec.Body.String() != "abc" || !rec.Flushed || rec.Code != 200 {
		t.Errorf("after the hold time: %d %q flushed %v, want 200 abc sent", rec.Code, rec.Body, rec.Flushed)
	}
	o.finish(req, failed, nil)
	if got := rec.Result().Trailer; got.Get(headerExitCode) != "3" || got.Get(headerReason) != "failed" {
		t.Errorf("trailers = %v, want exit code 3 and reason failed", got)
	}

	// Once the output stream has ended the clock is stopped: a timer that
	// fires late (podrun busy recording the exit) releases nothing.
	o, rec = newTestWriter()
	o.Write([]byte("out\n"))
	o.outputEnded()
	o.holdOver()
	if rec.Flushed {
		t.Fatal("released after the output ended")
	}
	if err := o.finish(req, failed, nil); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 500 || rec.Body.String() != "out\n" || rec.Header().Get(headerReason) != "failed" {
		t.Errorf("got %d %q reason %q, want 500 with the output", rec.Code, rec.Body, rec.Header().Get(headerReason))
	}

	// A silent function keeps its status open to the end, so one that times
	// out without writing gets its 504.
	o, rec = newTestWriter()
	o.outputEnded()
	err := o.finish(req, runner.InvokeResult{Agent: runner.Agent{State: runner.StateExpired, Reason: runner.ReasonTTL}, ExitCode: 137}, nil)
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusGatewayTimeout || ae.code != "timeout" || ae.reason != "expired" {
		t.Errorf("finish = %v, want a 504 timeout error for writeError", err)
	}
	if rec.Flushed || rec.Header().Get(headerExitCode) != "137" || rec.Header().Get(headerReason) != "expired" {
		t.Errorf("flushed %v, headers %v", rec.Flushed, rec.Header())
	}
}

func TestInvokeWriterAfterFinish(t *testing.T) {
	o, rec := newTestWriter()
	o.Write([]byte("done"))
	if err := o.finish(httptest.NewRequest(http.MethodGet, "/", nil), runner.InvokeResult{}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := o.Write([]byte("late")); n != 0 || !errors.Is(err, errAnswered) {
		t.Errorf("write after finish = %d, %v; want 0, errAnswered", n, err)
	}
	o.holdOver() // a timer that fires late must not touch the response either
	o.started(runner.Agent{ID: "other"})
	if rec.Body.String() != "done" || rec.Header().Get(headerAgentID) != "agent-1" {
		t.Errorf("response changed after finish: %q %v", rec.Body, rec.Header())
	}
}

// TestInvokeWriterConcurrent races writes against the hold timer and finish; run with -race.
func TestInvokeWriterConcurrent(t *testing.T) {
	for range 20 {
		rec := httptest.NewRecorder()
		o := newInvokeWriter(rec, http.NewResponseController(rec))
		o.holdFor = time.Millisecond
		o.started(runner.Agent{ID: "agent-1"})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 200 {
					if _, err := o.Write([]byte("0123456789")); err != nil {
						return
					}
				}
			})
		}
		time.Sleep(time.Millisecond)
		o.finish(httptest.NewRequest(http.MethodGet, "/", nil), runner.InvokeResult{}, nil)
		wg.Wait()
		if _, err := o.Write([]byte("late")); !errors.Is(err, errAnswered) {
			t.Fatalf("write after finish: %v", err)
		}
	}
}
