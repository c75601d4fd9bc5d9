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
	a := d.create(t, api.AgentRequest{Command: []string{"echo", "hello podrun"}})
	if a.State != api.StatePending || a.ExpiresAt == nil || !a.LimitsEnforced {
		t.Fatalf("new agent = %+v, want pending with a deadline and enforced limits", a)
	}
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	t.Logf("echo agent: POST to succeeded in %v", time.Since(start))
	if a.State != api.StateSucceeded || a.ExitCode == nil || *a.ExitCode != 0 || a.Reason != api.ReasonExit {
		t.Fatalf("agent = %s/%s exit %v, want succeeded/exit 0", a.State, a.Reason, a.ExitCode)
	}
	if a.ContainerID == "" || a.StartedAt == nil || a.FinishedAt == nil {
		t.Fatalf("agent lacks container or times: %+v", a)
	}
	if got := d.logs(t, a.ID, api.LogOptions{}); got != "hello podrun\n" {
		t.Fatalf("logs = %q, want %q", got, "hello podrun\n")
	}
	var names []string
	for _, e := range d.events(t, a.ID) {
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
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", "wc -c"}, Stdin: ptr("twelve bytes")})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	if got := strings.TrimSpace(d.logs(t, a.ID, api.LogOptions{})); got != "12" {
		t.Fatalf("wc -c of stdin = %q, want 12", got)
	}
}

func TestNonZeroExitFails(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", "echo oops >&2; exit 3"}})
	a = d.await(t, a.ID, 30*time.Second, api.StateSucceeded, api.StateFailed)
	if a.State != api.StateFailed || a.Reason != api.ReasonExit || a.ExitCode == nil || *a.ExitCode != 3 {
		t.Fatalf("agent = %s/%s exit %v, want failed/exit 3", a.State, a.Reason, a.ExitCode)
	}
	if got := d.logs(t, a.ID, api.LogOptions{Stream: api.StreamStderr}); got != "oops\n" {
		t.Fatalf("stderr = %q, want oops", got)
	}
}

func TestDeleteAnswersAtOnceThenTerminates(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sleep", "600"}})
	a = d.await(t, a.ID, 30*time.Second, api.StateRunning)
	start := time.Now()
	got := d.delete(t, a.ID) // a 202: the client takes only 2xx
	took := time.Since(start)
	t.Logf("DELETE answered in %v", took)
	if got.State != api.StateTerminating {
		t.Fatalf("DELETE = %s, want terminating", got.State)
	}
	if took > time.Second {
		t.Fatalf("DELETE took %v; it must not wait for Podman", took)
	}
	d.delete(t, a.ID) // repeated: 202 again
	a = d.await(t, a.ID, 30*time.Second, api.StateTerminated)
	if a.Reason != api.ReasonDeleted {
		t.Fatalf("reason = %q, want deleted", a.Reason)
	}
	containerGone(t, a.ContainerID, 10*time.Second)
	_, err := d.api.DeleteAgent(t.Context(), runner.NewID(time.Now()))
	if e := apiError(t, "DELETE of an unknown id", err); e.Status != http.StatusNotFound || e.Code != api.CodeNotFound {
		t.Fatalf("DELETE of an unknown id = %d %s, want 404", e.Status, e.Code)
	}
}

func TestTTLExpiresAndRemovesTheContainer(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sleep", "600"}, TTL: "2s"})
	a = d.await(t, a.ID, 30*time.Second, api.StateExpired)
	late := a.FinishedAt.Time().Sub(a.ExpiresAt.Time())
	t.Logf("expired %v after its deadline", late)
	if a.Reason != api.ReasonTTL || late < 0 || late > 5*time.Second {
		t.Fatalf("agent = %s/%s finished %v after the deadline", a.State, a.Reason, late)
	}
	containerGone(t, a.ContainerID, 10*time.Second)
}

func TestPatchMovesTheDeadline(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sleep", "600"}, TTL: "1h"})
	before := time.Now()
	got, err := d.api.SetTTL(t.Context(), a.ID, "2s")
	if err != nil {
		t.Fatalf("PATCH: %v", err)
	}
	if exp := got.ExpiresAt.Time(); exp.Before(before.Add(2*time.Second)) || exp.After(time.Now().Add(2*time.Second)) {
		t.Fatalf("expires_at = %v, want now+2s", exp)
	}
	d.await(t, a.ID, 20*time.Second, api.StateExpired)
	_, err = d.api.SetTTL(t.Context(), a.ID, "1m")
	if e := apiError(t, "PATCH of an expired agent", err); e.Status != http.StatusConflict {
		t.Fatalf("PATCH of an expired agent = %d, want 409", e.Status)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	d := startDaemon(t, nil)
	teamA := map[string]string{"team": "a"}
	for i := 0; i < 3; i++ {
		d.create(t, api.AgentRequest{Command: []string{"true"}, Labels: teamA})
	}
	other := d.create(t, api.AgentRequest{Command: []string{"true"}, Labels: map[string]string{"team": "b"}})
	page := d.listAgents(t, api.ListOptions{Labels: teamA, Limit: 2})
	if len(page.Agents) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %d agents, next %q", len(page.Agents), page.NextCursor)
	}
	page2 := d.listAgents(t, api.ListOptions{Labels: teamA, Limit: 2, Cursor: page.NextCursor})
	if len(page2.Agents) != 1 || page2.NextCursor != "" {
		t.Fatalf("second page: %d agents, next %q", len(page2.Agents), page2.NextCursor)
	}
	for _, a := range append(page.Agents, page2.Agents...) {
		if a.ID == other.ID {
			t.Fatal("label filter returned team b")
		}
	}
	d.await(t, other.ID, 30*time.Second, api.StateSucceeded)
	done := d.listAgents(t, api.ListOptions{States: []api.State{api.StateSucceeded}, Labels: map[string]string{"team": "b"}})
	if len(done.Agents) != 1 || done.Agents[0].ID != other.ID {
		t.Fatalf("state filter: %+v", done.Agents)
	}
}
