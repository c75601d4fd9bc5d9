package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// TestTextIsRunAsSentOrRefused: valid UTF-8 reaches the container byte for
// byte; invalid UTF-8 is refused naming the field, never run as U+FFFD.
func TestTextIsRunAsSentOrRefused(t *testing.T) {
	d := startDaemon(t, nil)
	resp := d.call(t, "POST", "/v1/agents", "{\"image\":\""+testImage+"\",\"command\":[\"echo\",\"caf\xe9-\xff\"]}", nil)
	var e struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(readAll(resp)), &e); err != nil || resp.StatusCode != http.StatusBadRequest || e.Error.Field != "command[1]" {
		t.Errorf("invalid UTF-8 in a command = %d, %+v (%v); want 400 naming command[1]", resp.StatusCode, e, err)
	}
	var page api.AgentPage
	if d.call(t, "GET", "/v1/agents", nil, &page); len(page.Agents) != 0 {
		t.Fatalf("%d agents exist after a refused request", len(page.Agents))
	}
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"echo", "café-日本-\U0001F600"}})
	d.await(t, a.ID, 30*time.Second, api.StateSucceeded)
	if got := d.logs(t, a.ID, "?stream=stdout"); got != "café-日本-\U0001F600\n" {
		t.Errorf("the container printed %q", got)
	}
}
