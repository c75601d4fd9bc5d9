package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// ShutdownGrace bounds how long Serve waits for requests in flight once its
// context ends (a synchronous invocation lasts as long as its function)
// before it cuts them off.
const ShutdownGrace = 10 * time.Second

// Listener is the API's TCP socket and the http.Server that serves it. It is
// bound by Listen before anything else starts, so a port in use fails a start
// before any container is touched, and served by Serve once the Server exists.
type Listener struct {
	ln net.Listener

	mu     sync.Mutex
	srv    *http.Server // set by Serve
	closed bool
}

// Listen binds addr ("host:port"; port 0 picks a free one). Nothing is served
// until Serve; Close releases the port.
func Listen(addr string) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return &Listener{ln: ln}, nil
}

// NewListener serves on ln, a socket already bound and listening, such as the
// one systemd passes by socket activation (LISTEN_FDS); Close closes it.
func NewListener(ln net.Listener) *Listener { return &Listener{ln: ln} }

// Addr is the bound address, with the port Listen picked for port 0.
func (l *Listener) Addr() string { return l.ln.Addr().String() }

// Serve serves s with the timeouts t until ctx ends or serving fails. When ctx
// ends it logs the cause and the requests in flight, shuts down gracefully
// within ShutdownGrace, cuts off what is still running, and logs what it
// drained. It returns nil after a graceful shutdown; Serve is called once.
func (l *Listener) Serve(ctx context.Context, s *Server, t Timeouts) error {
	srv := NewHTTPServer(l.Addr(), s.Handler(), t)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("serve: %w", http.ErrServerClosed)
	}
	l.srv = srv
	l.mu.Unlock()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	inFlight := s.InFlight()
	s.log.Info("shutting down", "cause", context.Cause(ctx).Error(), "requests_in_flight", inFlight,
		"grace", ShutdownGrace)
	s.StopStreams()
	shutdown, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if !s.EndExecs(ShutdownGrace) {
		s.log.Warn("exec sessions still ending at shutdown")
	}
	err := srv.Shutdown(shutdown)
	if err != nil {
		err = fmt.Errorf("shutdown: %w (%d requests still running were cut off)", err, s.InFlight())
		_ = srv.Close()
	} else if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = serr
	}
	s.log.Info("http server stopped", "requests_drained", inFlight-s.InFlight(), "requests_cut_off", s.InFlight())
	return err
}

// Close stops serving at once, cutting off open connections, and releases the
// port; later calls do nothing.
func (l *Listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.srv != nil {
		return l.srv.Close() // closes the listener too
	}
	return l.ln.Close()
}
