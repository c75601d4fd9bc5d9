package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// Bounds of the exec WebSocket.
const (
	// execStartWait is how long the server waits for the first message.
	execStartWait = 30 * time.Second
	// execMaxMessage bounds one message from the client (a stdin chunk or a control message).
	execMaxMessage = 1 << 20
	// execPingEvery and execPingWait detect a client that vanished without closing: a socket
	// that answers no ping has its command killed.
	execPingEvery = 30 * time.Second
	execPingWait  = 30 * time.Second
	// execStdinQueue is how many stdin messages wait for a command that is slow to read.
	execStdinQueue = 64
)

// agentExecWS serves GET /v1/agents/:id/exec: a streaming exec over a WebSocket, in the protocol
// api/exec_stream.go describes. A missing or finished agent is answered before the upgrade.
func (s *Server) agentExecWS(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	if err := s.execTarget(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	if !s.execs.begin() {
		writeError(w, r, apiErr(http.StatusServiceUnavailable, api.CodeUnavailable, "podrun is shutting down"))
		return
	}
	defer s.execs.end()
	// net/http lifts the server's read and write deadlines from a hijacked connection, so the
	// session may outlive them; pings bound a silent client instead.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{api.ExecWebSocketSubprotocol}})
	if err != nil {
		return // Accept has answered
	}
	defer c.CloseNow()
	c.SetReadLimit(execMaxMessage)
	// Reads and writes run under conn, which lasts until the final message is sent: coder/websocket
	// closes the connection when an operation's context ends. The exec runs under ctx, which
	// the client leaving, a protocol error or the server's shutdown end.
	conn, connDone := context.WithCancel(context.WithoutCancel(r.Context()))
	defer connDone()
	ctx, cancel := context.WithCancel(conn)
	defer cancel()
	stop := context.AfterFunc(s.execs.ctx, cancel) // the server shuts down
	defer stop()

	sess := &execSession{c: c, conn: conn, cancel: cancel, log: infoFrom(r.Context()).log, id: id}
	req, err := sess.readStart(ctx, r)
	if err != nil {
		sess.fail(r, err)
		return
	}
	stdin, stdinW := io.Pipe()
	resize := make(chan runner.TermSize)
	eio := runner.ExecIO{
		Stdin:  stdin,
		Stdout: &wsStream{sess: sess, stream: api.ExecStdout},
		Stderr: &wsStream{sess: sess, stream: api.ExecStderr},
		Resize: resize,
	}
	go sess.readLoop(ctx, stdinW, resize, req.TTY)
	go sess.pingLoop(ctx)
	code, err := s.svc.ExecStream(ctx, id, req, eio)
	stdin.CloseWithError(errExecEnded) // unblocks a pending stdin write
	if perr := sess.broken(); perr != nil {
		err = perr // the client broke the protocol, which ended the exec
	} else if err != nil && s.execs.ctx.Err() != nil {
		err = apiErr(http.StatusServiceUnavailable, api.CodeUnavailable, "podrun is shutting down; the command was killed")
	}
	if err != nil {
		sess.fail(r, err)
		return
	}
	_ = sess.send(conn, api.ExecMessage{Type: api.ExecExit, ExitCode: &code})
	_ = c.Close(api.ExecCloseNormal, "")
}

// errExecEnded ends the read loop's stdin once the command has ended.
var errExecEnded = errors.New("the command has ended")

// execTarget checks that the agent exists and runs, so a client is refused before the upgrade.
func (s *Server) execTarget(ctx context.Context, id string) error {
	a, err := s.svc.Agent(ctx, id)
	if err != nil {
		return err
	}
	if a.State != runner.StateRunning {
		return fmt.Errorf("%w: agent %s is %s, not running", runner.ErrConflict, id, a.State)
	}
	return nil
}

// execSession is one exec WebSocket: its connection and what ends it.
type execSession struct {
	c      *websocket.Conn
	conn   context.Context    // the connection's operations; see agentExecWS
	cancel context.CancelFunc // ends the exec, which kills the command's tree
	log    *slog.Logger
	id     string
	gone   sync.Once // the client is unreachable
	failed sync.Once // the error message was sent

	mu   sync.Mutex
	perr error // the client's message that broke the protocol
}

// protocolError is a client's message the protocol does not allow.
func protocolError(field, format string, args ...any) error {
	return &runner.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// readStart reads and checks the first message, which must be a "start".
// A client that sends none within execStartWait is told so and closed.
func (e *execSession) readStart(ctx context.Context, r *http.Request) (runner.ExecStreamRequest, error) {
	late := time.AfterFunc(execStartWait, func() {
		e.fail(r, protocolError("type", "no start message within %s", execStartWait))
	})
	defer late.Stop()
	typ, data, err := e.c.Read(ctx)
	if err != nil {
		return runner.ExecStreamRequest{}, fmt.Errorf("read the start message: %w", context.Canceled)
	}
	if typ != websocket.MessageText {
		return runner.ExecStreamRequest{}, protocolError("type", `the first message must be a JSON text message {"type":"start",...}`)
	}
	m, err := decodeExecMessage(data)
	if err != nil {
		return runner.ExecStreamRequest{}, err
	}
	if m.Type != api.ExecStart {
		return runner.ExecStreamRequest{}, protocolError("type", "the first message must be of type %q, not %q", api.ExecStart, m.Type)
	}
	if m.ExitCode != nil || m.Error != nil {
		return runner.ExecStreamRequest{}, protocolError("type", "a start message carries no exit_code or error")
	}
	req := runner.ExecStreamRequest{
		Command: m.Command, Env: m.Env, Workdir: m.Workdir, TTY: m.TTY, Timeout: m.Timeout,
		Size: runner.TermSize{Rows: m.Rows, Cols: m.Cols},
	}
	if _, err := req.Validate(); err != nil {
		return runner.ExecStreamRequest{}, err
	}
	return req, nil
}

// decodeExecMessage decodes one control message, refusing unknown fields.
func decodeExecMessage(data []byte) (api.ExecMessage, error) {
	var m api.ExecMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, protocolError("", "a text message must be one JSON ExecMessage: %v", err)
	}
	if dec.More() {
		return m, protocolError("", "a text message must be one JSON ExecMessage, and nothing after it")
	}
	return m, invalidJSONText(data)
}

// readLoop passes the client's stdin, resizes and end of stdin to the exec until the
// connection ends. A message the protocol does not allow is recorded (see broken) and ends
// the exec.
func (e *execSession) readLoop(ctx context.Context, stdin *io.PipeWriter, resize chan<- runner.TermSize, tty bool) {
	// A command that does not read its stdin must not stall the reading of resizes, pings and
	// the close: stdin waits in a queue, written by its own goroutine. nil is the end of stdin.
	queue := make(chan []byte, execStdinQueue)
	defer close(queue)
	go func() {
		defer stdin.Close()
		for b := range queue {
			if b == nil {
				return
			}
			if _, err := stdin.Write(b); err != nil {
				return
			}
		}
	}()
	eof := false
	for {
		typ, data, err := e.c.Read(e.conn)
		if err != nil {
			e.clientGone()
			return
		}
		var perr error
		switch {
		case typ == websocket.MessageBinary && (len(data) == 0 || data[0] != api.ExecStdin):
			perr = protocolError("", "a binary message from the client must start with the stdin byte 0x00")
		case typ == websocket.MessageBinary && eof:
			perr = protocolError("", "stdin data after an eof message")
		case typ == websocket.MessageBinary:
			if len(data) == 1 {
				continue // nothing to write; nil would end stdin
			}
			select {
			case queue <- data[1:]:
			case <-ctx.Done():
				return
			}
		default:
			perr = e.control(ctx, data, resize, tty, &eof, queue)
		}
		if perr != nil {
			e.mu.Lock()
			e.perr = perr
			e.mu.Unlock()
			e.cancel()
			return
		}
	}
}

// control acts on one control message after the start.
func (e *execSession) control(ctx context.Context, data []byte, resize chan<- runner.TermSize, tty bool, eof *bool, queue chan<- []byte) error {
	m, err := decodeExecMessage(data)
	if err != nil {
		return err
	}
	switch m.Type {
	case api.ExecResize:
		if !tty {
			return protocolError("type", "resize needs an exec started with tty")
		}
		if m.Rows == 0 || m.Cols == 0 {
			return protocolError("rows", "a resize gives rows and cols, both positive")
		}
		select {
		case resize <- runner.TermSize{Rows: m.Rows, Cols: m.Cols}:
		case <-ctx.Done():
		}
	case api.ExecEOF:
		if !*eof {
			*eof = true
			select {
			case queue <- nil:
			case <-ctx.Done():
			}
		}
	default:
		return protocolError("type", "after start, a client sends %q or %q messages, not %q", api.ExecResize, api.ExecEOF, m.Type)
	}
	return nil
}

// broken returns the protocol error that ended the exec, if one did.
func (e *execSession) broken() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.perr
}

