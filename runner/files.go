package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of file transfers, beyond the domain errors.
var (
	// ErrTooLarge is an upload over the configured maximum (Config.MaxUpload).
	ErrTooLarge = errors.New("too large")
	// ErrNoSpace is a write the container's file system had no room for
	// (its /tmp is a size-capped tmpfs): nothing was kept under the path.
	ErrNoSpace = errors.New("no space left in the container's file system")
	// ErrForbidden is a write to a read-only place, or one the container's user may not make.
	ErrForbidden = errors.New("forbidden")
)

// FileSandbox moves files in and out of a running container, doing the work
// inside it, in its own mount namespace and as its user, so no path or
// symlink can lead outside the container's tree. Errors: ErrNotFound for a
// missing path, ErrNoSpace, ErrForbidden, ErrConflict (a directory where a
// file is wanted or the reverse), ErrInvalid (a bad path or archive, or one
// leading outside through a symlink), ErrNoContainer.
type FileSandbox interface {
	// WriteFile writes w.Body to w.Path (parents created), or unpacks the tar
	// it holds below w.Path when w.Archive. A file appears under its name
	// only once whole. An error reading w.Body aborts the write and is returned wrapped.
	WriteFile(ctx context.Context, container string, w FileWrite) (FileEntry, error)
	// ReadFile opens path: a file's bytes, a directory's listing, or a tar of
	// either when archive. The caller closes FileRead.Body.
	ReadFile(ctx context.Context, container, path string, archive bool) (FileRead, error)
	// RemoveFile removes path: a file, a symlink itself, or a directory with all below it.
	RemoveFile(ctx context.Context, container, path string) (FileEntry, error)
}

// FileWrite is one upload.
type FileWrite struct {
	Path    string // absolute, cleaned
	Mode    uint32 // permission bits of a file (not used for an archive)
	Archive bool   // Body is a tar to unpack below Path
	Body    io.Reader
}

// FileRead is one download. Body streams a file's bytes (Entry.Size of
// them) or a tar; it is nil for a directory's listing, held in Entries.
type FileRead struct {
	Entry   FileEntry
	Entries []FileEntry
	Body    io.ReadCloser
}

// FileEntry describes one file in a container.
type FileEntry struct {
	Name    string
	Type    string // FileTypeFile, FileTypeDir, FileTypeSymlink or FileTypeOther
	Size    int64  // bytes; 0 for a directory
	Mode    uint32 // permission bits
	ModTime time.Time
	Target  string // a symlink's target, as written
}

// File types in FileEntry.Type.
const (
	FileTypeFile    = "file"
	FileTypeDir     = "dir"
	FileTypeSymlink = "symlink"
	FileTypeOther   = "other"
)

// DefaultFileMode is an uploaded file's mode when the request gives none.
const DefaultFileMode = 0o644

// FileWriteRequest is an upload as a client asks for it.
type FileWriteRequest struct {
	Path    string
	Mode    string // octal permission bits; "" is DefaultFileMode
	Archive bool
	Body    io.Reader
	// Size is the body's length when known in advance, -1 otherwise; a known
	// size over the maximum is refused before anything is written.
	Size int64
}

// WriteFile writes a file into a running agent (or unpacks a tar there).
// The body is streamed; past Config.MaxUpload bytes the write is abandoned,
// nothing is kept under the path, and the error is ErrTooLarge.
func (r *Runner) WriteFile(ctx context.Context, id string, req FileWriteRequest) (FileEntry, error) {
	p, err := ValidateFilePath(req.Path)
	if err != nil {
		return FileEntry{}, err
	}
	mode := uint32(DefaultFileMode)
	if req.Mode != "" {
		m, err := strconv.ParseUint(req.Mode, 8, 32)
		if err != nil || m > 0o777 {
			return FileEntry{}, invalid("mode", "must be octal permission bits like 0644")
		}
		mode = uint32(m)
	}
	if req.Size > r.cfg.MaxUpload {
		return FileEntry{}, fmt.Errorf("%w: the upload is %d bytes, over the maximum of %d (files.max_upload)", ErrTooLarge, req.Size, r.cfg.MaxUpload)
	}
	fsb, a, err := r.fileAgent(ctx, id)
	if err != nil {
		return FileEntry{}, err
	}
	defer r.Touch(ctx, id)()
	body := &limitReader{r: req.Body, left: r.cfg.MaxUpload}
	e, err := fsb.WriteFile(ctx, a.ContainerID, FileWrite{Path: p, Mode: mode, Archive: req.Archive, Body: body})
	if body.over {
		return FileEntry{}, fmt.Errorf("%w: the upload is over the maximum of %d bytes (files.max_upload)", ErrTooLarge, r.cfg.MaxUpload)
	}
	return e, err
}

