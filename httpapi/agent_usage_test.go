package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// TestAgentShowsUsageAndAlertEvents: GET /v1/agents/{id} carries the
// monitor's usage (absent before the first sample) and the history its alert
// and resolved events; the harness validates both against openapi.json.
func TestAgentShowsUsageAndAlertEvents(t *testing.T) {
	h := newHarness(t, Options{})
	rec := h.do(t, http.MethodPost, "/v1/agents", `{"image":"localhost/podrun/busybox:latest","limits":{"memory":"64Mi"}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var a api.Agent
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if rec := h.do(t, http.MethodGet, "/v1/agents/"+a.ID, ""); !json.Valid(rec.Body.Bytes()) || hasKey(t, rec.Body.Bytes(), "usage") {
		t.Fatalf("before any sample: %s; want no usage", rec.Body)
	}
	at := time.Date(2026, 12, 1, 1, 2, 3, 0, time.UTC)
	h.fake.mu.Lock()
	ag := h.fake.agents[a.ID]
	ag.Usage = &runner.Usage{AgentID: a.ID, SampledAt: at, Samples: 3, MemoryBytes: 60 << 20, MemoryPeak: 61 << 20,
		MemoryByteSeconds: 1.5e8, PIDs: 2, PIDsPeak: 5, CPUPercent: 12.5, CPUSeconds: 0.75, BlockWrite: 4096,
		TmpUsed: 1 << 20, TmpSize: 64 << 20, Alerts: []string{runner.AlertMemory}}
	h.fake.agents[a.ID] = ag
	h.fake.events = map[string][]runner.Event{a.ID: {
		{ID: 2, AgentID: a.ID, Time: at, Type: runner.EventAlert, Name: runner.AlertMemory, Detail: "memory 60.0Mi of 64.0Mi limit (94%), at or above threshold 90%; value=62914560 limit=67108864"},
		{ID: 3, AgentID: a.ID, Time: at, Type: runner.EventResolved, Name: runner.AlertPIDs, Detail: "pids 2 of 32 limit (6%), below threshold 90%; value=2 limit=32"},
	}}
	h.fake.mu.Unlock()

	rec = h.do(t, http.MethodGet, "/v1/agents/"+a.ID, "")
	var got api.Agent
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Usage == nil {
		t.Fatalf("GET: %d %s (%v)", rec.Code, rec.Body, err)
	}
	want := api.Usage{SampledAt: api.Time(at), Samples: 3, MemoryBytes: 60 << 20, MemoryPeak: 61 << 20, MemoryByteSeconds: 1.5e8,
		PIDs: 2, PIDsPeak: 5, CPUPercent: 12.5, CPUSeconds: 0.75, BlockWrite: 4096, TmpUsed: 1 << 20, TmpSize: 64 << 20,
		Alerts: []string{api.AlertMemory}}
	if u := *got.Usage; !reflect.DeepEqual(u, want) || !u.SampledAt.Time().Equal(at) {
		t.Errorf("usage = %+v, want %+v", u, want)
	}
	rec = h.do(t, http.MethodGet, "/v1/agents/"+a.ID+"/events", "")
	var evs api.EventList
	if err := json.Unmarshal(rec.Body.Bytes(), &evs); err != nil || len(evs.Events) != 3 {
		t.Fatalf("events: %d %s (%v)", rec.Code, rec.Body, err)
	}
	if e := evs.Events[1]; e.Type != api.EventAlert || e.Name != api.AlertMemory {
		t.Errorf("second event = %+v, want the memory alert", e)
	}
	if e := evs.Events[2]; e.Type != api.EventResolved || e.Name != api.AlertPIDs {
		t.Errorf("third event = %+v, want the pids alert resolved", e)
	}
}

func hasKey(t *testing.T, body []byte, key string) bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	_, ok := m[key]
	return ok
}
