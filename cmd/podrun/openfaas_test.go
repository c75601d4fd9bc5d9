package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/configs"
)

// faasCLI sends what faas-cli sends: the same routes, bodies (its
// faas-provider types, marshalled with their omitempty rules), Basic auth
// from faas-cli login on /system routes, and no auth on /function routes
// unless given a header (faas-cli invoke -H). It keeps every answer's body,
// for the check that no secret value ever appears in one.
type faasCLI struct {
	t        *testing.T
	base     string
	password string
	mu       sync.Mutex
	bodies   [][]byte
}

// faasDeployment is faas-cli's deploy body: Labels and Annotations are
// pointers to maps that are nil when no flag sets them, so they go as null.
type faasDeployment struct {
	Service                string             `json:"service"`
	Image                  string             `json:"image"`
	Namespace              string             `json:"namespace,omitempty"`
	EnvProcess             string             `json:"envProcess,omitempty"`
	EnvVars                map[string]string  `json:"envVars,omitempty"`
	Constraints            []string           `json:"constraints,omitempty"`
	Secrets                []string           `json:"secrets,omitempty"`
	Labels                 *map[string]string `json:"labels,omitempty"`
	Annotations            *map[string]string `json:"annotations,omitempty"`
	Limits                 *faasResources     `json:"limits,omitempty"`
	Requests               *faasResources     `json:"requests,omitempty"`
	ReadOnlyRootFilesystem bool               `json:"readOnlyRootFilesystem,omitempty"`
}

type faasResources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

// do sends one request; auth is "basic" (faas-cli's saved login), "" or a raw Authorization value.
func (c *faasCLI) do(method, path string, body any, auth string, header http.Header) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "faas-cli/test (openfaas; linux; amd64)")
	for k, vs := range header {
		req.Header[k] = vs
	}
	switch auth {
	case "basic":
		req.SetBasicAuth("admin", c.password)
	case "":
	default:
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, out)
	c.mu.Unlock()
	return res, out
}

// want checks the status of an answer.
func (c *faasCLI) want(method, path string, body any, status int) []byte {
	c.t.Helper()
	res, out := c.do(method, path, body, "basic", nil)
	if res.StatusCode != status {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, out, status)
	}
	return out
}

// deploy does what faas-cli deploy does: an update first, and a create when there is nothing to update.
func (c *faasCLI) deploy(d faasDeployment) api.FunctionStatus {
	c.t.Helper()
	res, out := c.do(http.MethodPut, "/system/functions", d, "basic", nil)
	if res.StatusCode == http.StatusNotFound {
		res, out = c.do(http.MethodPost, "/system/functions", d, "basic", nil)
	}
	if res.StatusCode != http.StatusAccepted {
		c.t.Fatalf("deploy %s = %d %s", d.Service, res.StatusCode, out)
	}
	return c.describe(d.Service)
}

func (c *faasCLI) describe(name string) api.FunctionStatus {
	c.t.Helper()
	var st api.FunctionStatus
	jsonFrom(c.t, string(c.want(http.MethodGet, "/system/function/"+name+"?namespace=openfaas-fn", nil, http.StatusOK)), &st)
	return st
}

// invoke is faas-cli invoke NAME [--async] with podrun's token in a header, as its -H passes one.
func (c *faasCLI) invoke(route, name, body string, header http.Header) (*http.Response, []byte) {
	c.t.Helper()
	h := http.Header{"Content-Type": {"text/plain"}, "Authorization": {"Bearer " + c.password}}
	for k, v := range header {
		h[k] = v
	}
	req, err := http.NewRequest(http.MethodPost, c.base+route+name, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header = h
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, out)
	c.mu.Unlock()
	return res, out
}

const faasToken = "faas-t0ken-for-tests"

