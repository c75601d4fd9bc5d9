package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListenerBindsFirstServesLaterAndReleasesThePort: the port is taken by
// Listen, before any Server exists; Serve answers on it; the end of Serve's
// context shuts it down and Close frees the port for the next start.
func TestListenerBindsFirstServesLaterAndReleasesThePort(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(l.Addr()); err == nil || !strings.Contains(err.Error(), "listen on "+l.Addr()) {
		t.Fatalf("second Listen on %s = %v, want an error naming the address", l.Addr(), err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx, newServer(t, newFake(), Options{}), Timeouts{}) }()
	resp, err := http.Get("http://" + l.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d %s", resp.StatusCode, body)
	}
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after a graceful shutdown = %v, want nil", err)
		}
	case <-time.After(ShutdownGrace + 5*time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close after Serve = %v", err)
	}
	again, err := Listen(l.Addr())
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	again.Close()
}

// TestClosedListenerDoesNotServe: a start that fails after Listen closes the
// listener; a Serve after that must not serve on a closed socket.
func TestClosedListenerDoesNotServe(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	err = l.Serve(context.Background(), newServer(t, newFake(), Options{}), Timeouts{})
	if !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve after Close = %v, want http.ErrServerClosed", err)
	}
}
