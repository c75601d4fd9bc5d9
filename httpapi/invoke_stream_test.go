package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// waitProceed blocks until ch is closed; the generous bound only keeps a broken test from hanging.
func waitProceed(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return errors.New("test never let the function go on")
	}
}

// streamingServer serves h over a real connection, so flushes and trailers reach a real client.
func streamingServer(t *testing.T, h *harness) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h.h)
	errs := &syncBuffer{}
	srv.Config.ErrorLog = log.New(errs, "", 0)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if strings.Contains(errs.String(), "panic") {
			t.Errorf("the server panicked:\n%s", errs)
		}
	})
	return srv
}

// TestInvokeUnreadBodyKeepsConnectionSound: a function that answers without
// reading its stdin must leave the keep-alive connection usable (golang/go#68560).
func TestInvokeUnreadBodyKeepsConnectionSound(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	big := strings.Repeat("y", holdBytes)
	h.fake.onInvoke(func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
		a := runner.Agent{ID: runner.NewID(time.Now()), Start: runner.StartWarm}
		inv.Started(a)
		io.WriteString(inv.Output, big) // released at once, body never read
		return runner.InvokeResult{Agent: a}, nil
	})
	srv := streamingServer(t, h)
	for i := 0; i < 50; i++ {
		resp, err := http.Post(srv.URL+"/function/fn", "text/plain", strings.NewReader("unread stdin"))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(body) != len(big) {
			t.Fatalf("request %d: %d bytes, %v", i, len(body), err)
		}
	}
}

// TestInvokeStreamsSlowOutput: a function that prints, pauses and prints again is
// released by the hold timer, so the client reads the first part while the
// function is still running; the exit code comes as a trailer.
func TestInvokeStreamsSlowOutput(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	proceed := make(chan struct{})
	h.fake.onInvoke(func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
		a := runner.Agent{ID: runner.NewID(time.Now()), Start: runner.StartCold}
		inv.Started(a)
		io.WriteString(inv.Output, "first\n")
		if err := waitProceed(ctx, proceed); err != nil {
			return runner.InvokeResult{}, err
		}
		io.WriteString(inv.Output, "second\n")
		return runner.InvokeResult{Agent: a, ExitCode: 7}, nil
	})
	srv := streamingServer(t, h)
	resp, err := http.Post(srv.URL+"/v1/functions/fn/invoke", "text/plain", strings.NewReader("in"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if resp.Header.Get(headerStart) != "cold" || !runner.ValidID(resp.Header.Get(headerAgentID)) {
		t.Errorf("agent headers = %v", resp.Header)
	}
	if _, declared := resp.Trailer[headerExitCode]; !declared {
		t.Errorf("trailer %s not declared; headers %v", headerExitCode, resp.Header)
	}
	first := make([]byte, len("first\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first\n" {
		t.Fatalf("first part = %q, %v", first, err)
	}
	close(proceed) // only now may the function, and so the handler, finish
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
	if got := resp.Trailer.Get(headerExitCode); got != "7" {
		t.Errorf("trailer %s = %q, want 7", headerExitCode, got)
	}
}

// TestInvokeReleasesAt64KiB: output past the hold size goes out at once, before
// the function ends, and a later non-zero exit can only be told by the trailer.
func TestInvokeReleasesAt64KiB(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	proceed := make(chan struct{})
	big := bytes.Repeat([]byte("x"), holdBytes)
	h.fake.onInvoke(func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
		a := runner.Agent{ID: runner.NewID(time.Now()), Start: runner.StartWarm}
		inv.Started(a)
		for chunk := range slices.Chunk(big, 4096) {
			if _, err := inv.Output.Write(chunk); err != nil {
				return runner.InvokeResult{}, err
			}
		}
		if err := waitProceed(ctx, proceed); err != nil {
			return runner.InvokeResult{}, err
		}
		io.WriteString(inv.Output, "tail")
		a.State = runner.StateFailed
		return runner.InvokeResult{Agent: a, ExitCode: 3}, nil
	})
	srv := streamingServer(t, h)
	resp, err := http.Post(srv.URL+"/function/fn", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(headerStart) != "warm" {
		t.Fatalf("status = %d, start %q; want 200 warm", resp.StatusCode, resp.Header.Get(headerStart))
	}
	got := make([]byte, len(big))
	if _, err := io.ReadFull(resp.Body, got); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("first 64 KiB: %v", err)
	}
	close(proceed)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "tail" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
	if got := resp.Trailer.Get(headerExitCode); got != "3" {
		t.Errorf("trailer %s = %q, want 3", headerExitCode, got)
	}
}

// TestInvokeStdinStreamsWhileOutputFlows: with full duplex, the function can
// answer before it has read all of its stdin.
func TestInvokeStdinStreamsWhileOutputFlows(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	h.fake.onInvoke(func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
		a := runner.Agent{ID: runner.NewID(time.Now()), Start: runner.StartCold}
		inv.Started(a)
		buf := make([]byte, 5)
		for {
			n, err := inv.Body.Read(buf)
			if n > 0 {
				inv.Output.Write(bytes.ToUpper(buf[:n]))
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return runner.InvokeResult{}, err
			}
		}
		return runner.InvokeResult{Agent: a}, nil
	})
	srv := streamingServer(t, h)
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/function/fn", pr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(done)
			return
		}
		done <- resp
	}()
	io.WriteString(pw, "hello")
	resp, ok := <-done // headers come once the hold timer saw output, while stdin is still open
	if !ok {
		return
	}
	defer resp.Body.Close()
	got := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != "HELLO" {
		t.Fatalf("first echo = %q, %v", got, err)
	}
	io.WriteString(pw, "world")
	pw.Close()
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "WORLD" || resp.Trailer.Get(headerExitCode) != "0" {
		t.Errorf("rest = %q (%v), trailer %q", rest, err, resp.Trailer.Get(headerExitCode))
	}
}

