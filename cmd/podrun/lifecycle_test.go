package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

func TestEchoAgentSucceedsAndKeepsItsLogs(t *testing.T) {
	d := startDaemon(t, nil)
	start := time.Now()
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"echo", "hello podrun"}})
	if a.State != api.StatePending || a.ExpiresAt == nil || !a.LimitsEnforced {
		t.Fatalf("new agent = %+v, want pending with a deadline and enforced limits", a)
	}
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	t.Logf("echo agent: POST to succeeded in %v", time.Since(start))
	if a.State != api.StateSucceeded || a.ExitCode == nil || *a.ExitCode != 0 || a.Reason != runner.ReasonExit {
		t.Fatalf("agent = %s/%s exit %v, want succeeded/exit 0", a.State, a.Reason, a.ExitCode)
	}
	if a.ContainerID == "" || a.StartedAt == nil || a.FinishedAt == nil {
		t.Fatalf("agent lacks container or times: %+v", a)
	}
	if got := d.logs(t, a.ID, ""); got != "hello podrun\n" {
		t.Fatalf("logs = %q, want %q", got, "hello podrun\n")
	}
	var ev api.EventList
	d.call(t, "GET", "/v1/agents/"+a.ID+"/events", nil, &ev)
	var names []string
	for _, e := range ev.Events {
		names = append(names, e.Type+":"+e.Name)
	}
	for _, want := range []string{"state:pending", "container:creating", "container:created", "container:starting",
		"state:running", "container:running", "container:stopped", "state:succeeded"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("events %v lack %s", names, want)
		}
	}
}

func TestStdinIsFedThenClosed(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", "wc -c"}, "stdin": "twelve bytes"})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	if got := strings.TrimSpace(d.logs(t, a.ID, "")); got != "12" {
		t.Fatalf("wc -c of stdin = %q, want 12", got)
	}
}

func TestNonZeroExitFails(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sh", "-c", "echo oops >&2; exit 3"}})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	if a.State != api.StateFailed || a.Reason != runner.ReasonExit || a.ExitCode == nil || *a.ExitCode != 3 {
		t.Fatalf("agent = %s/%s exit %v, want failed/exit 3", a.State, a.Reason, a.ExitCode)
	}
	if got := d.logs(t, a.ID, "?stream=stderr"); got != "oops\n" {
		t.Fatalf("stderr = %q, want oops", got)
	}
}

func TestDeleteAnswersAtOnceThenTerminates(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "600"}})
	a = d.await(t, a.ID, 30*time.Second, api.StateRunning)
	start := time.Now()
	var got api.Agent
	resp := d.call(t, "DELETE", "/v1/agents/"+a.ID, nil, &got)
	took := time.Since(start)
	t.Logf("DELETE answered %d in %v", resp.StatusCode, took)
	if resp.StatusCode != http.StatusAccepted || got.State != api.StateTerminating {
		t.Fatalf("DELETE = %d %s, want 202 terminating", resp.StatusCode, got.State)
	}
	if took > time.Second {
		t.Fatalf("DELETE took %v; it must not wait for Podman", took)
	}
	if resp := d.call(t, "DELETE", "/v1/agents/"+a.ID, nil, &got); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("repeated DELETE = %d, want 202", resp.StatusCode)
	}
	a = d.await(t, a.ID, 30*time.Second, api.StateTerminated)
	if a.Reason != runner.ReasonDeleted {
		t.Fatalf("reason = %q, want deleted", a.Reason)
	}
	containerGone(t, a.ContainerID, 10*time.Second)
	if resp := d.call(t, "DELETE", "/v1/agents/"+runner.NewID(time.Now()), nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE of an unknown id = %d, want 404", resp.StatusCode)
	}
}

func TestTTLExpiresAndRemovesTheContainer(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "600"}, "ttl": "2s"})
	a = d.await(t, a.ID, 30*time.Second, api.StateExpired)
	late := a.FinishedAt.Time().Sub(a.ExpiresAt.Time())
	t.Logf("expired %v after its deadline", late)
	if a.Reason != runner.ReasonTTL || late < 0 || late > 5*time.Second {
		t.Fatalf("agent = %s/%s finished %v after the deadline", a.State, a.Reason, late)
	}
	containerGone(t, a.ContainerID, 10*time.Second)
}

func TestPatchMovesTheDeadline(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, map[string]any{"image": testImage, "command": []string{"sleep", "600"}, "ttl": "1h"})
	var got api.Agent
	before := time.Now()
	if resp := d.call(t, "PATCH", "/v1/agents/"+a.ID, map[string]any{"ttl": "2s"}, &got); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH = %d", resp.StatusCode)
	}
	if exp := got.ExpiresAt.Time(); exp.Before(before.Add(2*time.Second)) || exp.After(time.Now().Add(2*time.Second)) {
		t.Fatalf("expires_at = %v, want now+2s", got.ExpiresAt)
	}
	d.await(t, a.ID, 20*time.Second, api.StateExpired)
	if resp := d.call(t, "PATCH", "/v1/agents/"+a.ID, map[string]any{"ttl": "1m"}, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("PATCH of an expired agent = %d, want 409", resp.StatusCode)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	d := startDaemon(t, nil)
	for i := 0; i < 3; i++ {
		d.create(t, map[string]any{"image": testImage, "command": []string{"true"}, "labels": map[string]string{"team": "a"}})
	}
	other := d.create(t, map[string]any{"image": testImage, "command": []string{"true"}, "labels": map[string]string{"team": "b"}})
	var page api.AgentPage
	d.call(t, "GET", "/v1/agents?label=team=a&limit=2", nil, &page)
	if len(page.Agents) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %d agents, next %q", len(page.Agents), page.NextCursor)
	}
	var page2 api.AgentPage
	d.call(t, "GET", "/v1/agents?label=team=a&limit=2&cursor="+page.NextCursor, nil, &page2)
	if len(page2.Agents) != 1 || page2.NextCursor != "" {
		t.Fatalf("second page: %d agents, next %q", len(page2.Agents), page2.NextCursor)
	}
	for _, a := range append(page.Agents, page2.Agents...) {
		if a.ID == other.ID {
			t.Fatal("label filter returned team b")
		}
	}
	d.await(t, other.ID, 30*time.Second, api.StateSucceeded)
	var done api.AgentPage
	d.call(t, "GET", "/v1/agents?state=succeeded&label=team=b", nil, &done)
	if len(done.Agents) != 1 || done.Agents[0].ID != other.ID {
		t.Fatalf("state filter: %+v", done.Agents)
	}
}