func startFaaSDaemon(t *testing.T) (*testDaemon, *faasCLI, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	d := startDaemonLog(t, func(c *configs.Config) { c.Token = faasToken },
		slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	api, err := client.New(d.Addr(), faasToken)
	if err != nil {
		t.Fatal(err)
	}
	d.api = api
	return d, &faasCLI{t: t, base: "http://" + d.Addr(), password: faasToken}, logs
}

// TestFaaSCLIFlow drives podrun as faas-cli does: login, version, secret
// create and list, deploy, list, describe, invoke with and without the
// namespace, async with a callback, logs, remove, secret remove.
func TestFaaSCLIFlow(t *testing.T) {
	d, fc, _ := startFaaSDaemon(t)
	// faas-cli login: GET /system/functions with Basic auth must answer 200.
	if res, _ := fc.do(http.MethodGet, "/system/functions", nil, "basic", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("login = %d", res.StatusCode)
	}
	bad := &faasCLI{t: t, base: fc.base, password: "wrong"}
	if res, _ := bad.do(http.MethodGet, "/system/functions", nil, "basic", nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password = %d", res.StatusCode)
	}
	var info api.SystemInfo
	jsonFrom(t, string(fc.want(http.MethodGet, "/system/info", nil, 200)), &info)
	if info.Provider == nil || info.Provider.Provider != "podrun" || info.Provider.Orchestration != "podman" || info.Version == nil || info.Version.SHA == "" {
		t.Fatalf("info = %+v", info)
	}
	if got := strings.TrimSpace(string(fc.want(http.MethodGet, "/system/namespaces", nil, 200))); got != `["openfaas-fn"]` {
		t.Fatalf("namespaces = %s", got)
	}

	labels, annotations := map[string]string{"team": "a"}, map[string]string{"note": "x y"}
	echo := faasDeployment{Service: "echo", Image: testImage, EnvProcess: "cat", EnvVars: map[string]string{"GREETING": "hi"},
		Labels: &labels, Annotations: &annotations, Limits: &faasResources{Memory: "64Mi", CPU: "500m"},
		Requests: &faasResources{Memory: "32Mi", CPU: "100m"}, Namespace: "openfaas-fn"}
	got := fc.deploy(echo)
	want := api.FunctionStatus{Name: "echo", Image: testImage, Namespace: "openfaas-fn", EnvProcess: "cat",
		EnvVars: echo.EnvVars, Labels: &labels, Annotations: &annotations,
		Limits: &api.FunctionResources{Memory: "64Mi", CPU: "500m"}, Requests: &api.FunctionResources{Memory: "32Mi", CPU: "100m"},
		ReadOnlyRootFilesystem: true, CreatedAt: got.CreatedAt}
	if !reflect.DeepEqual(got, want) || time.Since(got.CreatedAt) > time.Minute {
		t.Fatalf("describe =\n%+v\nwant\n%+v", got, want)
	}
	// One function whichever API: podrun's own shows what OpenFaaS deployed.
	if f, err := d.api.Function(t.Context(), "echo"); err != nil || strings.Join(f.Command, " ") != "cat" || f.Limits.Memory != 64<<20 || f.Limits.CPUs != 0.5 || f.Env["GREETING"] != "hi" {
		t.Fatalf("GET /v1/functions/echo = %+v, %v", f, err)
	}

	for _, name := range []string{"echo", "echo.openfaas-fn"} {
		res, out := fc.invoke("/function/", name, "hello "+name, nil)
		if res.StatusCode != 200 || string(out) != "hello "+name || res.Header.Get(api.HeaderCallID) == "" ||
			res.Header.Get(api.HeaderStartTime) == "" || res.Header.Get(api.HeaderDurationSeconds) == "" {
			t.Fatalf("invoke %s = %d %q %v", name, res.StatusCode, out, res.Header)
		}
	}
	if res, _ := fc.invoke("/function/", "echo.other-ns", "x", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("invoke in another namespace = %d", res.StatusCode)
	}
	// Without the header, as faas-cli invoke sends it, a server with a token refuses.
	if res, _ := fc.invoke("/function/", "echo", "x", http.Header{"Authorization": nil}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("invoke without auth = %d", res.StatusCode)
	}

	callbacks := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		callbacks <- r.Header.Get(api.HeaderCallID) + "|" + string(b)
	}))
	defer srv.Close()
	res, _ := fc.invoke("/async-function/", "echo.openfaas-fn", "later", http.Header{"X-Callback-Url": {srv.URL}, api.HeaderCallID: {"call-1"}})
	if res.StatusCode != http.StatusAccepted || res.Header.Get(api.HeaderCallID) != "call-1" {
		t.Fatalf("async invoke = %d %v", res.StatusCode, res.Header)
	}
	select {
	case cb := <-callbacks:
		if !strings.HasSuffix(cb, "|later") {
			t.Fatalf("callback = %q", cb)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no callback")
	}
	var list []api.FunctionStatus
	jsonFrom(t, string(fc.want(http.MethodGet, "/system/functions?namespace=openfaas-fn", nil, 200)), &list)
	if len(list) != 1 || list[0].Name != "echo" || list[0].InvocationCount < 2 {
		t.Fatalf("list = %+v", list)
	}

	// faas-cli logs: the invocations' stderr, one JSON message per line.
	fc.deploy(faasDeployment{Service: "noisy", Image: testImage, EnvProcess: "ls /nonexistent-path"})
	res, _ = fc.invoke("/function/", "noisy", "", nil)
	noisyID := res.Header.Get(api.HeaderAgentID)
	q := url.Values{"name": {"noisy"}, "namespace": {"openfaas-fn"}, "follow": {"false"}, "tail": {"5"}}
	out := fc.want(http.MethodGet, "/system/logs?"+q.Encode(), nil, 200)
	var msg api.FunctionLogMessage
	jsonFrom(t, strings.TrimSpace(string(out)), &msg)
	if msg.Name != "noisy" || msg.Namespace != "openfaas-fn" || msg.Instance != noisyID || !strings.Contains(msg.Text, "nonexistent-path") ||
		time.Since(msg.Timestamp) > time.Minute || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("logs = %s", out)
	}
	fc.followOneLine(t, "noisy")

	// faas-cli remove echo
	fc.want(http.MethodDelete, "/system/functions", api.DeleteFunctionRequest{FunctionName: "echo", Namespace: "openfaas-fn"}, http.StatusAccepted)
	if res, _ := fc.do(http.MethodGet, "/system/function/echo", nil, "basic", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("describe after remove = %d", res.StatusCode)
	}
	fc.want(http.MethodDelete, "/system/functions", api.DeleteFunctionRequest{FunctionName: "echo", Namespace: "openfaas-fn"}, http.StatusNotFound)
}

