package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// TestTextIsRunAsSentOrRefused: valid UTF-8 reaches the container byte for
// byte; invalid UTF-8 is refused naming the field, never run as U+FFFD. The
// invalid body is sent raw: encoding/json, and so the client, would have
// replaced the bytes before they left.
func TestTextIsRunAsSentOrRefused(t *testing.T) {
	d := startDaemon(t, nil)
	status, _, raw := d.wireCall(t, "POST", "/v1/agents", "{\"image\":\""+testImage+"\",\"command\":[\"echo\",\"caf\xe9-\xff\"]}", nil)
	var e api.ErrorResponse
	if err := json.Unmarshal(raw, &e); err != nil || status != http.StatusBadRequest || e.Error.Field != "command[1]" {
		t.Errorf("invalid UTF-8 in a command = %d, %+v (%v); want 400 naming command[1]", status, e, err)
	}
	if page := d.listAgents(t, api.ListOptions{}); len(page.Agents) != 0 {
		t.Fatalf("%d agents exist after a refused request", len(page.Agents))
	}
	a := d.create(t, api.AgentRequest{Command: []string{"echo", "café-日本-\U0001F600"}})
	d.await(t, a.ID, 30*time.Second, api.StateSucceeded)
	if got := d.logs(t, a.ID, api.LogOptions{Stream: api.StreamStdout}); got != "café-日本-\U0001F600\n" {
		t.Errorf("the container printed %q", got)
	}
}
