package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/containers/podman/v5/pkg/api/handlers"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/shimproto"
)

var _ runner.FileSandbox = (*Podman)(nil)

// WriteFile writes a file (or unpacks a tar) inside a running container. The
// work is done by the shim (`shim --files put|put-tar PATH MODE`), run as an
// exec: in the container's mount namespace, as its user, with its
// capabilities, so only what the container itself could write is written,
// and every path is resolved below the container's root (see
// cmd/podrun-shim/files.go). The body is streamed to the exec's stdin in
// chunks ended by an end marker; if reading w.Body fails, the marker is never
// sent and the shim keeps nothing. Images need nothing: no shell, no tar.
func (p *Podman) WriteFile(ctx context.Context, id string, w runner.FileWrite) (runner.FileEntry, error) {
	op, args := shimproto.FilePut, []string{w.Path, strconv.FormatUint(uint64(w.Mode), 8)}
	if w.Archive {
		op, args = shimproto.FilePutTar, []string{w.Path}
	}
	f, err := p.startFileOp(ctx, id, op, args, w.Body)
	if err != nil {
		return runner.FileEntry{}, err
	}
	defer f.close()
	rep, err := f.reply()
	if err != nil {
		return runner.FileEntry{}, err
	}
	return fileEntry(rep.Entry), nil
}

// ReadFile reads a file's bytes, a directory's listing, or a tar of either,
// through the shim as WriteFile does. The body streams from the exec as the
// caller reads it; Close ends the exec's connection.
func (p *Podman) ReadFile(ctx context.Context, id, path string, archive bool) (runner.FileRead, error) {
	op := shimproto.FileGet
	if archive {
		op = shimproto.FileGetTar
	}
	f, err := p.startFileOp(ctx, id, op, []string{path}, nil)
	if err != nil {
		return runner.FileRead{}, err
	}
	rep, err := f.reply()
	if err != nil {
		f.close()
		return runner.FileRead{}, err
	}
	fr := runner.FileRead{Entry: fileEntry(rep.Entry)}
	switch {
	case archive:
		fr.Body = &fileBody{f: f, left: -1}
	case rep.Entry.Type == shimproto.TypeDir:
		fr.Entries = make([]runner.FileEntry, 0, len(rep.Entries))
		for _, e := range rep.Entries {
			fr.Entries = append(fr.Entries, fileEntry(e))
		}
		f.close()
	default:
		fr.Body = &fileBody{f: f, left: rep.Entry.Size}
	}
	return fr, nil
}

// RemoveFile removes a file, a symlink itself, or a directory and all below it, through the shim.
func (p *Podman) RemoveFile(ctx context.Context, id, path string) (runner.FileEntry, error) {
	f, err := p.startFileOp(ctx, id, shimproto.FileDelete, []string{path}, nil)
	if err != nil {
		return runner.FileEntry{}, err
	}
	defer f.close()
	rep, err := f.reply()
	if err != nil {
		return runner.FileEntry{}, err
	}
	return fileEntry(rep.Entry), nil
}

func fileEntry(e shimproto.FileEntry) runner.FileEntry {
	return runner.FileEntry{Name: e.Name, Type: e.Type, Size: e.Size, Mode: e.Mode, ModTime: e.ModTime, Target: e.Target}
}

// fileOp is one running `shim --files` exec: its own hijacked connection
// (never the bindings' shared one, whose attach races), its stdout as a
// buffered reader, its stderr kept for errors.
type fileOp struct {
	ctx    context.Context
	p      *Podman
	id     string
	sid    string
	st     *stream
	out    *bufio.Reader
	stderr *runner.Capped
	demux  chan error // the demultiplexer's end
	fed    chan error // the feeder's end; nil without input
	stop   func() bool
}

// startFileOp starts `shim --files OP ARGS...` in container id, feeding in
// (chunked) to its stdin when in is not nil.
func (p *Podman) startFileOp(ctx context.Context, id, op string, args []string, in io.Reader) (*fileOp, error) {
	if p.cfg.ShimPath == "" {
		return nil, fmt.Errorf("files in %s: %w: moving files needs podrun's shim (sandbox.shim_path)", id, runner.ErrConflict)
	}
	filter, err := p.shimFilter(ctx, id) // only the shim runs, but cheaply under the filter too
	if err != nil {
		return nil, err
	}
	cfg := &handlers.ExecCreateConfig{}
	cfg.Cmd = slices.Concat([]string{ShimTarget}, filter, []string{shimproto.FilesFlag, op}, args)
	cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr = in != nil, true, true
	cfg.DetachKeys = ""
	var sid string
	err = p.do(ctx, "exec_create", func(ctx context.Context) (err error) {
		sid, err = containers.ExecCreate(ctx, id, cfg)
		return err
	})
	if err != nil {
		return nil, wrapErr("files in", id, err)
	}
	st, err := p.hijack(ctx, "exec_start", "/exec/"+url.PathEscape(sid)+"/start", nil, handlers.ExecStartConfig{})
	if err != nil {
		return nil, wrapErr("files in", id, err)
	}
	pr, pw := io.Pipe()
	f := &fileOp{ctx: ctx, p: p, id: id, sid: sid, st: st, out: bufio.NewReaderSize(pr, 256<<10), stderr: runner.NewCapped(16 << 10), demux: make(chan error, 1)}
	f.stop = context.AfterFunc(ctx, func() { st.Close() })
	go func() {
		err := st.demux(pw, f.stderr)
		pw.CloseWithError(err) // nil: EOF
		f.demux <- err
	}()
	if in != nil {
		f.fed = make(chan error, 1)
		go func() { f.fed <- feedChunks(st, in) }()
	} else {
		_ = st.conn.CloseWrite()
	}
	return f, nil
}

