package httpapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/runner"
)

// execServer serves the API over a real listener (a WebSocket needs one) with one running agent.
func execServer(t *testing.T) (*fakeService, *httptest.Server, string) {
	t.Helper()
	fake := newFake()
	srv := httptest.NewServer(newServer(t, fake, Options{}).Handler())
	t.Cleanup(srv.Close)
	id := runner.NewID(time.Now())
	fake.agents[id] = runner.Agent{ID: id, State: runner.StateRunning, ContainerID: "c1"}
	return fake, srv, id
}

func execClient(t *testing.T, srv *httptest.Server) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExecWebSocketStdinToStdout(t *testing.T) {
	_, srv, id := execServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := execClient(t, srv).ExecStream(ctx, id, api.ExecMessage{Command: []string{"cat"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	io.WriteString(s, "hello ")
	io.WriteString(s, "world")
	if err := s.CloseStdin(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, err := s.Wait(ctx, &out, nil)
	if err != nil || code != 0 || out.String() != "hello world" {
		t.Errorf("Wait = %d, %v, stdout %q; want 0 and the stdin", code, err, out.String())
	}
}

func TestExecWebSocketStderrAndExitCode(t *testing.T) {
	_, srv, id := execServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := execClient(t, srv).ExecStream(ctx, id, api.ExecMessage{Command: []string{"fail"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev, err := s.Recv(ctx)
	if err != nil || ev.Stream != api.ExecStderr || string(ev.Data) != "oops\n" {
		t.Fatalf("Recv = %+v, %v; want oops on stderr", ev, err)
	}
	ev, err = s.Recv(ctx)
	if err != nil || !ev.Exited || ev.ExitCode != 3 {
		t.Fatalf("Recv = %+v, %v; want exit 3", ev, err)
	}
}

func TestExecWebSocketResize(t *testing.T) {
	_, srv, id := execServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := execClient(t, srv).ExecStream(ctx, id, api.ExecMessage{Command: []string{"term"}, TTY: true, Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next := func() string {
		t.Helper()
		ev, err := s.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(ev.Data)
	}
	if got := next(); got != "tty true 24x80\n" {
		t.Errorf("first output %q", got)
	}
	if err := s.Resize(ctx, 50, 132); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "size 50x132\n" {
		t.Errorf("after resize %q", got)
	}
	s.CloseStdin(ctx)
	if code, err := s.Wait(ctx, nil, nil); err != nil || code != 0 {
		t.Errorf("Wait = %d, %v", code, err)
	}
}

// TestExecWebSocketRefusedBeforeUpgrade: a missing or finished agent is an ordinary error answer.
func TestExecWebSocketRefusedBeforeUpgrade(t *testing.T) {
	fake, srv, _ := execServer(t)
	done := runner.NewID(time.Now())
	fake.agents[done] = runner.Agent{ID: done, State: runner.StateSucceeded}
	for _, tc := range []struct {
		id     string
		status int
	}{{runner.NewID(time.Now()), http.StatusNotFound}, {done, http.StatusConflict}} {
		_, err := execClient(t, srv).ExecStream(context.Background(), tc.id, api.ExecMessage{Command: []string{"cat"}})
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != tc.status {
			t.Errorf("ExecStream(%s) = %v, want status %d", tc.id, err, tc.status)
		}
	}
}

// TestExecWebSocketBadMessages: each bad message gets an "error" message naming what is wrong
// and a policy-violation close, and the exec (if started) ends.
func TestExecWebSocketBadMessages(t *testing.T) {
	_, srv, id := execServer(t)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/agents/" + id + "/exec"
	text := func(s string) func(*websocket.Conn) error {
		return func(c *websocket.Conn) error { return c.Write(context.Background(), websocket.MessageText, []byte(s)) }
	}
	binaryMsg := func(b ...byte) func(*websocket.Conn) error {
		return func(c *websocket.Conn) error { return c.Write(context.Background(), websocket.MessageBinary, b) }
	}
	started := func(then func(*websocket.Conn) error, tty bool) func(*websocket.Conn) error {
		return func(c *websocket.Conn) error {
			start := `{"type":"start","command":["sleep"]}`
			if tty {
				start = `{"type":"start","command":["sleep"],"tty":true}`
			}
			if err := text(start)(c); err != nil {
				return err
			}
			return then(c)
		}
	}
	for _, tc := range []struct {
		name  string
		send  func(*websocket.Conn) error
		field string
		msg   string
	}{
		{"binary first", binaryMsg(0, 'x'), "type", "first message must be a JSON text message"},
		{"not JSON", text(`command: sh`), "", "must be one JSON ExecMessage"},
		{"unknown field", text(`{"type":"start","command":["sh"],"cmd":"sh"}`), "", "unknown field"},
		{"resize first", text(`{"type":"resize","rows":1,"cols":1}`), "type", `must be of type "start"`},
		{"no command", text(`{"type":"start"}`), "command", "is required"},
		{"relative workdir", text(`{"type":"start","command":["sh"],"workdir":"tmp"}`), "workdir", "absolute"},
		{"size without tty", text(`{"type":"start","command":["sh"],"rows":10,"cols":10}`), "rows", "needs tty"},
		{"bad timeout", text(`{"type":"start","command":["sh"],"timeout":"soon"}`), "timeout", "duration"},
		{"lone surrogate", text(`{"type":"start","command":["sh","\ud800"]}`), "command[1]", "UTF-8"},
		{"resize without tty", started(text(`{"type":"resize","rows":5,"cols":5}`), false), "type", "needs an exec started with tty"},
		{"empty resize", started(text(`{"type":"resize"}`), true), "rows", "both positive"},
		{"unknown type", started(text(`{"type":"kill"}`), false), "type", `not "kill"`},
		{"stdout from client", started(binaryMsg(1, 'x'), false), "", "stdin byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if err := tc.send(c); err != nil {
				t.Fatal(err)
			}
			typ, data, err := c.Read(ctx)
			if err != nil || typ != websocket.MessageText {
				t.Fatalf("Read = %v, %q, %v; want an error message", typ, data, err)
			}
			var m api.ExecMessage
			if err := json.Unmarshal(data, &m); err != nil || m.Type != api.ExecError || m.Error == nil {
				t.Fatalf("got %s, want an error message", data)
			}
			if m.Error.Code != api.CodeInvalid || m.Error.Field != tc.field || !strings.Contains(m.Error.Message, tc.msg) {
				t.Errorf("error = %+v, want code invalid, field %q, message with %q", *m.Error, tc.field, tc.msg)
			}
			_, _, err = c.Read(ctx)
			if got := websocket.CloseStatus(err); got != api.ExecClosePolicy {
				t.Errorf("close status %d (%v), want %d", got, err, api.ExecClosePolicy)
			}
		})
	}
}

// TestExecWebSocketCloseEndsTheExec: the client closing the socket cancels the exec, which is
// what kills the command's tree (proven on real Podman in cmd/podrun).
func TestExecWebSocketCloseEndsTheExec(t *testing.T) {
	fake, srv, id := execServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := execClient(t, srv).ExecStream(ctx, id, api.ExecMessage{Command: []string{"sleep"}})
	if err != nil {
		t.Fatal(err)
	}
	for fake.called("ExecStream") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	for {
		fake.mu.Lock()
		n := fake.execsCanceled
		fake.mu.Unlock()
		if n == 1 {
			return
		}
		if ctx.Err() != nil {
			t.Fatal("the exec did not end when its client closed the socket")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExecWebSocketEndExecs(t *testing.T) {
	fake := newFake()
	s := newServer(t, fake, Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	id := runner.NewID(time.Now())
	fake.agents[id] = runner.Agent{ID: id, State: runner.StateRunning, ContainerID: "c1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := execClient(t, srv).ExecStream(ctx, id, api.ExecMessage{Command: []string{"sleep"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for fake.called("ExecStream") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ended := make(chan error, 1)
	go func() { // the client reads, as a client does, so the close handshake completes
		_, err := sess.Recv(ctx)
		ended <- err
	}()
	if !s.EndExecs(5 * time.Second) {
		t.Fatal("EndExecs timed out")
	}
	fake.mu.Lock()
	canceled := fake.execsCanceled
	fake.mu.Unlock()
	if canceled != 1 {
		t.Errorf("execs canceled = %d, want 1", canceled)
	}
	err = <-ended
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != api.CodeUnavailable {
		t.Errorf("the session ended with %v, want an unavailable error message", err)
	}
	_, err = execClient(t, srv).ExecStream(ctx, id, api.ExecMessage{Command: []string{"sleep"}})
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable {
		t.Errorf("a session after EndExecs: %v, want 503", err)
	}
}

// TestExecStreamedPOST: ?stream=true answers Docker-multiplexed frames and the exit code in a
// trailer; a bad stream value or request is an ordinary 400 before anything runs.
func TestExecStreamedPOST(t *testing.T) {
	_, srv, id := execServer(t)
	post := func(query, body string) *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/agents/"+id+"/exec"+query, api.ContentTypeJSON, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := post("?stream=true", `{"command":["fail"]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != api.ContentTypeMultiplexed {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	raw, _ := io.ReadAll(resp.Body)
	want := append([]byte{api.ExecStderr, 0, 0, 0}, binary.BigEndian.AppendUint32(nil, 5)...)
	if !bytes.Equal(raw, append(want, "oops\n"...)) {
		t.Errorf("body % x, want one stderr frame of oops", raw)
	}
	if got := resp.Trailer.Get(api.HeaderExitCode); got != "3" {
		t.Errorf("exit code trailer %q, want 3", got)
	}
	if got := resp.Trailer.Get(api.HeaderReason); got != api.OutcomeFailed {
		t.Errorf("reason trailer %q", got)
	}

	var stdout bytes.Buffer
	code, err := execClient(t, srv).ExecStreamHTTP(context.Background(), id, api.ExecRequest{Command: []string{"cat"}, Stdin: "in"}, &stdout, nil)
	if err != nil || code != 0 || stdout.String() != "in" {
		t.Errorf("ExecStreamHTTP = %d, %v, %q", code, err, stdout.String())
	}

	for _, tc := range []struct{ query, body, field string }{
		{"?stream=maybe", `{"command":["cat"]}`, "stream"},
		{"?stream=true", `{"command":["cat"],"timeout":"48h"}`, "timeout"},
	} {
		resp := post(tc.query, tc.body)
		var e api.ErrorResponse
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != 400 || e.Error.Field != tc.field {
			t.Errorf("%s %s: status %d, error %+v; want 400 naming %s", tc.query, tc.body, resp.StatusCode, e.Error, tc.field)
		}
	}
}

// TestExecWebSocketOutlivesServerTimeouts: a session lasts past the server's read and write
// timeouts, which stay on a hijacked connection unless lifted.
func TestExecWebSocketOutlivesServerTimeouts(t *testing.T) {
	fake := newFake()
	id := runner.NewID(time.Now())
	fake.agents[id] = runner.Agent{ID: id, State: runner.StateRunning, ContainerID: "c1"}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = NewHTTPServer("", newServer(t, fake, Options{}).Handler(), Timeouts{Read: 500 * time.Millisecond, Write: 500 * time.Millisecond})
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := execClient(t, srv).ExecStream(ctx, id, api.ExecMessage{Command: []string{"cat"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	time.Sleep(1500 * time.Millisecond)
	io.WriteString(s, "late")
	s.CloseStdin(ctx)
	var out bytes.Buffer
	if code, err := s.Wait(ctx, &out, nil); err != nil || code != 0 || out.String() != "late" {
		t.Errorf("Wait = %d, %v, %q; want the late stdin echoed", code, err, out.String())
	}
}
