package sandbox

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/podrun/podrun/runner"
)

// logAttempts bounds the tries of a log read that fails before its first
// line: Podman's reader can trip on a line still being written ("... is not
// a valid container log line") while a container floods its log.
const logAttempts = 5

// Logs passes a container's output line by line. Both streams come in one
// response in the order of the container's log file, which is the order
// conmon read them in, so they are never reordered here (the bindings'
// Logs splits them onto two channels, which loses that order). Podman's
// own tail is not used: on 4.3 it glues the pieces of long lines onto the
// wrong lines and fails on a line being written; callers keep the lines
// they want from a read of the whole log (at most sandbox.log_max_size).
func (p *Podman) Logs(ctx context.Context, id string, r runner.LogRead, emit func(runner.LogLine) error) error {
	maxLine := r.MaxLine
	if maxLine <= 0 {
		maxLine = runner.MaxLogLine
	}
	delay := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		passed := false
		err := p.readLogs(ctx, id, r.Follow, maxLine, func(l runner.LogLine) error {
			passed = true
			return emit(l)
		})
		if err == nil || passed || attempt == logAttempts || !halfWrittenLine(err) {
			return err
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay *= 2
	}
}

// readLogs makes one read of the log, from its start.
func (p *Podman) readLogs(ctx context.Context, id string, follow bool, maxLine int, emit func(runner.LogLine) error) error {
	params := url.Values{
		"stdout": {"true"}, "stderr": {"true"}, "timestamps": {"true"},
		"follow": {strconv.FormatBool(follow)},
	}
	err := func() error {
		resp, err := p.openLogs(ctx, id, params, follow)
		if err != nil {
			return err
		}
		defer resp.Body.Close() // before the end (at the cutoff) this drops the connection, which stops Podman's reader
		lp := &logParser{maxLine: maxLine, emit: emit}
		if !follow {
			lp.cutoff = serverTime(resp.Response).Add(time.Second)
		}
		return lp.read(resp.Body)
	}()
	var fromEmit errEmit
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fromEmit):
		return fromEmit.err
	case ctx.Err() != nil && follow:
		return nil // following ends with the caller's context
	}
	return wrapErr("logs of", id, err)
}

// openLogs sends the request and returns the response once it succeeded.
// Like an attach's handshake, the request holds a call slot until Podman
// answers and the stream that follows does not (a follow holds none): a
// slow reader must not starve the runner's own calls.
func (p *Podman) openLogs(ctx context.Context, id string, params url.Values, follow bool) (*bindings.APIResponse, error) {
	if !follow {
		release, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	defer p.observe("logs", time.Now())
	ctx = p.call(ctx)
	conn, err := bindings.GetClient(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := conn.DoRequest(ctx, nil, http.MethodGet, "/containers/%s/logs", params, nil, id)
	if err != nil {
		return nil, err
	}
	if !resp.IsSuccess() {
		defer resp.Body.Close()
		return nil, resp.Process(nil)
	}
	return resp, nil
}

// serverTime is the service's clock when it answered, from the Date header
// (whole seconds, like Podman 4.3's log times), or this host's clock.
// Without a cutoff a read of a log that grows faster than Podman reads it
// (a container writing without pause) would never end.
func serverTime(resp *http.Response) time.Time {
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		return t
	}
	return time.Now().Truncate(time.Second)
}

// halfWrittenLine reports whether Podman failed on a log entry still being written.
func halfWrittenLine(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "is not a valid container log line") || strings.Contains(msg, "from container log")
}
