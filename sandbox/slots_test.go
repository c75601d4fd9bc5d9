package sandbox

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// fakeService is a Podman API stand-in on a unix socket that counts the
// inspects in flight and can hold them, and answers attaches with an
// upgraded connection it keeps open until the test ends.
type fakeService struct {
	hold     chan struct{} // inspects wait for it to be closed, if set
	inFlight atomic.Int32
	peak     atomic.Int32
	started  atomic.Int32
	done     chan struct{} // closed at the end of the test: attach streams end
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/_ping"):
		w.Header().Set("Libpod-API-Version", "4.3.1")
		w.Write([]byte("OK"))
	case strings.HasSuffix(r.URL.Path, "/attach"):
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		buf.Flush()
		<-f.done
	case strings.HasSuffix(r.URL.Path, "/json"):
		n := f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		f.started.Add(1)
		for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
		}
		if f.hold != nil {
			select {
			case <-f.hold:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"Id":"c1","Name":"c1","State":{"Status":"running","Running":true}}`))
	default:
		http.NotFound(w, r)
	}
}

// newFakePodman serves f on a unix socket and returns a sandbox talking to it.
func newFakePodman(t *testing.T, f *fakeService, maxCalls int) *Podman {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f.done = make(chan struct{})
	srv := &http.Server{Handler: f}
	go srv.Serve(l)
	t.Cleanup(func() {
		close(f.done)
		srv.Close()
	})
	cfg := testConfig()
	cfg.URI, cfg.Runtime, cfg.MaxConcurrentCalls = "unix://"+sock, "runc", maxCalls
	p, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestMaxConcurrentCalls(t *testing.T) {
	f := &fakeService{hold: make(chan struct{})}
	p := newFakePodman(t, f, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := p.Inspect(ctx, "c1")
			errs <- err
		})
	}
	for f.started.Load() < 2 {
		if ctx.Err() != nil {
			t.Fatal("the first two inspects never reached the service")
		}
		time.Sleep(time.Millisecond)
	}
	// Both slots are taken until hold is closed: a caller with a deadline gives up waiting.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := p.Inspect(short, "c1")
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Inspect while all slots are busy = %v, want DeadlineExceeded", err)
	}
	if got := f.started.Load(); got != 2 {
		t.Errorf("%d inspects reached the service with 2 slots", got)
	}
	close(f.hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Inspect: %v", err)
		}
	}
	if got := f.peak.Load(); got != 2 {
		t.Errorf("peak calls in flight = %d, want 2", got)
	}
}

func TestAttachStreamHoldsNoSlot(t *testing.T) {
	f := &fakeService{}
	p := newFakePodman(t, f, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Each attach stays open until the test ends; with a single slot, a
	// second attach or an inspect would wait forever if a stream held it.
	for i := range 3 {
		if _, err := p.Attach(ctx, "c1", runner.Streams{}); err != nil {
			t.Fatalf("attach %d: %v", i, err)
		}
	}
	if _, err := p.Inspect(ctx, "c1"); err != nil {
		t.Errorf("Inspect with three streams open: %v", err)
	}
}
