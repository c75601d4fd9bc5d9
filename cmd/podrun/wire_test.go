package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/internal/buildinfo"
)

// wireCall sends a request as written and returns the answer's status, header and raw body:
// for tests of the protocol itself (the JSON as sent, malformed input), where a typed client
// would hide what is on the wire. Every other test speaks through package client.
func (d *testDaemon) wireCall(t *testing.T, method, path, body string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, d.api.BaseURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", api.ContentTypeJSON)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

// sameShape checks that an answer decodes into its api type with no unknown field and encodes
// back to the same JSON; optional names keys the api type always writes that this server may
// leave out when false.
func sameShape(t *testing.T, what string, raw []byte, dst any, optional ...string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		t.Errorf("%s: %s does not decode into %T: %v", what, raw, dst, err)
		return
	}
	var want, got map[string]any
	again, _ := json.Marshal(dst)
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(again, &got)
	for _, k := range optional {
		if _, ok := want[k]; !ok && got[k] == false {
			delete(got, k)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %T changes the server's JSON:\n server %s\n api    %s", what, dst, raw, again)
	}
}

// TestWireMatchesTheAPIPackage checks every JSON answer of a real daemon against the types of
// package api: nothing unknown, nothing lost, nothing reshaped.
func TestWireMatchesTheAPIPackage(t *testing.T) {
	d := startDaemon(t, nil)
	status, hdr, raw := d.wireCall(t, "POST", "/v1/agents",
		`{"image":"`+testImage+`","command":["sh","-c","sleep 300"],"labels":{"k":"v"},"env":{"A":"1"},"limits":{"memory":"64Mi"}}`, nil)
	var created api.Agent
	sameShape(t, "POST /v1/agents", raw, &created)
	if status != http.StatusCreated || hdr.Get("Location") != "/v1/agents/"+created.ID || created.Limits.Memory != 64<<20 {
		t.Fatalf("create: %d %s", status, raw)
	}
	id := created.ID
	d.await(t, id, time.Minute, api.StateRunning)

	_, _, raw = d.wireCall(t, "GET", "/v1/agents/"+id, "", nil)
	var got api.Agent
	sameShape(t, "GET /v1/agents/{id}", raw, &got)
	if got.StartedAt == nil || got.State != api.StateRunning || got.Labels["k"] != "v" {
		t.Errorf("get: %s", raw)
	}
	_, _, raw = d.wireCall(t, "GET", "/v1/agents?limit=1", "", nil)
	sameShape(t, "GET /v1/agents", raw, &api.AgentPage{})
	_, _, raw = d.wireCall(t, "PATCH", "/v1/agents/"+id, `{"ttl":"10m"}`, nil)
	sameShape(t, "PATCH /v1/agents/{id}", raw, &api.Agent{})
	_, _, raw = d.wireCall(t, "GET", "/v1/agents/"+id+"/events", "", nil)
	var events api.EventList
	sameShape(t, "GET /v1/agents/{id}/events", raw, &events)
	if len(events.Events) == 0 {
		t.Errorf("events: %s", raw)
	}
	_, _, raw = d.wireCall(t, "GET", "/v1/agents/"+id+"/stats", "", nil)
	sameShape(t, "GET /v1/agents/{id}/stats", raw, &api.Stats{})
	_, _, raw = d.wireCall(t, "POST", "/v1/agents/"+id+"/exec", `{"command":["echo","hi"]}`, nil)
	var res api.ExecResult
	sameShape(t, "POST /v1/agents/{id}/exec", raw, &res)
	if res.Stdout != "hi\n" {
		t.Errorf("exec: %s", raw)
	}
	status, _, raw = d.wireCall(t, "DELETE", "/v1/agents/"+id, "", nil)
	var deleted api.Agent
	sameShape(t, "DELETE /v1/agents/{id}", raw, &deleted)
	if status != http.StatusAccepted || deleted.State != api.StateTerminating {
		t.Errorf("delete: %d %s", status, raw)
	}

	status, _, raw = d.wireCall(t, "POST", "/v1/agents", `{"image":"`+testImage+`","limits":{"memory":1}}`, nil)
	var e api.ErrorResponse
	sameShape(t, "an error", raw, &e)
	if status != http.StatusBadRequest || e.Error.Code != api.CodeInvalid || e.Error.Field != "limits.memory" {
		t.Errorf("error: %d %s", status, raw)
	}

	status, _, raw = d.wireCall(t, "PUT", "/v1/functions/echo", `{"image":"`+testImage+`","command":["cat"],"max_output":"1Mi","warm":0}`, nil)
	var fn api.Function
	sameShape(t, "PUT /v1/functions/{name}", raw, &fn)
	if status != http.StatusCreated || fn.MaxOutput != 1<<20 || fn.Timeout == "" {
		t.Errorf("put function: %d %s", status, raw)
	}
	_, _, raw = d.wireCall(t, "GET", "/v1/functions/echo", "", nil)
	sameShape(t, "GET /v1/functions/{name}", raw, &api.Function{})
	_, _, raw = d.wireCall(t, "GET", "/v1/functions", "", nil)
	sameShape(t, "GET /v1/functions", raw, &api.FunctionList{})

	status, hdr, raw = d.wireCall(t, "POST", "/v1/functions/echo/invoke", "", map[string]string{
		api.HeaderPrefer: api.PreferAsync, "Content-Type": api.ContentTypeOutput})
	var async api.Agent
	sameShape(t, "an asynchronous invocation", raw, &async)
	if status != http.StatusAccepted || hdr.Get(api.HeaderAgentID) != async.ID || hdr.Get(api.HeaderPreferenceApplied) != api.PreferAsync {
		t.Errorf("async invoke: %d %v %s", status, hdr, raw)
	}
	status, hdr, raw = d.wireCall(t, "POST", "/v1/functions/echo/invoke", "", map[string]string{"Content-Type": api.ContentTypeOutput})
	if status != http.StatusOK || hdr.Get(api.HeaderAgentID) == "" || hdr.Get(api.HeaderExitCode) != "0" || hdr.Get(api.HeaderStart) == "" {
		t.Errorf("sync invoke: %d %v %q", status, hdr, raw)
	}

	// The client's OpenFaaS route and metrics, against the real server.
	cl := d.api
	inv, err := cl.Invoke(context.Background(), "echo", strings.NewReader("via openfaas"), &client.InvokeOptions{Method: http.MethodPut, Path: "/sub/path"})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(inv.Body)
	inv.Body.Close()
	if code, err := inv.ExitCode(); err != nil || code != 0 || string(out) != "via openfaas" {
		t.Errorf("PUT /function/echo/sub/path: %q, exit %d, %v", out, code, err)
	}
	if m, err := cl.Metrics(context.Background()); err != nil || !bytes.Contains(m, []byte("podrun_")) {
		t.Errorf("metrics: %v, %.200s", err, m)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		_, _, raw = d.wireCall(t, "GET", path, "", nil)
		sameShape(t, path, raw, &api.Health{})
	}
	if v, err := cl.Version(context.Background()); err != nil || v != buildinfo.Get() {
		t.Errorf("GET /v1/version = %+v, %v; want this build, %+v", v, err, buildinfo.Get())
	}
	status, hdr, raw = d.wireCall(t, "GET", "/openapi.json", "", nil)
	var doc struct{ OpenAPI string }
	if err := json.Unmarshal(raw, &doc); err != nil || status != http.StatusOK || hdr.Get("Content-Type") != api.ContentTypeJSON || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("GET /openapi.json = %d %s, openapi %q (%v)", status, hdr.Get("Content-Type"), doc.OpenAPI, err)
	}
}

