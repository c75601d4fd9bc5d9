package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

// runningAgent creates an agent that sleeps, to exec in, and waits until it runs.
func runningAgent(t *testing.T, d *testDaemon) api.Agent {
	t.Helper()
	a := d.create(t, api.AgentRequest{Command: []string{"sleep", "300"}})
	return d.await(t, a.ID, 30*time.Second, api.StateRunning)
}

// session collects a streaming exec's events as they arrive. Its Recv runs in a goroutine of
// its own: a Read whose context ends closes a WebSocket.
type session struct {
	t      *testing.T
	s      *client.ExecSession
	ctx    context.Context
	events chan event
	out    bytes.Buffer
	code   int
}

type event struct {
	client.ExecEvent
	err error
}

func openSession(t *testing.T, d *testDaemon, id string, start api.ExecMessage) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s, err := d.api.ExecStream(ctx, id, start)
	if err != nil {
		t.Fatalf("ExecStream: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ss := &session{t: t, s: s, ctx: ctx, events: make(chan event, 1024)}
	go func() {
		defer close(ss.events)
		for {
			ev, err := s.Recv(ctx)
			ss.events <- event{ev, err}
			if err != nil || ev.Exited {
				return
			}
		}
	}()
	return ss
}

// next returns the next event, or fails after 20 s.
func (s *session) next() event {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatalf("the session has ended; output:\n%s", s.out.String())
		}
		return ev
	case <-time.After(20 * time.Second):
		s.t.Fatalf("no event in 20 s; output:\n%s", s.out.String())
	}
	panic("unreachable")
}

// until reads output until it holds want, and fails on the end of the exec or after 20 s.
func (s *session) until(want string) {
	s.t.Helper()
	for !strings.Contains(s.out.String(), want) {
		ev := s.next()
		if ev.err != nil || ev.Exited {
			s.t.Fatalf("no %q in the output (%+v, %v):\n%s", want, ev.ExecEvent, ev.err, s.out.String())
		}
		s.out.Write(ev.Data)
	}
}

// drain takes what output has arrived within d.
func (s *session) drain(d time.Duration) {
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok || ev.err != nil || ev.Exited {
				s.t.Fatalf("the session ended: %+v, %v; output:\n%s", ev.ExecEvent, ev.err, s.out.String())
			}
			s.out.Write(ev.Data)
		case <-timeout:
			return
		}
	}
}

func (s *session) send(text string) {
	s.t.Helper()
	if _, err := s.s.Write([]byte(text)); err != nil {
		s.t.Fatalf("write stdin: %v", err)
	}
}

// exit reads to the end and returns the exit code, or the error that ended the session.
func (s *session) exit() (int, error) {
	s.t.Helper()
	for {
		ev := s.next()
		if ev.err != nil {
			return -1, ev.err
		}
		if ev.Exited {
			return ev.ExitCode, nil
		}
		s.out.Write(ev.Data)
	}
}

// TestExecWebSocketTerminal is an interactive shell on a terminal over the WebSocket: `tty`
// names a pty, the first size and a resize show in `stty size`, and the exit code comes back.
func TestExecWebSocketTerminal(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	s := openSession(t, d, a.ID, api.ExecMessage{Command: []string{"sh"}, TTY: true, Rows: 30, Cols: 100, Env: map[string]string{"WHO": "term"}, Workdir: "/tmp"})
	s.send("tty; stty size; echo \"[$WHO]\"; pwd\n")
	s.until("/dev/pts/")
	s.until("30 100")
	s.until("[term]")
	s.until("/tmp")
	if err := s.s.Resize(s.ctx, 41, 123); err != nil {
		t.Fatal(err)
	}
	// The resize is its own call to Podman, not ordered with stdin: ask until it shows.
	for i := 0; i < 100 && !strings.Contains(s.out.String(), "41 123"); i++ {
		s.send("stty size\n")
		s.drain(200 * time.Millisecond)
	}
	s.until("41 123")
	s.send("exit 5\n")
	if code, err := s.exit(); err != nil || code != 5 {
		t.Errorf("exit = %d, %v; want 5; output:\n%s", code, err, s.out.String())
	}
}