// ReadFile reads a file or directory of a running agent; see FileSandbox.ReadFile.
func (r *Runner) ReadFile(ctx context.Context, id, filePath string, archive bool) (FileRead, error) {
	p, err := ValidateFilePath(filePath)
	if err != nil {
		return FileRead{}, err
	}
	fsb, a, err := r.fileAgent(ctx, id)
	if err != nil {
		return FileRead{}, err
	}
	done := r.Touch(ctx, id)
	fr, err := fsb.ReadFile(ctx, a.ContainerID, p, archive)
	if err != nil || fr.Body == nil {
		done()
		return fr, err
	}
	// A download is activity until its body is closed, however long it streams.
	fr.Body = &touchedBody{ReadCloser: fr.Body, done: done}
	return fr, nil
}

// touchedBody ends a download's activity (Runner.Touch) when it is closed.
type touchedBody struct {
	io.ReadCloser
	done func()
}

func (b *touchedBody) Close() error {
	defer b.done()
	return b.ReadCloser.Close()
}

// RemoveFile removes a file or directory (with all below it) of a running agent.
func (r *Runner) RemoveFile(ctx context.Context, id, filePath string) (FileEntry, error) {
	p, err := ValidateFilePath(filePath)
	if err != nil {
		return FileEntry{}, err
	}
	if p == "/" {
		return FileEntry{}, invalid("path", "must not be /")
	}
	fsb, a, err := r.fileAgent(ctx, id)
	if err != nil {
		return FileEntry{}, err
	}
	defer r.Touch(ctx, id)()
	return fsb.RemoveFile(ctx, a.ContainerID, p)
}

// fileAgent returns the running agent and the sandbox's file capability.
func (r *Runner) fileAgent(ctx context.Context, id string) (FileSandbox, Agent, error) {
	fsb, ok := r.sb.(FileSandbox)
	if !ok {
		return nil, Agent{}, fmt.Errorf("%w: this sandbox cannot move files", ErrConflict)
	}
	a, err := r.execAgent(ctx, id)
	return fsb, a, err
}

// MaxFilePath bounds a path's length, as PATH_MAX does.
const MaxFilePath = 4096

// ValidateFilePath checks a container path and returns it cleaned: absolute,
// UTF-8, no NUL, at most MaxFilePath bytes. ".." is resolved lexically at
// the root, as the kernel does ("/../etc" is "/etc").
func ValidateFilePath(p string) (string, error) {
	switch {
	case p == "":
		return "", invalid("path", "is required")
	case !strings.HasPrefix(p, "/"):
		return "", invalid("path", "must be absolute")
	case len(p) > MaxFilePath:
		return "", invalid("path", "must be at most %d bytes", MaxFilePath)
	case !utf8.ValidString(p) || strings.IndexByte(p, 0) >= 0:
		return "", invalid("path", "must be UTF-8 without NUL")
	}
	return path.Clean(p), nil
}

// limitReader passes at most left bytes and marks an attempt to read past them.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body of exactly the maximum from a larger one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(b)) > l.left {
		b = b[:l.left]
	}
	n, err := l.r.Read(b)
	l.left -= int64(n)
	return n, err
}