// TestWireEmptyCollectionsAndLogLines checks, on a real daemon, that an agent made without
// command, env or labels answers [] and {} (not null) from the first answer on, and that the
// NDJSON logs are api.LogLine objects.
func TestWireEmptyCollectionsAndLogLines(t *testing.T) {
	d := startDaemon(t, nil)
	for _, route := range []struct{ method, path, body string }{
		{"POST", "/v1/agents", `{"image":"` + testImage + `"}`},
		{"PUT", "/v1/functions/bare", `{"image":"` + testImage + `"}`},
	} {
		_, _, raw := d.wireCall(t, route.method, route.path, route.body, nil)
		var got map[string]json.RawMessage
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{"command": "[]", "env": "{}", "labels": "{}"} {
			if _, ok := got[k]; (ok || k != "labels") && string(got[k]) != want {
				t.Errorf("%s %s: %s = %s, want %s", route.method, route.path, k, got[k], want)
			}
		}
	}
	a := d.create(t, api.AgentRequest{Command: []string{"sh", "-c", "echo out; echo err >&2"}})
	d.await(t, a.ID, 30*time.Second, api.StateSucceeded)
	_, hdr, raw := d.wireCall(t, "GET", "/v1/agents/"+a.ID+"/logs?format=ndjson", "", nil)
	if hdr.Get("Content-Type") != api.ContentTypeNDJSON {
		t.Errorf("Content-Type = %q", hdr.Get("Content-Type"))
	}
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	for _, l := range lines {
		var line api.LogLine
		sameShape(t, "an NDJSON log line", l, &line)
		if line.Seq == 0 || line.Time.IsZero() || (line.Stream != api.StreamStdout && line.Stream != api.StreamStderr) {
			t.Errorf("log line %s", l)
		}
	}
	if len(lines) != 2 {
		t.Errorf("ndjson = %q, want 2 lines", raw)
	}
}