// TestExecWebSocketOutputArrivesAsWritten: a line a second arrives as its own message, in order,
// and the command gets an answer to what it printed before it ends.
func TestExecWebSocketOutputArrivesAsWritten(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	s := openSession(t, d, a.ID, api.ExecMessage{Command: []string{"sh", "-c", "for i in 1 2 3; do echo line $i; sleep 1; done; echo waiting; read reply; echo got $reply >&2"}})
	var got []string
	for len(got) < 4 {
		ev := s.next()
		if ev.err != nil || ev.Exited || ev.Stream != api.ExecStdout {
			t.Fatalf("Recv = %+v, %v after %q", ev.ExecEvent, ev.err, got)
		}
		got = append(got, string(ev.Data))
	}
	if want := []string{"line 1\n", "line 2\n", "line 3\n", "waiting\n"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	s.send("yes\n")
	ev := s.next()
	if ev.err != nil || ev.Stream != api.ExecStderr || string(ev.Data) != "got yes\n" {
		t.Errorf("Recv = %+v (%q), %v; want got yes on stderr", ev.ExecEvent, ev.Data, ev.err)
	}
	if code, err := s.exit(); err != nil || code != 0 {
		t.Errorf("exit = %d, %v", code, err)
	}
}

// TestExecWebSocketCloseKillsTheTree closes the socket while the command's children run, with
// and without a terminal: their pids are gone from the container soon after.
func TestExecWebSocketCloseKillsTheTree(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	for _, tty := range []bool{false, true} {
		s := openSession(t, d, a.ID, api.ExecMessage{TTY: tty, Command: []string{"sh", "-c", "sleep 301 & echo pid $!; (setsid sleep 302 & echo pid $!); echo started; wait"}})
		s.until("started")
		pids := pidsIn(s.out.String())
		if len(pids) != 2 {
			t.Fatalf("tty %v: pids %q from %q", tty, pids, s.out.String())
		}
		if left := alive(t, d, a.ID, pids); len(left) != 2 {
			t.Fatalf("tty %v: the children do not run before the close: %q", tty, left)
		}
		s.s.Close()
		waitGone(t, d, a.ID, pids, fmt.Sprintf("tty %v: after the client closed the socket", tty))
	}
}

// pidsIn returns the numbers following "pid" in out.
func pidsIn(out string) []string {
	var pids []string
	fields := strings.Fields(out)
	for i, f := range fields {
		if f == "pid" && i+1 < len(fields) {
			pids = append(pids, fields[i+1])
		}
	}
	return pids
}

// alive returns which of pids still run in the agent's container. A killed process whose parent
// died stays a zombie when PID 1 (sleep here) reaps nothing: alive is a /proc entry in a state
// other than Z.
func alive(t *testing.T, d *testDaemon, id string, pids []string) []string {
	t.Helper()
	script := "for p in " + strings.Join(pids, " ") + `; do s=$(cat /proc/$p/stat 2>/dev/null) || continue; set -- $s; [ "$3" = Z ] || echo $p; done; true`
	res, err := d.api.Exec(t.Context(), id, api.ExecRequest{Command: []string{"sh", "-c", script}, Timeout: "30s"})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("check pids: %+v, %v", res, err)
	}
	return strings.Fields(res.Stdout)
}

// waitGone waits, at most 30 s, until none of pids runs.
func waitGone(t *testing.T, d *testDaemon, id string, pids []string, when string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := alive(t, d, id, pids)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s, 30 s on, still running: %q", when, left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestExecWebSocketTimeout: a command past its timeout ends with an error message, and its
// children are killed with it.
func TestExecWebSocketTimeout(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	s := openSession(t, d, a.ID, api.ExecMessage{Command: []string{"sh", "-c", "sleep 303 & echo pid $!; echo started; wait"}, Timeout: "3s"})
	s.until("started")
	pids := pidsIn(s.out.String())
	_, err := s.exit()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != api.CodeTimeout {
		t.Errorf("exit = %v, want a timeout error", err)
	}
	waitGone(t, d, a.ID, pids, "after the timeout")
}

// TestExecStreamedPOSTClientLeaves: a ?stream=true client that goes away has the tree killed.
func TestExecStreamedPOSTClientLeaves(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		_, err := d.api.ExecStreamHTTP(ctx, a.ID, api.ExecRequest{Command: []string{"sh", "-c", "(setsid sleep 304 & echo pid $!); echo started; sleep 305"}}, out, out)
		done <- err
	}()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "started"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no start in 20 s: %q", out.String())
		}
	}
	pids := pidsIn(out.String())
	if len(alive(t, d, a.ID, pids)) != 1 {
		t.Fatalf("the child does not run: %q", out.String())
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("ExecStreamHTTP = %v, want Canceled", err)
	}
	waitGone(t, d, a.ID, pids, "after the client left")
}

