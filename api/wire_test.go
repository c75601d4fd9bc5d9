package api_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The server's handling of these types (requests decoded, answers encoded) is tested where it
// happens, in package httpapi (wire_test.go) and against a real daemon in cmd/podrun.

func TestTimeOnTheWire(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	std, _ := json.Marshal(at.UTC())
	if got := marshal(t, api.Time(at)); string(got) != string(std) {
		t.Errorf("Time = %s, time.Time in UTC = %s", got, std)
	}
	var back api.Time
	if err := json.Unmarshal(std, &back); err != nil || !back.Time().Equal(at) {
		t.Errorf("%s reads back as %v, %v", std, back, err)
	}
	if err := json.Unmarshal([]byte(`"yesterday"`), &back); err == nil {
		t.Error("a bad time was accepted")
	}
	if api.TimeOf(time.Time{}) != nil || api.TimeOf(at).Time() != at {
		t.Error("TimeOf")
	}
	// Unset times are null, as the server writes them.
	if got := string(marshal(t, api.Agent{}.StartedAt)); got != "null" {
		t.Errorf("unset started_at = %s", got)
	}
}

func TestSizeOnTheWire(t *testing.T) {
	for _, tt := range []struct {
		in   api.Size
		want string
	}{
		{"1048576", `1048576`},
		{"0", `0`},
		{"256Mi", `"256Mi"`},
		{"007", `"007"`}, // not a JSON number: the server reads it as a string
		{"-1", `"-1"`},
		{"1.5", `"1.5"`},
	} {
		if got := string(marshal(t, tt.in)); got != tt.want {
			t.Errorf("Size(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back api.Size
		if err := json.Unmarshal([]byte(tt.want), &back); err != nil || back != tt.in {
			t.Errorf("%s reads back as %q (%v), want %q", tt.want, back, err, tt.in)
		}
	}
	var s api.Size
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal([]byte(`true`), &s); !errors.As(err, &typeErr) {
		t.Errorf("a boolean size gave %v, want a *json.UnmarshalTypeError", err)
	}
	// encoding/json names the field of a type error, so the server's answer can.
	var req api.FunctionRequest
	if err := json.Unmarshal([]byte(`{"image":"x","limits":{"memory":[1]}}`), &req); !errors.As(err, &typeErr) || typeErr.Field != "limits.memory" {
		t.Errorf("an array for limits.memory gave %v, want a type error naming limits.memory", err)
	}
}

func TestQueries(t *testing.T) {
	got := api.ListOptions{States: []api.State{api.StateRunning, api.StatePending}, Function: "f", Labels: map[string]string{"b": "2", "a": "1"}, Cursor: "c", Limit: 5}.Query().Encode()
	if want := "cursor=c&function=f&label=a%3D1&label=b%3D2&limit=5&state=running&state=pending"; got != want {
		t.Errorf("list query = %s, want %s", got, want)
	}
	if got := (api.ListOptions{}).Query().Encode(); got != "" {
		t.Errorf("empty list query = %q", got)
	}
	got = api.LogOptions{Follow: true, Tail: 3, Stream: api.StreamStderr, Timestamps: true, Format: api.FormatNDJSON}.Query().Encode()
	if want := "follow=true&format=ndjson&stream=stderr&tail=3&timestamps=true"; got != want {
		t.Errorf("log query = %s, want %s", got, want)
	}
}

func TestStatesMatchTheServer(t *testing.T) {
	if len(api.States) != len(runner.States) {
		t.Fatalf("%d states, the server has %d", len(api.States), len(runner.States))
	}
	for i, s := range runner.States {
		if string(api.States[i]) != string(s) || api.States[i].Live() != s.Live() {
			t.Errorf("state %d = %q (live %v), the server's is %q (live %v)", i, api.States[i], api.States[i].Live(), s, s.Live())
		}
	}
}

func TestWordsMatchTheServer(t *testing.T) {
	for _, p := range [][2]string{
		{api.ReasonExit, runner.ReasonExit}, {api.ReasonOOM, runner.ReasonOOM}, {api.ReasonError, runner.ReasonError}, {api.ReasonKilled, runner.ReasonKilled},
		{api.ReasonLost, runner.ReasonLost}, {api.ReasonTTL, runner.ReasonTTL}, {api.ReasonDeleted, runner.ReasonDeleted},
		{api.ReasonOutputLimit, runner.ReasonOutputLimit}, {api.ReasonClientGone, runner.ReasonClientGone},
		{api.StartCold, runner.StartCold}, {api.StartWarm, runner.StartWarm},
		{api.EventState, runner.EventState}, {api.EventContainer, runner.EventContainer},
		{api.PhaseCreating, runner.PhaseCreating}, {api.PhaseCreated, runner.PhaseCreated}, {api.PhaseStarting, runner.PhaseStarting},
		{api.PhaseRunning, runner.PhaseRunning}, {api.PhaseStopping, runner.PhaseStopping}, {api.PhaseStopped, runner.PhaseStopped},
		{api.PhaseRemoving, runner.PhaseRemoving}, {api.PhaseRemoved, runner.PhaseRemoved}, {api.PhaseError, runner.PhaseError},
		{api.CallbackPending, runner.CallbackPending}, {api.CallbackDelivered, runner.CallbackDelivered}, {api.CallbackFailed, runner.CallbackFailed},
	} {
		if p[0] != p[1] {
			t.Errorf("api says %q where the server says %q", p[0], p[1])
		}
	}
	outcomes := []string{api.OutcomeSucceeded, api.OutcomeFailed, api.OutcomeExpired, api.OutcomeOOM,
		api.OutcomeOutputLimit, api.OutcomeClientGone, api.OutcomeError, api.OutcomeDeleted}
	if !slices.Equal(outcomes, runner.Outcomes) {
		t.Errorf("api's outcomes %v, the server's %v", outcomes, runner.Outcomes)
	}
	for _, p := range [][2]string{
		{api.StreamStdout, runner.Stdout.String()}, {api.StreamStderr, runner.Stderr.String()}, {api.StreamBoth, runner.BothStreams.String()},
	} {
		if p[0] != p[1] {
			t.Errorf("api says stream %q where the server says %q", p[0], p[1])
		}
	}
}
