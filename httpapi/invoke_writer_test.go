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

	// Output held when the time is up goes out then.
	o, rec := newTestWriter()
	o.Write([]byte("abc"))
	o.holdOver()
	if rec.Body.String() != "abc" || !rec.Flushed {
		t.Errorf("after the hold time: body %q flushed %v, want abc sent", rec.Body, rec.Flushed)
	}

	// A silent function keeps its status open until its first byte...
	o, rec = newTestWriter()
	o.holdOver()
	if rec.Flushed {
		t.Fatal("released with nothing to send")
	}
	o.Write([]byte("x"))
	if rec.Body.String() != "x" || !rec.Flushed {
		t.Errorf("first byte after the hold time: body %q flushed %v, want it sent at once", rec.Body, rec.Flushed)
	}

	// ...so one that times out without writing still gets its 504.
	o, rec = newTestWriter()
	o.holdOver()
	err := o.finish(req, runner.InvokeResult{Agent: runner.Agent{State: runner.StateExpired}, ExitCode: 137}, nil)
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusGatewayTimeout || ae.code != "timeout" {
		t.Errorf("finish = %v, want a 504 timeout error for writeError", err)
	}
	if rec.Flushed || rec.Header().Get(headerExitCode) != "137" {
		t.Errorf("flushed %v, exit code header %q", rec.Flushed, rec.Header().Get(headerExitCode))
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
