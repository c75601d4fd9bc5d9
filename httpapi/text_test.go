package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestInvalidUTF8IsRefusedNamingTheField: encoding/json would turn these bytes
// into U+FFFD and the service would run something the client never sent.
func TestInvalidUTF8IsRefusedNamingTheField(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		headers                  []string
		field                    string
	}{
		{"command", "POST", "/v1/agents", "{\"image\":\"busybox\",\"command\":[\"echo\",\"caf\xe9-\xff\"]}", nil, "command[1]"},
		{"command, lone surrogate escape", "POST", "/v1/agents", `{"image":"busybox","command":["echo","\ud800"]}`, nil, "command[1]"},
		{"command, lone low surrogate", "POST", "/v1/agents", `{"image":"busybox","command":["echo","a\udc00b"]}`, nil, "command[1]"},
		{"command, high surrogate then a letter", "POST", "/v1/agents", `{"image":"busybox","command":["echo","\ud83dx"]}`, nil, "command[1]"},
		{"UTF-8-encoded surrogate", "POST", "/v1/agents", "{\"image\":\"busybox\",\"command\":[\"\xed\xa0\x80\"]}", nil, "command[0]"},
		{"env value", "POST", "/v1/agents", "{\"image\":\"busybox\",\"env\":{\"KEY\":\"\xff\"}}", nil, "env.KEY"},
		{"env key", "POST", "/v1/agents", "{\"image\":\"busybox\",\"env\":{\"K\xff\":\"v\"}}", nil, "env"},
		{"label key", "POST", "/v1/agents", "{\"image\":\"busybox\",\"labels\":{\"te\xe9m\":\"a\"}}", nil, "labels"},
		{"label value", "POST", "/v1/agents", "{\"image\":\"busybox\",\"labels\":{\"team\":\"\xe9\"}}", nil, "labels.team"},
		{"stdin", "POST", "/v1/agents", "{\"image\":\"busybox\",\"stdin\":\"\xc3\"}", nil, "stdin"},
		{"ttl", "POST", "/v1/agents", "{\"image\":\"busybox\",\"ttl\":\"1\xffm\"}", nil, "ttl"},
		{"memory", "POST", "/v1/agents", "{\"image\":\"busybox\",\"limits\":{\"memory\":\"6\xffMi\"}}", nil, "limits.memory"},
		{"function command", "PUT", "/v1/functions/fn", "{\"image\":\"busybox\",\"command\":[\"sh\",\"-c\",\"echo \xe9\"]}", nil, "command[2]"},
		{"function env", "PUT", "/v1/functions/fn", "{\"image\":\"busybox\",\"env\":{\"A\":\"\xff\"}}", nil, "env.A"},
		{"function timeout", "PUT", "/v1/functions/fn", "{\"image\":\"busybox\",\"timeout\":\"\xff\"}", nil, "timeout"},
		{"exec command", "POST", "/v1/agents/ID/exec", "{\"command\":[\"ls\",\"\xff\"]}", nil, "command[1]"},
		{"exec stdin", "POST", "/v1/agents/ID/exec", "{\"command\":[\"cat\"],\"stdin\":\"\xff\"}", nil, "stdin"},
		{"patch ttl", "PATCH", "/v1/agents/ID", "{\"ttl\":\"1\xffm\"}", nil, "ttl"},
		{"list query value", "GET", "/v1/agents?label=team%3D%E9", "", nil, "label"},
		{"list query, raw byte", "GET", "/v1/agents?state=\xff", "", nil, "state"},
		{"list query name", "GET", "/v1/agents?%FF=1", "", nil, "query"},
		{"logs query", "GET", "/v1/agents/ID/logs?stream=%FF", "", nil, "stream"},
		{"invocation header", "POST", "/function/fn", "body", []string{"X-Name", "caf\xe9"}, "headers.X-Name"},
		{"invocation path", "POST", "/function/fn/caf%E9", "body", nil, "path"},
		{"invocation query", "POST", "/function/fn?q=\xff", "body", nil, "query"},
		{"async invocation header", "POST", "/async-function/fn", "body", []string{"X-Name", "\xff"}, "headers.X-Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.fake.addFunction("fn")
			id := h.fake.add()
			path := strings.Replace(tt.path, "ID", id, 1)
			rec := h.do(t, tt.method, path, tt.body, tt.headers...)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", rec.Code, rec.Body)
			}
			if got := apiErrorOf(t, rec); got.Code != "invalid" || got.Field != tt.field {
				t.Errorf("code, field = %q, %q; want invalid, %q (message %q)", got.Code, got.Field, tt.field, got.Message)
			}
			h.fake.mu.Lock()
			calls := h.fake.calls
			h.fake.mu.Unlock()
			if len(calls) != 0 {
				t.Errorf("the service was called: %v", calls)
			}
		})
	}
}

// TestValidUTF8IsAccepted guards against false alarms: escapes that decode to
// valid text, and text that only looks like an escape.
func TestValidUTF8IsAccepted(t *testing.T) {
	for _, body := range []string{
		`{"image":"busybox","command":["echo","café","\u00e9","\ud83d\ude00","\\ud800","\"\ud83d\ude00\""]}`,
		`{"image":"busybox","env":{"\u00e9":"\u00e9"},"labels":{"k":"\u2603"}}`,
		"{\"image\":\"busybox\",\"command\":[\"日本語\"],\"stdin\":\"\\u0000\"}",
	} {
		h := newHarness(t, Options{})
		if rec := h.do(t, "POST", "/v1/agents", body); rec.Code != http.StatusCreated {
			t.Errorf("%s: status = %d, want 201; body %s", body, rec.Code, rec.Body)
		}
	}
}

func TestInvalidJSONTextNamesNestedFields(t *testing.T) {
	tests := []struct{ json, field string }{
		{"{\"a\":[{\"b\":[1,true,null,\"ok\",\"\xff\"]}]}", "a[0].b[4]"},
		{"{\"a\":{\"b\":{\"c\\u00e9\":{\"\xff\":1}}}}", "a.b.cé"},
		{" [ \"x\" , \"\xff\" ] ", "[1]"},
		{"{\"a\":1e5,\"b\":\"\\\\\\ud800\"}", "b"},
	}
	for _, tt := range tests {
		err := invalidJSONText([]byte(tt.json))
		fe, ok := err.(interface{ Error() string })
		if !ok || err == nil {
			t.Errorf("%q: no error, want one for %s", tt.json, tt.field)
			continue
		}
		if got := classify(nil, fe).field; got != tt.field {
			t.Errorf("%q: field = %q, want %q (%v)", tt.json, got, tt.field, err)
		}
	}
	if err := invalidJSONText([]byte("{\"\xff\":1}")); err == nil || classify(nil, err).field != "" {
		t.Errorf("a top-level key: %v, want an error without a field", err)
	}
}
