package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// TestWebhookIsSignedAndPrivateAddressesRefusedAtDial: a sent event carries
// its id, its JSON body and a signature over "<t>.<body>"; without
// allow_private the sender will not connect to a loopback address, whatever
// the URL says.
func TestWebhookIsSignedAndPrivateAddressesRefusedAtDial(t *testing.T) {
	var got struct {
		body      []byte
		sig, evID string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.body, _ = io.ReadAll(r.Body)
		got.sig, got.evID = r.Header.Get(api.HeaderSignature), r.Header.Get(api.HeaderEventID)
	}))
	defer srv.Close()
	code := 3
	e := runner.WebhookEvent{ID: 42, AgentID: "a1", URL: srv.URL, Type: runner.WebhookState, State: runner.StateFailed,
		Reason: runner.ReasonExit, ExitCode: &code, Time: time.Unix(1700000000, 0).UTC()}

	at := time.Unix(1700000100, 0)
	w := NewWebhooks(time.Second, "k3y", true)
	w.now = func() time.Time { return at }
	if err := w.SendWebhook(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	var ev api.WebhookEvent
	if err := json.Unmarshal(got.body, &ev); err != nil || ev.ID != 42 || ev.State != api.StateFailed || ev.ExitCode == nil || *ev.ExitCode != 3 {
		t.Fatalf("body %s: %v", got.body, err)
	}
	if got.evID != "42" {
		t.Errorf("%s = %q, want 42", api.HeaderEventID, got.evID)
	}
	// Sign itself is pinned by TestSignKnownVector.
	if want := Sign([]byte("k3y"), got.body, at); got.sig != want || !strings.HasPrefix(got.sig, "t=1700000100,v1=") {
		t.Errorf("signature %q, want %q", got.sig, want)
	}
	if Sign([]byte("k3y"), got.body, at.Add(time.Second)) == got.sig || Sign([]byte("other"), got.body, at) == got.sig {
		t.Error("the signature does not depend on the time and the secret")
	}

	strict := NewWebhooks(time.Second, "k3y", false)
	err := strict.SendWebhook(context.Background(), e)
	if !errors.Is(err, errPrivateAddress) {
		t.Fatalf("send to %s without allow_private = %v, want a refusal", srv.URL, err)
	}
}

// TestSignKnownVector pins the signature scheme docs/sandboxes.md documents.
func TestSignKnownVector(t *testing.T) {
	// printf '1700000000.{"id":1}' | openssl dgst -sha256 -hmac secret
	const want = "t=1700000000,v1=3dd1b9aef568d75f6790a84bd2e5dfa1f44409eef3cbdbd3f10b837376100c11"
	if got := Sign([]byte("secret"), []byte(`{"id":1}`), time.Unix(1700000000, 0)); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

// TestPauseResumeRoutesAndWebhookField: pause and resume answer the agent
// or 409; a webhook_url on loopback is refused with 400 naming the field.
func TestPauseResumeRoutesAndWebhookField(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.fake.add()
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/agents/" + id + "/resume", 409, `"code":"conflict"`},
		{"/v1/agents/" + id + "/pause", 200, `"state":"paused"`},
		{"/v1/agents/" + id + "/pause", 409, `"code":"conflict"`},
		{"/v1/agents/" + id + "/resume", 200, `"state":"running"`},
		{"/v1/agents/01m8qm0thty7kq0qrmrbcvb84e/pause", 404, `"code":"not_found"`},
	} {
		rec := h.do(t, http.MethodPost, tt.path, "")
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("POST %s = %d %s, want %d with %s", tt.path, rec.Code, rec.Body, tt.status, tt.want)
		}
	}
	rec := h.do(t, http.MethodPost, "/v1/agents", `{"image":"busybox","webhook_url":"http://127.0.0.1:8080/hook"}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "webhook_url") {
		t.Errorf("loopback webhook_url = %d %s, want 400 naming webhook_url", rec.Code, rec.Body)
	}
	rec = h.do(t, http.MethodPost, "/v1/agents", `{"image":"busybox","idle_timeout":"1m","webhook_url":"https://hooks.example.com/x"}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"idle_timeout":"1m0s"`) ||
		!strings.Contains(rec.Body.String(), `"webhook_url":"https://hooks.example.com/x"`) {
		t.Errorf("create with idle_timeout and webhook_url = %d %s", rec.Code, rec.Body)
	}
}
