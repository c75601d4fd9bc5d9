package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
)

func TestInvokeEchoesAMebibyteExactly(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "echo", api.FunctionRequest{Command: []string{"cat"}})
	body := make([]byte, 1<<20)
	_, _ = rand.Read(body)
	res := d.invoke(t, "echo", body, nil)
	if res.status != http.StatusOK || !bytes.Equal(res.out, body) {
		t.Fatalf("echo of 1 MiB = %d, %d bytes back, equal %v", res.status, len(res.out), bytes.Equal(res.out, body))
	}
	if res.exitCode() != "0" || res.header.Get(api.HeaderStart) != api.StartCold || !runner.ValidID(res.agentID()) {
		t.Fatalf("headers = %v, trailer %v", res.header, res.trailer)
	}
	a := d.await(t, res.agentID(), 10*time.Second, api.StateSucceeded)
	containerGone(t, a.ContainerID, 10*time.Second)
}

func TestInvokeStreamsBeforeTheProcessExits(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "slow", api.FunctionRequest{Command: []string{"sh", "-c", "echo first; sleep 2; echo second"}})
	inv, err := d.api.Invoke(t.Context(), "slow", nil, &client.InvokeOptions{Path: "/", ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Body.Close()
	rd := bufio.NewReader(inv.Body)
	first, err := rd.ReadString('\n')
	if err != nil || first != "first\n" {
		t.Fatalf("first part = %q, %v", first, err)
	}
	if s := d.get(t, inv.AgentID).State; s != api.StateRunning {
		t.Fatalf("first part arrived when the agent was %s; it must stream while the process runs", s)
	}
	rest, _ := io.ReadAll(rd)
	if code, err := inv.ExitCode(); string(rest) != "second\n" || inv.StatusCode != http.StatusOK || err != nil || code != 0 {
		t.Fatalf("rest = %q, status %d, exit code %d (%v)", rest, inv.StatusCode, code, err)
	}
	if inv.Header.Get(api.HeaderExitCode) != "" {
		t.Fatalf("a streamed answer has its exit code in the header: %v", inv.Header)
	}
}

func TestInvokeStatusFollowsTheOutcome(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "fail", api.FunctionRequest{Command: []string{"sh", "-c", "echo broken >&2; exit 3"}})
	d.putFunction(t, "hang", api.FunctionRequest{Command: []string{"sleep", "600"}, Timeout: "2s"})
	res := d.invoke(t, "fail", nil, nil)
	if res.status != http.StatusInternalServerError || res.header.Get(api.HeaderExitCode) != "3" {
		t.Fatalf("failing function = %d, exit code header %q", res.status, res.header.Get(api.HeaderExitCode))
	}
	id := res.agentID()
	d.await(t, id, 10*time.Second, api.StateFailed)
	if got := d.logs(t, id, api.LogOptions{Stream: api.StreamStderr}); got != "broken\npodrun-shim: exit status 3\n" {
		t.Fatalf("stderr in the agent's logs = %q", got)
	}
	start := time.Now()
	res = d.invoke(t, "hang", nil, nil)
	if res.status != http.StatusGatewayTimeout {
		t.Fatalf("timed-out function = %d after %v, want 504", res.status, time.Since(start))
	}
	a := d.await(t, res.agentID(), 10*time.Second, api.StateExpired)
	containerGone(t, a.ContainerID, 10*time.Second)
	if res := d.invoke(t, "nope", nil, nil); res.status != http.StatusNotFound {
		t.Fatalf("unknown function = %d", res.status)
	}
	for _, bad := range []string{"UPPER", "-dash", "under_score", strings.Repeat("a", 64)} {
		_, _, err := d.api.PutFunction(t.Context(), bad, api.FunctionRequest{Image: testImage})
		if e := apiError(t, "PUT /v1/functions/"+bad, err); e.Status != http.StatusBadRequest {
			t.Errorf("PUT /v1/functions/%s = %d, want 400", bad, e.Status)
		}
	}
}

func TestOpenFaaSRouteAndRequestEnvironment(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "env", api.FunctionRequest{Command: []string{"sh", "-c",
		`echo "$Http_Method|$Http_Path|$Http_Query|$Http_Content_Type|$Http_X_Test"`}})
	res := d.invoke(t, "env", []byte("{}"), &client.InvokeOptions{
		Method: http.MethodPut, Path: "/a/b", Query: url.Values{"x": {"1"}, "y": {"2"}},
		ContentType: "application/json", Header: http.Header{"X-Test": {"hello"}},
	})
	want := "PUT|/a/b|x=1&y=2|application/json|hello\n"
	if res.status != http.StatusOK || string(res.out) != want {
		t.Fatalf("env = %d %q, want %q", res.status, res.out, want)
	}
}

func TestAsyncInvocationKeepsItsResultAndCallsBack(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "echo", api.FunctionRequest{Command: []string{"cat"}})
	got := make(chan http.Header, 1)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got <- r.Header
	}))
	defer srv.Close()
	async := d.invokeAsync(t, "echo", []byte("later"), &client.InvokeOptions{Path: "/", CallbackURL: srv.URL + "/done"})
	if !async.Async || async.CallbackURL != srv.URL+"/done" {
		t.Fatalf("async invocation = %+v", async)
	}
	id := async.ID
	d.await(t, id, 30*time.Second, api.StateSucceeded)
	select {
	case h := <-got:
		if string(body) != "later" || h.Get("X-Podrun-Agent-Id") != id || h.Get("X-Podrun-Exit-Code") != "0" {
			t.Fatalf("callback = %q %v", body, h)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no callback")
	}
	if r := d.result(t, id); string(r.Output) != "later" || r.ExitCode != 0 {
		t.Fatalf("result = %+v", r)
	}
	a := d.invokeAsync(t, "echo", []byte("x"), nil) // Prefer: respond-async
	d.await(t, a.ID, 30*time.Second, api.StateSucceeded)
}

