package api_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// strictDecode decodes as the server does: unknown fields are errors.
func strictDecode(t *testing.T, raw []byte, dst any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		t.Fatalf("decode %s into %T: %v", raw, dst, err)
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRequestsDecodeAsTheServerReadsThem sends every request type through the server's own
// request types and checks each value arrives.
func TestRequestsDecodeAsTheServerReadsThem(t *testing.T) {
	stdin, cpus, pids, warm, conc := "in", 0.5, int64(16), 2, 3
	t.Run("agent", func(t *testing.T) {
		in := api.AgentRequest{
			Image: "img", Command: []string{"sh", "-c", "x"}, Env: map[string]string{"A": "1"}, Stdin: &stdin,
			TTL: "5m", Limits: api.LimitsRequest{Memory: "256Mi", CPUs: &cpus, PIDs: &pids}, Labels: map[string]string{"k": "v"},
		}
		var got runner.AgentRequest
		strictDecode(t, marshal(t, in), &got)
		mem := runner.ByteSize(256 << 20)
		want := runner.AgentRequest{Image: "img", Command: in.Command, Env: in.Env, Stdin: &stdin, TTL: "5m",
			Limits: runner.LimitsRequest{Memory: &mem, CPUs: &cpus, PIDs: &pids}, Labels: in.Labels}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("agent with defaults", func(t *testing.T) {
		raw := marshal(t, api.AgentRequest{Image: "img"})
		if string(raw) != `{"image":"img"}` {
			t.Errorf("minimal request = %s, want only the image", raw)
		}
		var got runner.AgentRequest
		strictDecode(t, raw, &got)
		if !reflect.DeepEqual(got, runner.AgentRequest{Image: "img"}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("function", func(t *testing.T) {
		in := api.FunctionRequest{Image: "img", Command: []string{"cat"}, Env: map[string]string{"A": "1"},
			Limits: api.LimitsRequest{Memory: api.Bytes(32 << 20)}, Timeout: "10s", Warm: &warm, MaxConcurrency: &conc, MaxOutput: "1Mi"}
		var got runner.FunctionRequest
		strictDecode(t, marshal(t, in), &got)
		mem, out := runner.ByteSize(32<<20), runner.ByteSize(1<<20)
		want := runner.FunctionRequest{Image: "img", Command: in.Command, Env: in.Env, Limits: runner.LimitsRequest{Memory: &mem},
			Timeout: "10s", Warm: &warm, MaxConcurrency: &conc, MaxOutput: &out}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("exec", func(t *testing.T) {
		in := api.ExecRequest{Command: []string{"id"}, Stdin: "x", Timeout: "3s"}
		var got runner.ExecRequest
		strictDecode(t, marshal(t, in), &got)
		if want := (runner.ExecRequest{Command: []string{"id"}, Stdin: "x", Timeout: "3s"}); !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("patch", func(t *testing.T) {
		if raw := marshal(t, api.PatchAgentRequest{TTL: "1m"}); string(raw) != `{"ttl":"1m"}` {
			t.Errorf("patch = %s", raw)
		}
	})
}

// sameJSON checks that raw, decoded strictly into dst and encoded again, gives the same JSON.
func sameJSON(t *testing.T, raw []byte, dst any) {
	t.Helper()
	strictDecode(t, raw, dst)
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(marshal(t, dst), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%T changes the server's JSON:\n got %s\nwant %s", dst, marshal(t, got), raw)
	}
}

// TestAnswersKeepTheServerShape encodes the server's answer types and decodes them here without loss.
// Agents are rendered by the HTTP server itself; cmd/podrun's wire test checks them against a real daemon.
func TestAnswersKeepTheServerShape(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	t.Run("function", func(t *testing.T) {
		f := runner.Function{Name: "echo", Image: "img", Command: []string{"cat"}, Env: map[string]string{"A": "1"},
			Limits: runner.Limits{Memory: 32 << 20, CPUs: 0.5, PIDs: 16}, Timeout: 90 * time.Second, Warm: 1,
			MaxConcurrency: 4, MaxOutput: 6 << 20, CreatedAt: at, UpdatedAt: at}
		var got api.Function
		sameJSON(t, marshal(t, f), &got)
		if got.Timeout != "1m30s" {
			t.Errorf("timeout = %q, want 1m30s", got.Timeout)
		}
	})
	t.Run("event", func(t *testing.T) {
		sameJSON(t, marshal(t, runner.Event{ID: 7, AgentID: "a", Time: at, Type: runner.EventState, Name: "running", Detail: "d"}), &api.Event{})
	})
	t.Run("stats", func(t *testing.T) {
		sameJSON(t, marshal(t, runner.Stats{CPUPercent: 12.5, MemoryUsage: 1, MemoryLimit: 2, PIDs: 3, NetRx: 4, NetTx: 5, BlockRead: 6, BlockWrite: 7}), &api.Stats{})
	})
	t.Run("exec", func(t *testing.T) {
		sameJSON(t, marshal(t, runner.ExecResult{ExitCode: 3, Stdout: "o", Stderr: "e", Truncated: true}), &api.ExecResult{})
	})
}

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
	if err := json.Unmarshal([]byte(`true`), &s); err == nil {
		t.Error("a boolean size was accepted")
	}
}

func TestQueries(t *testing.T) {
	got := api.ListOptions{State: api.StateRunning, Function: "f", Labels: map[string]string{"b": "2", "a": "1"}, Cursor: "c", Limit: 5}.Query().Encode()
	if want := "cursor=c&function=f&label=a%3D1&label=b%3D2&limit=5&state=running"; got != want {
		t.Errorf("list query = %s, want %s", got, want)
	}
	if got := (api.ListOptions{}).Query().Encode(); got != "" {
		t.Errorf("empty list query = %q", got)
	}
	got = api.LogOptions{Follow: true, Tail: 3, Stream: api.StreamStderr}.Query().Encode()
	if want := "follow=true&stream=stderr&tail=3"; got != want {
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
		{api.ReasonExit, runner.ReasonExit}, {api.ReasonOOM, runner.ReasonOOM}, {api.ReasonError, runner.ReasonError},
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
}