// pingLoop ends the exec when the client stops answering pings.
func (e *execSession) pingLoop(ctx context.Context) {
	t := time.NewTicker(execPingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(e.conn, execPingWait)
		err := e.c.Ping(pctx)
		cancel()
		if err != nil {
			e.clientGone()
			return
		}
	}
}

// clientGone ends the exec because its client left.
func (e *execSession) clientGone() { e.gone.Do(e.cancel) }

// send writes one control message.
func (e *execSession) send(ctx context.Context, m api.ExecMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return e.c.Write(ctx, websocket.MessageText, b)
}

// fail tells the client why the exec failed, unless it left, and closes the socket; only the
// first call does.
func (e *execSession) fail(r *http.Request, err error) {
	e.failed.Do(func() { e.failOnce(r, err) })
}

func (e *execSession) failOnce(r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		e.log.LogAttrs(r.Context(), slog.LevelDebug, "exec client went away", slog.String("agent", e.id), slog.Any("err", err))
		return
	}
	ae := classify(r, err)
	if errors.Is(err, context.DeadlineExceeded) {
		ae = apiErr(http.StatusGatewayTimeout, api.CodeTimeout, "the command ran past its timeout and was killed")
	}
	if ae.status >= 500 && ae.code != api.CodeTimeout {
		e.log.LogAttrs(r.Context(), slog.LevelError, "exec failed", slog.String("agent", e.id), slog.Any("err", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.send(ctx, api.ExecMessage{Type: api.ExecError, Error: &api.Error{Code: ae.code, Message: ae.message, Field: ae.field}})
	code := websocket.StatusCode(api.ExecCloseInternal)
	if ae.code == api.CodeInvalid {
		code = api.ExecClosePolicy
	}
	_ = e.c.Close(code, closeReason(ae.message))
}

// closeReason cuts a message to what a close frame can carry (123 bytes).
func closeReason(msg string) string {
	if len(msg) <= 123 {
		return msg
	}
	return msg[:120] + "..."
}

// wsStream sends what the command writes on one stream as binary messages.
type wsStream struct {
	sess   *execSession
	stream byte
}

func (s *wsStream) Write(p []byte) (int, error) {
	msg := make([]byte, 1+len(p))
	msg[0] = s.stream
	copy(msg[1:], p)
	if err := s.sess.c.Write(s.sess.conn, websocket.MessageBinary, msg); err != nil {
		s.sess.clientGone()
		return 0, err
	}
	return len(p), nil
}
