package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

const hookSecret = "test-webhook-secret"

// hookReceiver records the webhook events it is sent, checking each
// signature, and answers 503 while failing is set.
type hookReceiver struct {
	t       *testing.T
	mu      sync.Mutex
	failing bool
	posts   int
	events  []api.WebhookEvent // every accepted POST, repeats included
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := verifySignature(r.Header.Get(api.HeaderSignature), body, time.Now()); err != "" {
		h.t.Errorf("webhook signature: %s", err)
		http.Error(w, err, http.StatusUnauthorized)
		return
	}
	var e api.WebhookEvent
	if err := json.Unmarshal(body, &e); err != nil {
		h.t.Errorf("webhook body %q: %v", body, err)
		return
	}
	if got := r.Header.Get(api.HeaderEventID); got != strconv.FormatInt(e.ID, 10) {
		h.t.Errorf("event id header %q, body id %d", got, e.ID)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posts++
	if h.failing {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	h.events = append(h.events, e)
}

// verifySignature checks X-Podrun-Signature the way docs/sandboxes.md tells receivers to.
func verifySignature(header string, body []byte, now time.Time) string {
	var ts, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "no timestamp in " + strconv.Quote(header)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return "timestamp too far from now: " + ts
	}
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(v1)) {
		return "bad v1 in " + strconv.Quote(header)
	}
	return ""
}

func (h *hookReceiver) set(failing bool) {
	h.mu.Lock()
	h.failing = failing
	h.mu.Unlock()
}

// unique returns the events received, each id once, in the order first received.
func (h *hookReceiver) unique() []api.WebhookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []api.WebhookEvent
	seen := map[int64]bool{}
	for _, e := range h.events {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

func (h *hookReceiver) await(t *testing.T, n int, within time.Duration) []api.WebhookEvent {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if got := h.unique(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct webhook events after %v, want %d: %v", len(h.unique()), within, n, hookNames(h.unique()))
		}
	}
}

func (h *hookReceiver) attempts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.posts
}

func hookNames(evs []api.WebhookEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type+":"+string(e.State))
	}
	return out
}

// TestWebhooksSurviveKill9: a receiver on loopback gets every state change of
// an agent, and the expiring warning before its TTL, exactly once in order
// once deduped by event id, signed; events it refused before a kill -9 of
// podrun arrive after the restart, followed by the rest (a paused agent
// taken back, resumed, warned and expired).
func TestWebhooksSurviveKill9(t *testing.T) {
	rec := &hookReceiver{t: t}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	dataDir := t.TempDir()
	conf := filepath.Join(t.TempDir(), "podrun.toml")
	err := os.WriteFile(conf, []byte(`
[invoke]
callback_backoff = "100ms"
callback_attempts = 50
[webhooks]
allow_private = true
warn_before = "4s"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PODRUN_WEBHOOK_SECRET", hookSecret)
	p := startProcess(t, dataDir, "--config", conf)
	c := p.client(t)

	a := c.create(t, api.AgentRequest{Command: []string{"sleep", "600"}, TTL: "40s", WebhookURL: srv.URL + "/hook?token=abc"})
	c.await(t, a.ID, 30*time.Second, api.StateRunning)
	rec.await(t, 2, 30*time.Second) // pending, running
	rec.set(true)
	if _, err := c.api.PauseAgent(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); rec.attempts() < 4; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the refused event was not retried")
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	rec.set(false)

	p = startProcess(t, dataDir, "--config", conf)
	defer func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}()
	c = p.client(t)
	rec.await(t, 3, 30*time.Second) // paused, sent after the restart
	if got := c.get(t, a.ID); got.State != api.StatePaused {
		t.Fatalf("paused agent after kill -9 = %s", got.State)
	}
	if _, err := c.api.ResumeAgent(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	e := c.await(t, a.ID, 60*time.Second, api.StateExpired)
	evs := rec.await(t, 6, 30*time.Second)
	want := []string{"state:pending", "state:running", "state:paused", "state:running", "expiring:running", "state:expired"}
	if got := hookNames(evs); !slices.Equal(got, want) {
		t.Fatalf("webhook events %v, want %v", got, want)
	}
	for i, ev := range evs {
		if ev.AgentID != a.ID || (i > 0 && ev.ID <= evs[i-1].ID) {
			t.Errorf("event %d = %+v, want agent %s and a growing id", i, ev, a.ID)
		}
	}
	if last := evs[5]; last.Reason != api.ReasonTTL || last.ExpiresAt == nil || !last.ExpiresAt.Time().Equal(e.ExpiresAt.Time()) {
		t.Errorf("final event %+v, want reason ttl at %v", last, e.ExpiresAt)
	}
	if warn := evs[4]; warn.Time.Time().After(e.ExpiresAt.Time().Add(-3 * time.Second)) {
		t.Errorf("expiring event at %v, want about 4s before %v", warn.Time, e.ExpiresAt)
	}
	containerGone(t, e.ContainerID, 30*time.Second)
	time.Sleep(time.Second)
	if got := rec.unique(); len(got) != 6 {
		t.Fatalf("%d distinct events in the end, want 6: %v", len(got), hookNames(got))
	}
}