// TestExecWebSocketBadFirstMessage: the server names the field, closes with 1008, and runs nothing.
func TestExecWebSocketBadFirstMessage(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	url := "ws://" + d.Addr() + "/v1/agents/" + a.ID + "/exec"
	for _, tc := range []struct{ msg, field string }{
		{`{"type":"start"}`, "command"},
		{`{"type":"start","command":["sh"],"tty":"yes"}`, ""},
		{`{"type":"start","command":["pwd"],"workdir":"relative"}`, "workdir"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		_, data, err := c.Read(ctx)
		var m api.ExecMessage
		if err != nil || json.Unmarshal(data, &m) != nil || m.Type != api.ExecError || m.Error == nil ||
			m.Error.Code != api.CodeInvalid || m.Error.Field != tc.field || m.Error.Message == "" {
			t.Errorf("%s: got %s, %v; want an invalid error naming %q", tc.msg, data, err, tc.field)
		}
		_, _, err = c.Read(ctx)
		if got := websocket.CloseStatus(err); got != api.ExecClosePolicy {
			t.Errorf("%s: close status %d (%v), want %d", tc.msg, got, err, api.ExecClosePolicy)
		}
		c.CloseNow()
		cancel()
	}
}

// TestExecStreamedPOST: ?stream=true without a WebSocket gives both streams and the exit code in
// the trailer; the buffered exec takes env and workdir too.
func TestExecStreamedPOST(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	var stdout, stderr bytes.Buffer
	req := api.ExecRequest{Command: []string{"sh", "-c", "echo out $A; sleep 1; pwd >&2; exit 7"}, Env: map[string]string{"A": "1"}, Workdir: "/tmp"}
	code, err := d.api.ExecStreamHTTP(t.Context(), a.ID, req, &stdout, &stderr)
	if err != nil || code != 7 || stdout.String() != "out 1\n" || stderr.String() != "/tmp\n" {
		t.Errorf("ExecStreamHTTP = %d, %v, stdout %q, stderr %q; want 7, out 1, /tmp", code, err, stdout.String(), stderr.String())
	}
	res, err := d.api.Exec(t.Context(), a.ID, req)
	if err != nil || res.ExitCode != 7 || res.Stdout != "out 1\n" || res.Stderr != "/tmp\n" {
		t.Errorf("Exec = %+v, %v", res, err)
	}
}

// TestExecWebSocketIsConfinedLikeTheAgent: a streamed exec, with and without a terminal, sees
// the agent's confinement from inside.
func TestExecWebSocketIsConfinedLikeTheAgent(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.create(t, api.AgentRequest{Command: []string{"sleep", "600"}, Limits: api.LimitsRequest{Memory: "48Mi"}})
	d.await(t, a.ID, 30*time.Second, api.StateRunning)
	for _, tty := range []bool{false, true} {
		s := openSession(t, d, a.ID, api.ExecMessage{Command: []string{"sh", "-c", probeScript}, TTY: tty})
		code, err := s.exit()
		if err != nil || code != 0 {
			t.Fatalf("tty %v: exit %d, %v", tty, code, err)
		}
		who := fmt.Sprintf("exec over the WebSocket (tty %v)", tty)
		f := probeFields(strings.ReplaceAll(s.out.String(), "\r", ""))
		checkConfined(t, who, f)
		if f["memory"] != "50331648" || f["net"] != "lo" || f["root_writable"] != "no" {
			t.Errorf("%s sees memory %q net %q root_writable %q, want the agent's 48Mi, lo only and a read-only root", who, f["memory"], f["net"], f["root_writable"])
		}
	}
}