func TestWarmInvocationsUseFreshContainersAndThePoolRefills(t *testing.T) {
	d := startDaemon(t, nil)
	// Every container's host name is the same ("sandbox"): a mark left in /tmp tells a used container.
	d.putFunction(t, "who", api.FunctionRequest{Command: []string{"sh", "-c", "test -e /tmp/used && echo used || echo fresh; touch /tmp/used; cat"}, Warm: ptr(2)})
	awaitPool := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			cs, err := testSandbox(t).List(t.Context(), map[string]string{runner.LabelInstance: d.Instance(), runner.LabelPool: "who"})
			running := 0
			for _, c := range cs {
				if c.Running {
					running++
				}
			}
			if err == nil && running >= 2 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("pool holds %d running containers, want 2 (err %v)", running, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	containers := map[string]bool{}
	for i := 0; i < 4; i++ {
		awaitPool()
		res := d.invoke(t, "who", []byte("body"+strconv.Itoa(i)), openFaaS)
		mark, rest, _ := strings.Cut(string(res.out), "\n")
		if res.status != http.StatusOK || rest != "body"+strconv.Itoa(i) || res.header.Get(api.HeaderStart) != api.StartWarm {
			t.Fatalf("warm invocation %d = %d %q start %q", i, res.status, res.out, res.header.Get(api.HeaderStart))
		}
		a := d.get(t, res.agentID())
		if mark != "fresh" || containers[a.ContainerID] {
			t.Fatalf("invocation %d ran in a %s container %s", i, mark, a.ContainerID)
		}
		containers[a.ContainerID] = true
	}
	awaitPool() // refilled after four takes
	if err := d.api.DeleteFunction(t.Context(), "who"); err != nil {
		t.Fatalf("DELETE function: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cs, _ := testSandbox(t).List(t.Context(), map[string]string{runner.LabelInstance: d.Instance(), runner.LabelPool: "who"})
		if len(cs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d warm containers left after DELETE of the function", len(cs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSixtyFourConcurrentInvocationsGetTheirOwnOutput(t *testing.T) {
	d := startDaemon(t, func(c *configs.Config) {
		c.Invoke.QueueWait = configs.Duration{Duration: 5 * time.Minute}
	})
	d.putFunction(t, "echo", api.FunctionRequest{Command: []string{"cat"}, MaxConcurrency: ptr(16)})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Go(func() {
			in := fmt.Sprintf("request %d %x", i, i*7919)
			inv, err := d.api.Invoke(context.Background(), "echo", strings.NewReader(in), &client.InvokeOptions{ContentType: "text/plain"})
			if err != nil {
				errs <- err
				return
			}
			defer inv.Body.Close()
			out, _ := io.ReadAll(inv.Body)
			if inv.StatusCode != http.StatusOK || string(out) != in {
				errs <- fmt.Errorf("request %d: %d %q", i, inv.StatusCode, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestOverloadAnswers429(t *testing.T) {
	d := startDaemon(t, func(c *configs.Config) {
		c.Invoke.MaxConcurrency, c.Invoke.DefaultConcurrency, c.Invoke.QueueLength = 1, 1, 0
	})
	d.putFunction(t, "slow", api.FunctionRequest{Command: []string{"sleep", "3"}})
	first := make(chan int, 1)
	go func() { first <- d.invoke(t, "slow", nil, nil).status }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if page := d.listAgents(t, api.ListOptions{Function: "slow"}); len(page.Agents) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first invocation never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	res := d.invoke(t, "slow", nil, nil)
	if res.status != http.StatusTooManyRequests || res.err == nil || res.err.Code != api.CodeBusy || res.err.RetryAfter <= 0 {
		t.Fatalf("second invocation = %d %+v, want 429 busy with Retry-After", res.status, res.err)
	}
	if code := <-first; code != http.StatusOK {
		t.Fatalf("first invocation = %d", code)
	}
}

func TestExampleFunctions(t *testing.T) {
	d := startDaemon(t, nil)
	cases := map[string]struct {
		body, want string
		status     int
	}{
		"echo":     {"hello", "hello", 200},
		"wc":       {"one two three\n", "", 200},
		"hello-go": {"abc", "", 200},
		"fail":     {"", "", 500},
	}
	for name, c := range cases {
		raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "functions", name, "function.json"))
		if err != nil {
			t.Fatalf("example %s: %v", name, err)
		}
		var def api.FunctionRequest
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields() // a function.json file holds exactly this object
		if err := dec.Decode(&def); err != nil {
			t.Fatalf("example %s: %v", name, err)
		}
		d.putFunction(t, name, def)
		res := d.invoke(t, name, []byte(c.body), openFaaS)
		if res.status != c.status || (c.want != "" && string(res.out) != c.want) {
			t.Errorf("example %s = %d %q", name, res.status, res.out)
		}
		t.Logf("example %s: %d %q", name, res.status, res.out)
	}
}
