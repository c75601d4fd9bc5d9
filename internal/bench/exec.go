package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/podrun/podrun/api"
)

// benchExec is scenario 8: an exec's round trip in a running agent, `echo hi` to its exit
// code, through the buffered POST, the streamed POST (?stream=true) and the WebSocket (dial,
// start, output, exit message), taken in turn so they share the machine's noise; and the
// keystroke round trip of an open WebSocket session (a line to `cat` and back).
func benchExec(ctx context.Context, b *bench) (*benchResult, error) {
	as, err := b.startSleepers(ctx, "exec", 1, 1, "10m")
	defer func() {
		for _, a := range as {
			_, _ = b.deleteAgent(context.WithoutCancel(ctx), a.ID)
		}
	}()
	if err != nil {
		return nil, err
	}
	id := as[0].ID
	echo := []string{"echo", "hi"}
	kinds := []struct {
		label, key string
		run        func() error
	}{
		{"buffered POST", "exec_buffered", func() error {
			res, err := b.api.Exec(ctx, id, api.ExecRequest{Command: echo})
			if err == nil && (res.ExitCode != 0 || res.Stdout != "hi\n") {
				err = fmt.Errorf("exec answered %+v", res)
			}
			return err
		}},
		{"POST ?stream=true", "exec_stream_post", func() error {
			var out bytes.Buffer
			code, err := b.api.ExecStreamHTTP(ctx, id, api.ExecRequest{Command: echo}, &out, nil)
			if err == nil && (code != 0 || out.String() != "hi\n") {
				err = fmt.Errorf("streamed exec answered %d, %q", code, out.String())
			}
			return err
		}},
		{"WebSocket", "exec_websocket", func() error {
			s, err := b.api.ExecStream(ctx, id, api.ExecMessage{Command: echo})
			if err != nil {
				return err
			}
			defer s.Close()
			var out bytes.Buffer
			code, err := s.Wait(ctx, &out, nil)
			if err == nil && (code != 0 || out.String() != "hi\n") {
				err = fmt.Errorf("WebSocket exec answered %d, %q", code, out.String())
			}
			return err
		}},
	}
	took := make([][]time.Duration, len(kinds))
	for i := -1; i < b.opt.execN; i++ { // round -1 warms up
		for k, kind := range kinds {
			start := time.Now()
			if err := kind.run(); err != nil {
				return nil, fmt.Errorf("%s: %w", kind.label, err)
			}
			if i >= 0 {
				took[k] = append(took[k], time.Since(start))
			}
		}
	}
	keys, err := b.keystrokes(ctx, id)
	if err != nil {
		return nil, err
	}
	res := newResult()
	t := benchTable{Title: "8. exec round trip in a running agent (echo hi, to its exit code)", Columns: latencyColumns}
	for k, kind := range kinds {
		s := summarize(took[k])
		res.Latency[kind.key] = s
		t.add(latencyRow(kind.label, s)...)
	}
	ks := summarize(keys)
	res.Latency["exec_websocket_keystroke"] = ks
	t.add(latencyRow("open WebSocket: a line to cat and back", ks)...)
	t.Notes = append(t.Notes, "each exec runs under the shim (its tree killable as a whole) in its own Podman exec session; the WebSocket row includes the dial")
	res.Tables = append(res.Tables, t)
	return res, nil
}

// keystrokes times, over one open WebSocket session running cat, a line sent to its echo.
func (b *bench) keystrokes(ctx context.Context, id string) ([]time.Duration, error) {
	s, err := b.api.ExecStream(ctx, id, api.ExecMessage{Command: []string{"cat"}})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var took []time.Duration
	for i := -1; i < b.opt.execN; i++ {
		line := fmt.Sprintf("line %d\n", i)
		start := time.Now()
		if _, err := s.Write([]byte(line)); err != nil {
			return nil, err
		}
		var got []byte
		for len(got) < len(line) {
			ev, err := s.Recv(ctx)
			if err != nil {
				return nil, err
			}
			if ev.Exited {
				return nil, fmt.Errorf("cat exited %d", ev.ExitCode)
			}
			got = append(got, ev.Data...)
		}
		if string(got) != line {
			return nil, fmt.Errorf("cat echoed %q for %q", got, line)
		}
		if i >= 0 {
			took = append(took, time.Since(start))
		}
	}
	if err := s.CloseStdin(ctx); err != nil {
		return nil, err
	}
	if code, err := s.Wait(ctx, nil, nil); err != nil || code != 0 {
		return nil, fmt.Errorf("cat ended %d, %v", code, err)
	}
	return took, nil
}