// feedChunks sends in as chunks and, only if in ended cleanly, the end
// marker; then it half-closes, which the exec sees as the end of stdin. It
// returns the error reading in; a broken connection is left to the reply.
func feedChunks(st *stream, in io.Reader) error {
	src := &readErr{r: in}
	// Buffered: a body read in small pieces still goes out in large writes.
	bw := bufio.NewWriterSize(st.conn, 256<<10)
	cw := shimproto.ChunkWriter{W: bw}
	_, err := io.CopyBuffer(cw, src, make([]byte, 256<<10))
	if err == nil {
		err = cw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	_ = st.conn.CloseWrite()
	return src.err
}

// readErr keeps the error of its reader, apart from the writer's.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// reply reads the shim's reply line and turns a failure into the runner's
// errors. For an upload it waits for the feeder first, so an error reading
// the body (the upload was too large, the client left) is what is returned.
func (f *fileOp) reply() (shimproto.FileReply, error) {
	rep, err := shimproto.ReadReply(f.out)
	if err != nil {
		f.close()
		if f.ctx.Err() != nil {
			return rep, f.p.execErr(f.ctx, f.id, err)
		}
		if shimMissing(f.result()) {
			return rep, fmt.Errorf("files in %s: %w: the container has no podrun shim (it was created before the shim was mounted in every container)", f.id, runner.ErrConflict)
		}
		return rep, wrapErr("files in", f.id, fmt.Errorf("%w (stderr: %q)", err, f.stderr.String()))
	}
	if rep.Error == "" {
		if f.fed != nil {
			if err := <-f.fed; err != nil {
				return rep, err
			}
		}
		return rep, nil
	}
	f.close()
	if f.fed != nil {
		if err := <-f.fed; err != nil && rep.Error == shimproto.FileErrIncomplete {
			return rep, fmt.Errorf("files in %s: read the upload: %w", f.id, err)
		}
	}
	return rep, replyErr(rep)
}

// exitWait bounds the wait for a file operation's exit code, which only
// explains a failure: a shim that is missing exits at once.
const exitWait = 5 * time.Second

// result is what the exec left: its exit code (-1 if not known in time) and stderr, for shimMissing.
func (f *fileOp) result() runner.ExecResult {
	res := runner.ExecResult{ExitCode: -1, Stderr: f.stderr.String()}
	ctx, cancel := context.WithTimeout(context.Background(), exitWait)
	defer cancel()
	if code, err := f.p.execExitCode(ctx, f.sid); err == nil {
		res.ExitCode = code
	}
	return res
}

// replyErr maps the shim's error code to the runner's error for it.
func replyErr(rep shimproto.FileReply) error {
	var kind error
	switch rep.Error {
	case shimproto.FileErrNotFound:
		kind = runner.ErrNotFound
	case shimproto.FileErrNoSpace:
		kind = runner.ErrNoSpace
	case shimproto.FileErrPermission:
		kind = runner.ErrForbidden
	case shimproto.FileErrConflict, shimproto.FileErrUnusable:
		kind = runner.ErrConflict
	case shimproto.FileErrInvalid, shimproto.FileErrIncomplete:
		kind = runner.ErrInvalid
	default:
		return fmt.Errorf("file operation in the container failed: %s", rep.Message)
	}
	return fmt.Errorf("%w: %s", kind, rep.Message)
}

// close ends the exec's connection and waits for the demultiplexer.
func (f *fileOp) close() {
	f.stop()
	f.st.Close()
	<-f.demux
	f.demux <- nil // a second close returns at once
}

// fileBody is a download's body: exactly left bytes of a file, or (left -1)
// a tar to the end of the stream, whose end is checked against the exec's
// exit code so a tar the shim could not finish is an error, not an EOF.
type fileBody struct {
	f      *fileOp
	left   int64
	closed bool
}

func (b *fileBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.f.out.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
		if errors.Is(err, io.EOF) && b.left > 0 {
			return n, fmt.Errorf("read file from %s: %w (stderr: %q)", b.f.id, io.ErrUnexpectedEOF, b.f.stderr.String())
		}
		if b.left == 0 {
			err = nil
		}
		return n, err
	}
	if errors.Is(err, io.EOF) {
		if res := b.f.result(); res.ExitCode != 0 {
			return n, fmt.Errorf("tar in %s ended early (exit %d): %s", b.f.id, res.ExitCode, res.Stderr)
		}
	}
	return n, err
}

func (b *fileBody) Close() error {
	if !b.closed {
		b.closed = true
		b.f.close()
	}
	return nil
}
