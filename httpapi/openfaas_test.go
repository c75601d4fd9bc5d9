package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// decodeAs decodes an answer's body strictly into v.
func decodeAs(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// The deploy body faas-cli sends for
// faas-cli deploy --image ... --name echo --fprocess "sh -c cat" --env A=1 --label l=v --annotation a=b
// --secret api-key --memory-limit 64Mi --cpu-limit 500m --memory-request 32Mi --cpu-request 100m.
const deployBody = `{"service":"echo","image":"localhost/podrun/busybox:latest","namespace":"openfaas-fn",
"envProcess":"sh -c cat","envVars":{"A":"1"},"secrets":["api-key"],"labels":{"l":"v"},"annotations":{"a":"b"},
"limits":{"memory":"64Mi","cpu":"500m"},"requests":{"memory":"32Mi","cpu":"100m"}}`

func TestOpenFaaSDeployDescribeListUpdateDelete(t *testing.T) {
	h := newHarness(t, Options{})
	rec := h.do(t, http.MethodPost, "/system/functions", deployBody)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("deploy = %d %s", rec.Code, rec.Body)
	}
	labels, annotations := map[string]string{"l": "v"}, map[string]string{"a": "b"}
	want := api.FunctionStatus{
		Name: "echo", Image: "localhost/podrun/busybox:latest", Namespace: "openfaas-fn", EnvProcess: "sh -c cat",
		EnvVars: map[string]string{"A": "1"}, Secrets: []string{"api-key"}, Labels: &labels, Annotations: &annotations,
		Limits:                 &api.FunctionResources{Memory: "64Mi", CPU: "500m"},
		Requests:               &api.FunctionResources{Memory: "32Mi", CPU: "100m"},
		ReadOnlyRootFilesystem: true,
	}
	check := func(what string, got api.FunctionStatus) {
		t.Helper()
		if got.CreatedAt.IsZero() {
			t.Errorf("%s: no createdAt", what)
		}
		got.CreatedAt = time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s =\n%+v\nwant\n%+v", what, got, want)
		}
	}
	var st api.FunctionStatus
	decodeAs(t, rec.Body.Bytes(), &st)
	check("deploy answer", st)
	for _, target := range []string{"/system/function/echo", "/system/function/echo?namespace=openfaas-fn", "/system/function/echo.openfaas-fn"} {
		rec = h.do(t, http.MethodGet, target, "")
		decodeAs(t, rec.Body.Bytes(), &st)
		check("GET "+target, st)
	}
	// The same function through podrun's own API.
	f, err := h.fake.Function(t.Context(), "echo")
	if err != nil || strings.Join(f.Command, "|") != "sh|-c|cat" || f.Limits.Memory != 64<<20 || f.Limits.CPUs != 0.5 {
		t.Fatalf("stored function = %+v, %v", f, err)
	}
	rec = h.do(t, http.MethodGet, "/system/functions", "")
	var list []api.FunctionStatus
	decodeAs(t, rec.Body.Bytes(), &list)
	if len(list) != 1 {
		t.Fatalf("list = %s", rec.Body)
	}
	check("list entry", list[0])

	if rec = h.do(t, http.MethodPost, "/system/functions", deployBody); rec.Code != http.StatusConflict {
		t.Errorf("second deploy = %d, want 409", rec.Code)
	}
	if rec = h.do(t, http.MethodPut, "/system/functions", strings.Replace(deployBody, `"echo"`, `"nope"`, 1)); rec.Code != http.StatusNotFound {
		t.Errorf("update of a missing function = %d, want 404", rec.Code)
	}
	// An update keeps what OpenFaaS has no word for: the warm pool size.
	if rec = h.do(t, http.MethodPost, "/system/scale-function/echo", `{"serviceName":"echo","replicas":2,"namespace":"openfaas-fn"}`); rec.Code != http.StatusAccepted {
		t.Fatalf("scale = %d %s", rec.Code, rec.Body)
	}
	update := `{"service":"echo","image":"localhost/podrun/busybox:latest","envProcess":"cat"}`
	if rec = h.do(t, http.MethodPut, "/system/functions", update); rec.Code != http.StatusAccepted {
		t.Fatalf("update = %d %s", rec.Code, rec.Body)
	}
	st = api.FunctionStatus{}
	decodeAs(t, rec.Body.Bytes(), &st)
	if st.EnvProcess != "cat" || st.Replicas != 2 || st.Labels != nil || st.Secrets != nil || st.Limits.Memory != "256Mi" {
		t.Errorf("after update = %+v", st)
	}
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"functionName":"echo","namespace":"other"}`, 404},
		{`{"functionName":"echo.other"}`, 404},
		{`{"functionName":"echo.openfaas-fn"}`, 202},
		{`{"functionName":"nope"}`, 404},
		{`{"functionName":"echo","namespace":"openfaas-fn"}`, 202},
	} {
		body, status := tt.body, tt.status
		if rec = h.do(t, http.MethodDelete, "/system/functions", body); rec.Code != status {
			t.Errorf("delete %s = %d, want %d", body, rec.Code, status)
		}
		if status == 202 {
			if _, err := h.fake.Function(t.Context(), "echo"); err == nil {
				t.Errorf("delete %s left the function", body)
			}
			h.do(t, http.MethodPost, "/system/functions", deployBody) // again, for the next case
		}
	}
}

func TestOpenFaaSDeployRefusesWhatPodrunCannotHonour(t *testing.T) {
	h := newHarness(t, Options{})
	for _, tt := range []struct{ body, field string }{
		{`{"service":"fn","image":"busybox","constraints":["node.platform.os == linux"]}`, "constraints"},
		{`{"service":"fn","image":"busybox","readOnlyRootFilesystem":false}`, "readOnlyRootFilesystem"},
		{`{"service":"Fn","image":"busybox"}`, "service"},
		{`{"service":"fn","image":"busybox","limits":{"memory":"lots"}}`, "limits.memory"},
		{`{"service":"fn","image":"busybox","requests":{"cpu":"fast"}}`, "requests.cpu"},
		{`{"service":"fn","image":"busybox","envProcess":"cat","network":"func_functions"}`, "network"},
		{`{"service":"fn","image":"busybox","envVars":{"A=B":"x"}}`, "envVars.A=B"},
		{`{"service":"fn","image":"busybox","limits":{"cpu":"9"}}`, "limits.cpu"},
		{`{"service":"fn","image":"busybox","limits":{"memory":"1Ki"}}`, "limits.memory"},
		{`{"service":"fn","image":"busybox","secrets":["a","a"]}`, "secrets[1]"},
	} {
		rec := h.do(t, http.MethodPost, "/system/functions", tt.body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tt.body, rec.Code)
			continue
		}
		if e := apiErrorOf(t, rec); e.Field != tt.field {
			t.Errorf("%s: field %q, want %q (%s)", tt.body, e.Field, tt.field, e.Message)
		}
	}
	if rec := h.do(t, http.MethodPost, "/system/functions", `{"service":"fn","image":"busybox","namespace":"dev"}`); rec.Code != http.StatusNotFound {
		t.Errorf("another namespace = %d, want 404", rec.Code)
	}
	if rec := h.do(t, http.MethodPost, "/system/functions", `{"service":"fn","image":"busybox","readOnlyRootFilesystem":true}`); rec.Code != http.StatusAccepted {
		t.Errorf("readOnlyRootFilesystem true = %d %s", rec.Code, rec.Body)
	}
}

func TestOpenFaaSScaleInfoNamespaces(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	for body, want := range map[string]int{
		`{"serviceName":"fn","replicas":1000}`: testFunctionPolicy.MaxWarm,
		`{"replicas":0}`:                       0,
		`{"serviceName":"fn","replicas":1}`:    1,
	} {
		if rec := h.do(t, http.MethodPost, "/system/scale-function/fn", body); rec.Code != http.StatusAccepted {
			t.Fatalf("scale %s = %d %s", body, rec.Code, rec.Body)
		}
		var st api.FunctionStatus
		decodeAs(t, h.do(t, http.MethodGet, "/system/function/fn", "").Body.Bytes(), &st)
		if st.Replicas != uint64(want) || st.AvailableReplicas != uint64(want) {
			t.Errorf("after %s: replicas %d/%d, want %d", body, st.AvailableReplicas, st.Replicas, want)
		}
	}
	if rec := h.do(t, http.MethodPost, "/system/scale-function/fn", `{"serviceName":"other","replicas":1}`); rec.Code != 400 {
		t.Errorf("scale naming another function = %d", rec.Code)
	}
	if rec := h.do(t, http.MethodPost, "/system/scale-function/nope", `{"replicas":1}`); rec.Code != 404 {
		t.Errorf("scale of a missing function = %d", rec.Code)
	}
	var info api.SystemInfo
	decodeAs(t, h.do(t, http.MethodGet, "/system/info", "").Body.Bytes(), &info)
	if p := info.Provider; p == nil || p.Provider != "podrun" || p.Orchestration != "podman" || p.Version == nil || p.Version.Release == "" ||
		info.Version == nil || info.Version.SHA == "" || info.Arch == "" {
		t.Errorf("info = %+v", info)
	}
	if rec := h.do(t, http.MethodGet, "/system/namespaces", ""); strings.TrimSpace(rec.Body.String()) != `["openfaas-fn"]` {
		t.Errorf("namespaces = %s", rec.Body)
	}
	for target, status := range map[string]int{
		"/system/functions?namespace=openfaas-fn": 200, "/system/functions?namespace=dev": 404,
		"/system/function/fn.dev": 404, "/system/secrets?namespace=dev": 404,
	} {
		if rec := h.do(t, http.MethodGet, target, ""); rec.Code != status {
			t.Errorf("GET %s = %d, want %d", target, rec.Code, status)
		}
	}
}

func TestOpenFaaSSecretsNeverShowTheirValue(t *testing.T) {
	h := newHarness(t, Options{})
	const value = "v4lue-never-shown"
	steps := []struct {
		method, body string
		status       int
	}{
		{http.MethodPost, `{"name":"api-key","value":"` + value + `"}`, 201},
		{http.MethodPost, `{"name":"api-key","value":"` + value + `"}`, 409},
		{http.MethodPost, `{"name":"raw","rawValue":"` + "aGVsbG8=" + `","namespace":"openfaas-fn"}`, 201},
		{http.MethodPost, `{"name":"both","value":"a","rawValue":"aGVsbG8="}`, 400},
		{http.MethodPost, `{"name":"other-ns","value":"a","namespace":"dev"}`, 404},
		{http.MethodPost, `{"name":"Bad/Name","value":"a"}`, 400},
		{http.MethodPut, `{"name":"api-key","value":"` + value + `2"}`, 202},
		{http.MethodPut, `{"name":"missing","value":"x"}`, 404},
	}
	for _, st := range steps {
		if rec := h.do(t, st.method, "/system/secrets", st.body); rec.Code != st.status {
			t.Errorf("%s %s = %d, want %d: %s", st.method, st.body, rec.Code, st.status, rec.Body)
		}
	}
	h.fake.mu.Lock()
	raw := string(h.fake.secrets["raw"])
	h.fake.mu.Unlock()
	if raw != "hello" {
		t.Errorf("rawValue stored as %q", raw)
	}
	rec := h.do(t, http.MethodGet, "/system/secrets", "")
	if got := strings.TrimSpace(rec.Body.String()); got != `[{"name":"api-key","namespace":"openfaas-fn"},{"name":"raw","namespace":"openfaas-fn"}]` {
		t.Errorf("list = %s", got)
	}
	for _, body := range []string{`{"name":"raw"}`, `{"name":"raw","namespace":"openfaas-fn"}`} {
		status := map[bool]int{true: 202, false: 404}[body == `{"name":"raw"}`]
		if rec := h.do(t, http.MethodDelete, "/system/secrets", body); rec.Code != status {
			t.Errorf("DELETE %s = %d, want %d", body, rec.Code, status)
		}
	}
	if strings.Contains(h.logs.String(), value) {
		t.Errorf("the logs carry a secret's value:\n%s", h.logs)
	}
}

func TestGatewayHeaders(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("echo")
	before := time.Now()
	for _, target := range []string{"/function/echo", "/function/echo.openfaas-fn", "/function/echo.openfaas-fn/sub/path", "/async-function/echo.openfaas-fn"} {
		for _, callID := range []string{"", "call-from-the-client"} {
			rec := h.do(t, http.MethodPost, target, "hi", "X-Call-Id", callID)
			if rec.Code != 200 && rec.Code != 202 {
				t.Fatalf("POST %s = %d %s", target, rec.Code, rec.Body)
			}
			got := rec.Header().Get(api.HeaderCallID)
			if callID != "" && got != callID || callID == "" && len(got) != 36 {
				t.Errorf("%s: X-Call-Id %q (sent %q)", target, got, callID)
			}
			if inv := h.fake.lastInvocation(); inv.Function != "echo" || inv.Env["Http_X_Call_Id"] != got {
				t.Errorf("%s: the function %s saw call id %q, answer says %q", target, inv.Function, inv.Env["Http_X_Call_Id"], got)
			}
			start, err := strconv.ParseInt(rec.Header().Get(api.HeaderStartTime), 10, 64)
			if err != nil || time.Unix(0, start).Before(before.Add(-time.Second)) || time.Unix(0, start).After(time.Now()) {
				t.Errorf("%s: X-Start-Time %q", target, rec.Header().Get(api.HeaderStartTime))
			}
			if d, err := strconv.ParseFloat(rec.Header().Get(api.HeaderDurationSeconds), 64); err != nil || d < 0 {
				t.Errorf("%s: X-Duration-Seconds %q", target, rec.Header().Get(api.HeaderDurationSeconds))
			}
		}
	}
	for target, status := range map[string]int{"/function/echo.dev": 404, "/async-function/echo.dev": 404, "/function/nope.openfaas-fn": 404} {
		if rec := h.do(t, http.MethodPost, target, "hi"); rec.Code != status {
			t.Errorf("POST %s = %d, want %d", target, rec.Code, status)
		}
	}
	if rec := h.do(t, http.MethodHead, "/healthz", ""); rec.Code != 200 { // net/http drops a HEAD's body
		t.Errorf("HEAD /healthz = %d", rec.Code)
	}
}

func TestOpenFaaSLogs(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.addFunction("fn")
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	older, newer := runner.NewID(t0), runner.NewID(t0.Add(time.Minute))
	h.fake.mu.Lock()
	h.fake.agents[older] = runner.Agent{ID: older, Function: "fn", State: runner.StateSucceeded, CreatedAt: t0}
	h.fake.agents[newer] = runner.Agent{ID: newer, Function: "fn", State: runner.StateSucceeded, CreatedAt: t0.Add(time.Minute)}
	h.fake.logs = nil
	h.fake.mu.Unlock()
	rec := h.do(t, http.MethodGet, "/system/logs?name=fn.openfaas-fn&follow=false&tail=1", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("logs = %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("tail=1 gave %d lines: %s", len(lines), rec.Body)
	}
	var m api.FunctionLogMessage
	decodeAs(t, []byte(lines[0]), &m)
	// Only stderr: the fake's stdout line "out" is a caller's answer, not the log.
	if m.Name != "fn" || m.Namespace != "openfaas-fn" || m.Text != "err" || !m.Timestamp.Equal(fakeLines[1].Time) || (m.Instance != older && m.Instance != newer) {
		t.Errorf("message = %+v", m)
	}
	if opts := h.fake.lastLogs; opts.Streams != runner.Stderr {
		t.Errorf("read streams %v, want stderr only", opts.Streams)
	}
	rec = h.do(t, http.MethodGet, "/system/logs?name=fn", "")
	if n := strings.Count(rec.Body.String(), "\n"); n != 2 {
		t.Errorf("all lines: %d, want one per invocation: %s", n, rec.Body)
	}
	for target, status := range map[string]int{
		"/system/logs?name=nope": 404, "/system/logs?name=fn&namespace=dev": 404, "/system/logs?name=fn&tail=x": 400,
		"/system/logs?name=fn&since=yesterday": 400, "/system/logs": 400,
	} {
		if rec := h.do(t, http.MethodGet, target, ""); rec.Code != status {
			t.Errorf("GET %s = %d, want %d", target, rec.Code, status)
		}
	}
}

// One function whichever API: what /v1/functions stores, /system shows, and back.
func TestOneFunctionWhicheverAPI(t *testing.T) {
	h := newHarness(t, Options{})
	rec := h.do(t, http.MethodPut, "/v1/functions/fn", `{"image":"busybox","command":["sh","-c","cat"],"secrets":["k"],"labels":{"a":"b"},"annotations":{"c":"d"}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	var st api.FunctionStatus
	decodeAs(t, h.do(t, http.MethodGet, "/system/function/fn", "").Body.Bytes(), &st)
	if st.EnvProcess != "sh -c cat" || !reflect.DeepEqual(st.Secrets, []string{"k"}) || (*st.Labels)["a"] != "b" || (*st.Annotations)["c"] != "d" {
		t.Errorf("/system shows %+v", st)
	}
	h.do(t, http.MethodPut, "/system/functions", `{"service":"fn","image":"busybox","envProcess":"cat","secrets":["j"],"labels":{"x":"y"}}`)
	var f api.Function
	decodeAs(t, h.do(t, http.MethodGet, "/v1/functions/fn", "").Body.Bytes(), &f)
	if !reflect.DeepEqual(f.Command, []string{"cat"}) || !reflect.DeepEqual(f.Secrets, []string{"j"}) || f.Labels["x"] != "y" || f.Annotations != nil {
		t.Errorf("/v1 shows %+v", f)
	}
}
