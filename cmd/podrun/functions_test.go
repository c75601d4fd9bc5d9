package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
)

// putFunction deploys a function and expects 201 or 200.
func (d *testDaemon) putFunction(t testing.TB, name string, body map[string]any) {
	t.Helper()
	if _, ok := body["image"]; !ok {
		body["image"] = testImage
	}
	resp := d.call(t, "PUT", "/v1/functions/"+name, body, nil)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT function %s = %d: %s", name, resp.StatusCode, readAll(resp))
	}
}

// invoke posts body to a function and returns the whole answer.
func (d *testDaemon) invoke(t testing.TB, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, d.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp, out
}

func TestInvokeEchoesAMebibyteExactly(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "echo", map[string]any{"command": []string{"cat"}})
	body := make([]byte, 1<<20)
	_, _ = rand.Read(body)
	resp, out := d.invoke(t, "POST", "/v1/functions/echo/invoke", body, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(out, body) {
		t.Fatalf("echo of 1 MiB = %d, %d bytes back, equal %v", resp.StatusCode, len(out), bytes.Equal(out, body))
	}
	code := resp.Header.Get("X-Podrun-Exit-Code") + resp.Trailer.Get("X-Podrun-Exit-Code")
	if code != "0" || resp.Header.Get("X-Podrun-Start") != "cold" || !runner.ValidID(resp.Header.Get("X-Podrun-Agent-Id")) {
		t.Fatalf("headers = %v, trailer %v", resp.Header, resp.Trailer)
	}
	a := d.await(t, resp.Header.Get("X-Podrun-Agent-Id"), 10*time.Second, runner.StateSucceeded)
	containerGone(t, a.ContainerID, 10*time.Second)
}

func TestInvokeStreamsBeforeTheProcessExits(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "slow", map[string]any{"command": []string{"sh", "-c", "echo first; sleep 2; echo second"}})
	resp, err := http.Post(d.base+"/function/slow", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	first, err := rd.ReadString('\n')
	if err != nil || first != "first\n" {
		t.Fatalf("first part = %q, %v", first, err)
	}
	if s := d.get(t, resp.Header.Get("X-Podrun-Agent-Id")).State; s != runner.StateRunning {
		t.Fatalf("first part arrived when the agent was %s; it must stream while the process runs", s)
	}
	rest, _ := io.ReadAll(rd)
	if string(rest) != "second\n" || resp.StatusCode != http.StatusOK || resp.Trailer.Get("X-Podrun-Exit-Code") != "0" {
		t.Fatalf("rest = %q, status %d, trailer %v", rest, resp.StatusCode, resp.Trailer)
	}
}

func TestInvokeStatusFollowsTheOutcome(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "fail", map[string]any{"command": []string{"sh", "-c", "echo broken >&2; exit 3"}})
	d.putFunction(t, "hang", map[string]any{"command": []string{"sleep", "600"}, "timeout": "2s"})
	resp, _ := d.invoke(t, "POST", "/v1/functions/fail/invoke", nil, nil)
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("X-Podrun-Exit-Code") != "3" {
		t.Fatalf("failing function = %d, exit code header %q", resp.StatusCode, resp.Header.Get("X-Podrun-Exit-Code"))
	}
	id := resp.Header.Get("X-Podrun-Agent-Id")
	d.await(t, id, 10*time.Second, runner.StateFailed)
	if got := d.logs(t, id, "?stream=stderr"); got != "broken\npodrun-shim: exit status 3\n" {
		t.Fatalf("stderr in the agent's logs = %q", got)
	}
	start := time.Now()
	resp, _ = d.invoke(t, "POST", "/v1/functions/hang/invoke", nil, nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("timed-out function = %d after %v, want 504", resp.StatusCode, time.Since(start))
	}
	a := d.await(t, resp.Header.Get("X-Podrun-Agent-Id"), 10*time.Second, runner.StateExpired)
	containerGone(t, a.ContainerID, 10*time.Second)
	if resp, _ := d.invoke(t, "POST", "/v1/functions/nope/invoke", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown function = %d", resp.StatusCode)
	}
	for _, bad := range []string{"UPPER", "-dash", "under_score", strings.Repeat("a", 64)} {
		if resp := d.call(t, "PUT", "/v1/functions/"+bad, map[string]any{"image": testImage}, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT /v1/functions/%s = %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestOpenFaaSRouteAndRequestEnvironment(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "env", map[string]any{"command": []string{"sh", "-c",
		`echo "$Http_Method|$Http_Path|$Http_Query|$Http_Content_Type|$Http_X_Test"`}})
	resp, out := d.invoke(t, "PUT", "/function/env/a/b?x=1&y=2", []byte("{}"),
		map[string]string{"Content-Type": "application/json", "X-Test": "hello"})
	want := "PUT|/a/b|x=1&y=2|application/json|hello\n"
	if resp.StatusCode != http.StatusOK || string(out) != want {
		t.Fatalf("env = %d %q, want %q", resp.StatusCode, out, want)
	}
}

func TestAsyncInvocationKeepsItsResultAndCallsBack(t *testing.T) {
	d := startDaemon(t, nil)
	d.putFunction(t, "echo", map[string]any{"command": []string{"cat"}})
	got := make(chan http.Header, 1)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got <- r.Header
	}))
	defer srv.Close()
	resp, _ := d.invoke(t, "POST", "/async-function/echo", []byte("later"), map[string]string{"X-Callback-Url": srv.URL + "/done"})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(loc, "/v1/agents/") {
		t.Fatalf("async = %d, Location %q", resp.StatusCode, loc)
	}
	id := strings.TrimPrefix(loc, "/v1/agents/")
	d.await(t, id, 30*time.Second, runner.StateSucceeded)
	select {
	case h := <-got:
		if string(body) != "later" || h.Get("X-Podrun-Agent-Id") != id || h.Get("X-Podrun-Exit-Code") != "0" {
			t.Fatalf("callback = %q %v", body, h)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no callback")
	}
	resp, out := d.invoke(t, "GET", "/v1/agents/"+id+"/result", nil, nil)
	if resp.StatusCode != http.StatusOK || string(out) != "later" || resp.Header.Get("X-Podrun-Exit-Code") != "0" {
		t.Fatalf("result = %d %q %v", resp.StatusCode, out, resp.Header)
	}
	resp, _ = d.invoke(t, "POST", "/v1/functions/echo/invoke", []byte("x"), map[string]string{"Prefer": "respond-async"})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("Prefer: respond-async = %d", resp.StatusCode)
	}
	d.await(t, resp.Header.Get("X-Podrun-Agent-Id"), 30*time.Second, runner.StateSucceeded)
}