// followOneLine is faas-cli logs NAME (which follows): a new invocation's line arrives while the answer is open.
func (c *faasCLI) followOneLine(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/system/logs?name="+name+"&follow=true&since="+url.QueryEscape(time.Now().Add(time.Second).Format(time.RFC3339)), nil)
	req.SetBasicAuth("admin", c.password)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("follow = %v, %v", res, err)
	}
	defer res.Body.Close()
	go func() {
		time.Sleep(time.Second)
		c.invoke("/function/", name, "", nil)
	}()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	var msg api.FunctionLogMessage
	if err != nil || json.Unmarshal([]byte(line), &msg) != nil || !strings.Contains(msg.Text, "nonexistent-path") {
		t.Fatalf("followed line = %q, %v", line, err)
	}
}

// TestFaaSSecretsAndWarmScaling: a secret created through /system/secrets is
// readable inside the function at /var/openfaas/secrets/NAME, cold and warm,
// and appears in no API answer, no log line and not in podrun's database;
// scaling to 2 fills the pool and the next invocation is served warm.
func TestFaaSSecretsAndWarmScaling(t *testing.T) {
	d, fc, logs := startFaaSDaemon(t)
	const value = "s3cret-v4lue-0f-the-test"
	fc.want(http.MethodPost, "/system/secrets", api.Secret{Name: "api-key", Value: value, Namespace: "openfaas-fn"}, http.StatusCreated)
	fc.want(http.MethodPost, "/system/secrets", api.Secret{Name: "api-key", Value: value}, http.StatusConflict)
	if got := strings.TrimSpace(string(fc.want(http.MethodGet, "/system/secrets?namespace=openfaas-fn", nil, 200))); got != `[{"name":"api-key","namespace":"openfaas-fn"}]` {
		t.Fatalf("secret list = %s", got)
	}
	st := fc.deploy(faasDeployment{Service: "reader", Image: testImage, EnvProcess: "sha256sum /var/openfaas/secrets/api-key", Secrets: []string{"api-key"}})
	if !reflect.DeepEqual(st.Secrets, []string{"api-key"}) {
		t.Fatalf("describe secrets = %v", st.Secrets)
	}
	// The function proves it read the value without printing it: podrun keeps a function's output as its log.
	read := func(v string) string {
		sum := sha256.Sum256([]byte(v))
		return hex.EncodeToString(sum[:]) + "  /var/openfaas/secrets/api-key\n"
	}
	res, out := fc.invoke("/function/", "reader", "", nil)
	if res.StatusCode != 200 || string(out) != read(value) || res.Header.Get(api.HeaderStart) != api.StartCold {
		t.Fatalf("cold read = %d %q %s", res.StatusCode, out, res.Header.Get(api.HeaderStart))
	}

	// faas-cli's scale body; podrun's warm pool fills to 2 and serves warm.
	fc.want(http.MethodPost, "/system/scale-function/reader", api.ScaleServiceRequest{ServiceName: "reader", Replicas: 2, Namespace: "openfaas-fn"}, http.StatusAccepted)
	deadline := time.Now().Add(60 * time.Second)
	for st = fc.describe("reader"); st.AvailableReplicas != 2; st = fc.describe("reader") {
		if time.Now().After(deadline) {
			t.Fatalf("pool = %d of %d after a minute", st.AvailableReplicas, st.Replicas)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st.Replicas != 2 {
		t.Fatalf("replicas = %d", st.Replicas)
	}
	res, out = fc.invoke("/function/", "reader.openfaas-fn", "", nil)
	if res.StatusCode != 200 || string(out) != read(value) || res.Header.Get(api.HeaderStart) != api.StartWarm {
		t.Fatalf("warm read = %d %q %s", res.StatusCode, out, res.Header.Get(api.HeaderStart))
	}
	// A changed value reaches the next invocation, warm containers included.
	fc.want(http.MethodPut, "/system/secrets", api.Secret{Name: "api-key", Value: value + "-2"}, http.StatusAccepted)
	if _, out = fc.invoke("/function/", "reader", "", nil); string(out) != read(value+"-2") {
		t.Fatalf("after the update the function reads %q", out)
	}
	fc.want(http.MethodPost, "/system/scale-function/reader", api.ScaleServiceRequest{ServiceName: "reader", Replicas: 0}, http.StatusAccepted)

	fc.want(http.MethodDelete, "/system/secrets", api.Secret{Name: "api-key", Namespace: "openfaas-fn"}, http.StatusConflict)
	fc.want(http.MethodDelete, "/system/functions", api.DeleteFunctionRequest{FunctionName: "reader"}, http.StatusAccepted)
	fc.want(http.MethodDelete, "/system/secrets", api.Secret{Name: "api-key", Namespace: "openfaas-fn"}, http.StatusAccepted)
	if got := strings.TrimSpace(string(fc.want(http.MethodGet, "/system/secrets", nil, 200))); got != `[]` {
		t.Fatalf("secret list after remove = %s", got)
	}

	// Where the value must never be: any answer, the daemon's log, podrun's database.
	fc.mu.Lock()
	bodies := fc.bodies
	fc.mu.Unlock()
	for _, b := range bodies {
		if bytes.Contains(b, []byte(value)) {
			t.Errorf("an answer carries the secret: %s", b)
		}
	}
	page := d.listAgents(t, api.ListOptions{Function: "reader"})
	for _, a := range page.Agents {
		if b, _ := json.Marshal(a); bytes.Contains(b, []byte(value)) {
			t.Errorf("agent %s carries the secret: %s", a.ID, b)
		}
	}
	if strings.Contains(logs.String(), value) {
		t.Errorf("the daemon's log carries the secret")
	}
	files, _ := filepath.Glob(filepath.Join(d.cfg.DataDir, "podrun.db*"))
	if len(files) == 0 {
		t.Fatal("no database files to check")
	}
	for _, f := range files {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(value)) {
			t.Errorf("%s holds the secret", f)
		}
	}
}

// TestInvocationHeadersReachTheProcessButAreNotStored: a caller's cookie and
// API key reach the function as Http_* variables, but neither GET
// /v1/agents/:id nor the database keeps them.
func TestInvocationHeadersReachTheProcessButAreNotStored(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "hdr", api.FunctionRequest{Command: []string{"sh", "-c", `echo "$Http_Cookie|$Http_X_Api_Key"`}})
	const cookie, key = "session=c00kie-of-a-caller", "api-key-of-a-caller"
	res := d.invoke(t, "hdr", nil, &client.InvokeOptions{Path: "/", Header: http.Header{"Cookie": {cookie}, "X-Api-Key": {key}}})
	if res.status != 200 || string(res.out) != cookie+"|"+key+"\n" {
		t.Fatalf("invoke = %d %q", res.status, res.out)
	}
	a := d.await(t, res.agentID(), 10*time.Second, api.StateSucceeded)
	if b, _ := json.Marshal(a); bytes.Contains(b, []byte("c00kie")) || bytes.Contains(b, []byte(key)) {
		t.Fatalf("GET /v1/agents/%s shows the request's headers: %s", a.ID, b)
	}
	files, _ := filepath.Glob(filepath.Join(d.cfg.DataDir, "podrun.db*"))
	for _, f := range files {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte("c00kie")) || bytes.Contains(b, []byte(key)) {
			t.Errorf("%s holds the request's headers", f)
		}
	}
}

