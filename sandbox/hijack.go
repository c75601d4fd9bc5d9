package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/containers/podman/v5/pkg/errorhandling"
)

// apiPrefix is the libpod API version the hijacking client speaks; 4.0 is the
// oldest the attach and exec endpoints look the same in.
const apiPrefix = "/v4.0.0/libpod"

// stream is one hijacked connection carrying a multiplexed stdin/stdout/stderr stream.
// The bindings' own attach swaps the shared client's transport for each
// upgrade, which races under parallel use; each stream has its own socket.
type stream struct {
	conn *net.UnixConn
	r    *bufio.Reader // reads past the HTTP response; may hold the first frames
}

// hijack sends an upgrade request over a new connection and returns once
// Podman has answered, that is once the attach (or exec) is wired to conmon.
// The handshake holds a call slot, reported as op; the stream does not.
func (p *Podman) hijack(ctx context.Context, op, path string, query url.Values, body any) (*stream, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	release, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	defer p.observe(op, time.Now())
	c, err := (&net.Dialer{}).DialContext(ctx, "unix", p.sock)
	if err != nil {
		return nil, err
	}
	conn := c.(*net.UnixConn)
	// Bound the handshake by ctx: a deadline, and closing on cancellation.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	s, err := handshake(conn, path, query, payload)
	if !stop() || err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

func handshake(conn *net.UnixConn, path string, query url.Values, payload []byte) (*stream, error) {
	u := &url.URL{Scheme: "http", Host: "d", Path: apiPrefix + path, RawQuery: query.Encode()}
	req, err := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(conn, 32<<10)
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusSwitchingProtocols, http.StatusOK:
		// 4.3 answers 101 for attach and exec; 200 is what Docker-style servers send.
		return &stream{conn: conn, r: r}, nil
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	apiErr := &errorhandling.ErrorModel{}
	if json.Unmarshal(msg, apiErr) != nil || apiErr.Message == "" {
		apiErr.Message = string(bytes.TrimSpace(msg))
	}
	apiErr.ResponseCode = resp.StatusCode
	return nil, apiErr
}

// demux copies the multiplexed stream to stdout and stderr (nil discards)
// until EOF. Frames carry an 8-byte header: stream number, three zero bytes,
// big-endian length.
func (s *stream) demux(stdout, stderr io.Writer) error {
	out, errOut := &keepReading{w: stdout}, &keepReading{w: stderr}
	var hdr [8]byte
	buf := make([]byte, 32<<10)
	for {
		if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.Join(out.err, errOut.err)
			}
			return err
		}
		n := int64(binary.BigEndian.Uint32(hdr[4:]))
		var w io.Writer
		switch hdr[0] {
		case 0, 1: // 0 is stdin echoed back; treat it as output like the bindings do
			w = out
		case 2:
			w = errOut
		case 3:
			msg, _ := io.ReadAll(io.LimitReader(s.r, min(n, 64<<10)))
			return fmt.Errorf("podman stream error: %s", msg)
		default:
			return fmt.Errorf("podman stream: unknown stream %d in frame header", hdr[0])
		}
		if _, err := io.CopyBuffer(w, io.LimitReader(s.r, n), buf); err != nil {
			return err
		}
	}
}

// keepReading stops writing to a writer that failed but swallows the error
// until the end, so a broken consumer does not stall the container's output.
type keepReading struct {
	w   io.Writer
	err error
}

func (k *keepReading) Write(b []byte) (int, error) {
	if k.w != nil && k.err == nil {
		if _, err := k.w.Write(b); err != nil {
			k.err = fmt.Errorf("write container output: %w", err)
		}
	}
	return len(b), nil
}

// feed copies stdin to the container and then half-closes the connection,
// which Podman passes on as end of file on the container's stdin.
func (s *stream) feed(stdin io.Reader) error {
	if _, err := io.Copy(s.conn, stdin); err != nil {
		return err
	}
	return s.conn.CloseWrite()
}

func (s *stream) Close() error { return s.conn.Close() }
