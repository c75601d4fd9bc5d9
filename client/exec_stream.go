package client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/coder/websocket"

	"github.com/podrun/podrun/api"
)

// ExecSession is a streaming exec over a WebSocket (GET /v1/agents/{id}/exec): write stdin to
// it, read the output with Recv or Wait. Closing it before the command ends kills the
// command's whole process tree. Write, CloseStdin and Resize may be called concurrently with
// Recv; Recv is called from one goroutine at a time.
type ExecSession struct {
	c    *websocket.Conn
	ctx  context.Context // bounds stdin writes; the dial's context
	mu   sync.Mutex
	done bool // the exit or error message was read
}

// ExecEvent is what Recv read: output on a stream, or the end.
type ExecEvent struct {
	// Stream is api.ExecStdout or api.ExecStderr for output.
	Stream byte
	// Data is the output, as the command wrote it (one write or less per event).
	Data []byte
	// Exited says the command ended, with ExitCode; no event follows.
	Exited   bool
	ExitCode int
}

// ExecStream starts a streaming exec in a running agent: it dials the WebSocket and sends start
// (its Type is set to api.ExecStart). A refusal before the upgrade (no such agent, not running)
// comes back as an *Error, like any other call's.
func (c *Client) ExecStream(ctx context.Context, id string, start api.ExecMessage) (*ExecSession, error) {
	u, err := url.Parse(c.base + agentPath(id, "exec"))
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	h := http.Header{}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		h.Set("User-Agent", c.userAgent)
	}
	hc := c.hc
	if hc.Timeout != 0 { // the session lasts as long as the command; ctx bounds the dial
		cp := *hc
		cp.Timeout = 0
		hc = &cp
	}
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: hc, HTTPHeader: h, Subprotocols: []string{api.ExecWebSocketSubprotocol},
	})
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 {
			if resp.Body != nil {
				defer resp.Body.Close()
			}
			return nil, readError(resp)
		}
		return nil, fmt.Errorf("exec in agent %s: %w", id, err)
	}
	conn.SetReadLimit(16 << 20)
	s := &ExecSession{c: conn, ctx: context.WithoutCancel(ctx)}
	start.Type = api.ExecStart
	if err := s.send(ctx, start); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("exec in agent %s: send start: %w", id, err)
	}
	return s, nil
}

func (s *ExecSession) send(ctx context.Context, m api.ExecMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.c.Write(ctx, websocket.MessageText, b)
}

// Write sends p to the command's stdin.
func (s *ExecSession) Write(p []byte) (int, error) {
	msg := make([]byte, 1+len(p))
	msg[0] = api.ExecStdin
	copy(msg[1:], p)
	if err := s.c.Write(s.ctx, websocket.MessageBinary, msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseStdin ends the command's stdin.
func (s *ExecSession) CloseStdin(ctx context.Context) error {
	return s.send(ctx, api.ExecMessage{Type: api.ExecEOF})
}

// Resize sets the size of the command's terminal (an exec started with tty).
func (s *ExecSession) Resize(ctx context.Context, rows, cols uint16) error {
	return s.send(ctx, api.ExecMessage{Type: api.ExecResize, Rows: rows, Cols: cols})
}

// Recv returns the next output, or the end (Exited). An "error" message from the server comes
// back as an *Error (Status 0); a connection that ends without either is an error too.
func (s *ExecSession) Recv(ctx context.Context) (ExecEvent, error) {
	for {
		typ, data, err := s.c.Read(ctx)
		if err != nil {
			return ExecEvent{}, fmt.Errorf("exec stream ended before the command's exit: %w", err)
		}
		if typ == websocket.MessageBinary {
			if len(data) == 0 {
				continue
			}
			return ExecEvent{Stream: data[0], Data: data[1:]}, nil
		}
		var m api.ExecMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return ExecEvent{}, fmt.Errorf("exec stream: bad control message: %w", err)
		}
		switch m.Type {
		case api.ExecExit:
			s.finish(ctx)
			if m.ExitCode == nil {
				return ExecEvent{}, errors.New("exec stream: exit message without exit_code")
			}
			return ExecEvent{Exited: true, ExitCode: *m.ExitCode}, nil
		case api.ExecError:
			s.finish(ctx)
			e := &Error{Code: api.CodeInternal, Message: "the exec failed"}
			if m.Error != nil {
				e.Code, e.Message, e.Field = m.Error.Code, m.Error.Message, m.Error.Field
			}
			return ExecEvent{}, e
		}
	}
}

// finish records the end, and reads the server's close that follows the last message, which
// answers it: the server is not kept waiting for the closing handshake.
func (s *ExecSession) finish(ctx context.Context) {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	_, _, _ = s.c.Read(ctx)
}

// Wait copies the output to stdout and stderr (nil discards) until the command ends, and
// returns its exit code.
func (s *ExecSession) Wait(ctx context.Context, stdout, stderr io.Writer) (int, error) {
	for {
		ev, err := s.Recv(ctx)
		if err != nil {
			return -1, err
		}
		if ev.Exited {
			return ev.ExitCode, nil
		}
		w := stdout
		if ev.Stream == api.ExecStderr {
			w = stderr
		}
		if w != nil {
			if _, err := w.Write(ev.Data); err != nil {
				return -1, err
			}
		}
	}
}

// Close ends the session; before the end was read, it kills the command.
func (s *ExecSession) Close() error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	err := s.c.CloseNow()
	if done {
		return nil // the closing handshake is over
	}
	return err
}

// ExecStreamHTTP runs a command with POST /v1/agents/{id}/exec?stream=true, copying its output
// to stdout and stderr (nil discards) as it comes, and returns its exit code from the trailer.
// A command that did not exit by itself (its timeout, an error) gives an error naming the
// reason the server gave.
func (c *Client) ExecStreamHTTP(ctx context.Context, id string, req api.ExecRequest, stdout, stderr io.Writer) (int, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return -1, err
	}
	hreq, err := c.newRequest(ctx, http.MethodPost, agentPath(id, "exec"), url.Values{"stream": {"true"}}, strings.NewReader(string(raw)))
	if err != nil {
		return -1, err
	}
	hreq.Header.Set("Content-Type", api.ContentTypeJSON)
	resp, err := c.send(hreq)
	if err != nil {
		return -1, err
	}
	defer resp.Body.Close()
	if err := Demux(resp.Body, stdout, stderr); err != nil {
		return -1, fmt.Errorf("exec in agent %s: %w", id, err)
	}
	reason := resp.Trailer.Get(api.HeaderReason)
	v := resp.Trailer.Get(api.HeaderExitCode)
	if v == "" {
		return -1, fmt.Errorf("exec in agent %s: the command did not exit by itself (reason %q)", id, reason)
	}
	code, err := strconv.Atoi(v)
	if err != nil {
		return -1, fmt.Errorf("exec in agent %s: bad exit code trailer %q", id, v)
	}
	return code, nil
}

// Demux copies a multiplexed stream (api.ContentTypeMultiplexed: 8-byte headers of stream
// byte, three zero bytes and big-endian length) to stdout and stderr (nil discards) until EOF.
func Demux(r io.Reader, stdout, stderr io.Writer) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		w := io.Discard
		switch hdr[0] {
		case api.ExecStdout:
			if stdout != nil {
				w = stdout
			}
		case api.ExecStderr:
			if stderr != nil {
				w = stderr
			}
		default:
			return fmt.Errorf("multiplexed stream: unknown stream %d", hdr[0])
		}
		if _, err := io.CopyN(w, r, int64(binary.BigEndian.Uint32(hdr[4:]))); err != nil {
			return err
		}
	}
}