func TestWarmInvocationsUseFreshContainersAndThePoolRefills(t *testing.T) {
	d := startDaemon(t, nil)
	// Every container's host name is the same ("sandbox"): a mark left in /tmp tells a used container.
	d.putFunction(t, "who", map[string]any{"command": []string{"sh", "-c", "test -e /tmp/used && echo used || echo fresh; touch /tmp/used; cat"}, "warm": 2})
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
		resp, out := d.invoke(t, "POST", "/function/who", []byte("body"+strconv.Itoa(i)), nil)
		mark, rest, _ := strings.Cut(string(out), "\n")
		if resp.StatusCode != http.StatusOK || rest != "body"+strconv.Itoa(i) || resp.Header.Get("X-Podrun-Start") != "warm" {
			t.Fatalf("warm invocation %d = %d %q start %q", i, resp.StatusCode, out, resp.Header.Get("X-Podrun-Start"))
		}
		a := d.get(t, resp.Header.Get("X-Podrun-Agent-Id"))
		if mark != "fresh" || containers[a.ContainerID] {
			t.Fatalf("invocation %d ran in a %s container %s", i, mark, a.ContainerID)
		}
		containers[a.ContainerID] = true
	}
	awaitPool() // refilled after four takes
	if resp := d.call(t, "DELETE", "/v1/functions/who", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE function = %d", resp.StatusCode)
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
	d.putFunction(t, "echo", map[string]any{"command": []string{"cat"}, "max_concurrency": 16})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Go(func() {
			in := fmt.Sprintf("request %d %x", i, i*7919)
			resp, err := http.Post(d.base+"/v1/functions/echo/invoke", "text/plain", strings.NewReader(in))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(out) != in {
				errs <- fmt.Errorf("request %d: %d %q", i, resp.StatusCode, out)
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
	d.putFunction(t, "slow", map[string]any{"command": []string{"sleep", "3"}})
	first := make(chan int, 1)
	go func() {
		resp, _ := d.invoke(t, "POST", "/v1/functions/slow/invoke", nil, nil)
		first <- resp.StatusCode
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page runner.AgentPage
		d.call(t, "GET", "/v1/agents?function=slow", nil, &page)
		if len(page.Agents) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first invocation never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, _ := d.invoke(t, "POST", "/v1/functions/slow/invoke", nil, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second invocation = %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
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
		var def map[string]any
		if err := json.Unmarshal(raw, &def); err != nil {
			t.Fatalf("example %s: %v", name, err)
		}
		d.putFunction(t, name, def)
		resp, out := d.invoke(t, "POST", "/function/"+name, []byte(c.body), nil)
		if resp.StatusCode != c.status || (c.want != "" && string(out) != c.want) {
			t.Errorf("example %s = %d %q", name, resp.StatusCode, out)
		}
		t.Logf("example %s: %d %q", name, resp.StatusCode, out)
	}
}