// TestCLISecretsAndScale: podrun secret create/ls/update/rm, fn deploy --secret and fn scale,
// with the built binary.
func TestCLISecretsAndScale(t *testing.T) {
	d := startDaemon(t, nil)
	d.podrun(t, "cli-s3cret", "secret", "create", "cli-key").want(t, 0, "secret create")
	d.podrun(t, "again", "secret", "create", "cli-key").want(t, 125, "secret create again")
	if r := d.podrun(t, "", "secret", "ls").want(t, 0, "secret ls"); r.stdout != "cli-key\n" {
		t.Fatalf("secret ls: %s", r)
	}
	d.podrun(t, "", "fn", "deploy", "reader", "--image", testImage, "--secret", "cli-key", "--", "cat", "/var/openfaas/secrets/cli-key").want(t, 0, "fn deploy --secret")
	if r := d.podrun(t, "", "fn", "invoke", "reader").want(t, 0, "fn invoke"); r.stdout != "cli-s3cret" {
		t.Fatalf("fn invoke: %s", r)
	}
	if r := d.podrun(t, "", "fn", "scale", "reader", "1").want(t, 0, "fn scale"); !strings.Contains(r.stdout, "keeps 1 warm") {
		t.Fatalf("fn scale: %s", r)
	}
	d.podrun(t, "n3w", "secret", "update", "cli-key").want(t, 0, "secret update")
	if r := d.podrun(t, "", "fn", "invoke", "reader").want(t, 0, "fn invoke after update"); r.stdout != "n3w" {
		t.Fatalf("fn invoke after update: %s", r)
	}
	d.podrun(t, "", "secret", "rm", "cli-key").want(t, 125, "secret rm while in use")
	d.podrun(t, "", "fn", "rm", "reader").want(t, 0, "fn rm")
	d.podrun(t, "", "secret", "rm", "cli-key").want(t, 0, "secret rm")
	d.podrun(t, "", "secret", "rm", "cli-key").want(t, 1, "secret rm again")
}
