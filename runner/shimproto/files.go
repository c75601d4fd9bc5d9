package shimproto

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// WaitFlag makes the shim the PID 1 of a keep-alive agent: it runs nothing,
// reaps orphans and exits 0 at SIGTERM or SIGINT (`SHIM WaitFlag`).
const WaitFlag = "--wait"

// FilesFlag runs one file operation inside the container, in its mount
// namespace and as its user: `SHIM FilesFlag OP PATH [MODE]`. The shim
// answers with one FileReply line on stdout; for FileGet of a file the file's
// bytes follow (exactly Size of them), for FileGetTar a tar stream to EOF.
// FilePut and FilePutTar read their input from stdin in chunks (see
// ChunkWriter): only a complete stream, ended by its empty chunk, is kept.
const FilesFlag = "--files"

// The file operations.
const (
	FileGet    = "get"     // a file's bytes, or a directory's listing
	FilePut    = "put"     // stdin becomes the file (parents created), written aside and renamed
	FileDelete = "delete"  // removes a file, or a directory and all below it
	FileGetTar = "get-tar" // a tar of a file or a directory
	FilePutTar = "put-tar" // unpacks a tar from stdin into a directory (created)
)

// Error codes in FileReply.Error.
const (
	FileErrNotFound   = "not_found"   // the path or one of its parents does not exist
	FileErrNoSpace    = "no_space"    // the file system is full (ENOSPC, EDQUOT)
	FileErrPermission = "permission"  // read-only file system, or the container's user may not
	FileErrConflict   = "conflict"    // a directory where a file is wanted or the reverse
	FileErrInvalid    = "invalid"     // a bad path or archive, or a path leaving the container's tree
	FileErrIncomplete = "incomplete"  // the input ended before its last chunk: nothing was kept
	FileErrIO         = "io"          // any other failure
	FileErrUnusable   = "unsupported" // neither a regular file nor a directory (a device, a fifo)
)

// The FileReply and FileEntry types.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
	TypeOther   = "other"
)

// FileEntry describes one file; Mode holds the permission bits only.
type FileEntry struct {
	Name    string    `json:"name"`
	Type    string    `json:"type"`
	Size    int64     `json:"size"`
	Mode    uint32    `json:"mode"`
	ModTime time.Time `json:"mtime"`
	Target  string    `json:"target,omitempty"` // a symlink's target, as written
}

// FileReply is the shim's first line on stdout for a file operation: Error
// is set on failure, otherwise Entry describes the path (after FilePut, the
// file written) and Entries lists a directory read by FileGet.
type FileReply struct {
	Error   string      `json:"error,omitempty"`
	Message string      `json:"message,omitempty"`
	Entry   FileEntry   `json:"entry"`
	Entries []FileEntry `json:"entries,omitempty"`
}

// MaxReplyLine bounds the reply line a reader accepts: a listing of a large
// directory fits, a corrupt stream does not make podrun read without end.
const MaxReplyLine = 64 << 20

// ReadReply reads the reply line from r, which must stay buffered for the body that follows.
func ReadReply(r *bufio.Reader) (FileReply, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return FileReply{}, fmt.Errorf("read the shim's reply: %w", err)
		}
		if len(line) > MaxReplyLine {
			return FileReply{}, fmt.Errorf("the shim's reply is longer than %d bytes", MaxReplyLine)
		}
	}
	var rep FileReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return FileReply{}, fmt.Errorf("decode the shim's reply: %w", err)
	}
	return rep, nil
}

// maxChunk bounds one chunk, so a corrupt length cannot make the shim allocate without limit.
const maxChunk = 1 << 20

// ChunkWriter frames a stream for FilePut and FilePutTar: each Write is sent
// as chunks of a 4-byte big-endian length and the bytes; Close sends the
// empty chunk that marks a complete stream. A stream cut before Close (the
// client left, the upload was too large) is told apart from a complete one.
type ChunkWriter struct {
	W io.Writer
}

// Write sends b as one or more chunks.
func (c ChunkWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		part := b[:min(len(b), maxChunk)]
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(part)))
		if _, err := c.W.Write(hdr[:]); err != nil {
			return n, err
		}
		m, err := c.W.Write(part)
		n += m
		if err != nil {
			return n, err
		}
		b = b[len(part):]
	}
	return n, nil
}

// Close sends the end-of-stream chunk; it does not close W.
func (c ChunkWriter) Close() error {
	_, err := c.W.Write([]byte{0, 0, 0, 0})
	return err
}

// ErrIncomplete is what a ChunkReader returns when its input ends before the empty chunk.
var ErrIncomplete = errors.New("the stream ended before its end marker")

// ChunkReader reads what a ChunkWriter framed; it returns io.EOF after the
// empty chunk, and ErrIncomplete if the input ends before it.
type ChunkReader struct {
	R    io.Reader
	left uint32
	done bool
}

// Read returns the next bytes of the current chunk.
func (c *ChunkReader) Read(b []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		var hdr [4]byte
		if _, err := io.ReadFull(c.R, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, ErrIncomplete
			}
			return 0, err
		}
		c.left = binary.BigEndian.Uint32(hdr[:])
		if c.left > maxChunk {
			return 0, fmt.Errorf("chunk of %d bytes is over %d", c.left, maxChunk)
		}
		if c.left == 0 {
			c.done = true
			return 0, io.EOF
		}
	}
	n, err := c.R.Read(b[:min(len(b), int(c.left))])
	c.left -= uint32(n)
	if errors.Is(err, io.EOF) {
		if c.left > 0 {
			return n, ErrIncomplete
		}
		err = nil
	}
	return n, err
}