// TestInvokeStreamedEndSaysWhy: a streamed answer is 200 whatever happens
// next, and a timeout, an OOM kill and the output limit all exit 137; the
// X-Podrun-Reason trailer tells them apart.
func TestInvokeStreamedEndSaysWhy(t *testing.T) {
	for _, tt := range []struct {
		state  runner.State
		reason string
		want   string
	}{
		{runner.StateExpired, runner.ReasonTTL, "expired"},
		{runner.StateFailed, runner.ReasonOOM, "oom"},
		{runner.StateFailed, runner.ReasonOutputLimit, "output_limit"},
		{runner.StateSucceeded, runner.ReasonExit, "succeeded"},
	} {
		h := newHarness(t, Options{})
		h.fake.addFunction("fn")
		proceed := make(chan struct{})
		h.fake.onInvoke(func(ctx context.Context, inv runner.Invocation) (runner.InvokeResult, error) {
			a := runner.Agent{ID: runner.NewID(time.Now()), Start: runner.StartCold}
			inv.Started(a)
			io.WriteString(inv.Output, "first\n")
			if err := waitProceed(ctx, proceed); err != nil {
				return runner.InvokeResult{}, err
			}
			inv.OutputEnded()
			a.State, a.Reason = tt.state, tt.reason
			code := 137
			if tt.state == runner.StateSucceeded {
				code = 0
			}
			return runner.InvokeResult{Agent: a, ExitCode: code}, nil
		})
		srv := streamingServer(t, h)
		resp, err := http.Post(srv.URL+"/function/fn", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		first := make([]byte, len("first\n"))
		if _, err := io.ReadFull(resp.Body, first); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, first part %q, %v", tt.want, resp.StatusCode, first, err)
		}
		close(proceed)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := resp.Trailer.Get(headerReason); got != tt.want {
			t.Errorf("%s: trailer %s = %q (trailers %v)", tt.want, headerReason, got, resp.Trailer)
		}
	}
}
