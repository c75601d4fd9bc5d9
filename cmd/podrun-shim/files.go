package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/podrun/podrun/runner/shimproto"
)

// filesMain runs one file operation (see shimproto.FilesFlag) and exits 0
// on success. It works inside the container's own mount namespace, as the
// container's user, with every path resolved below the container's root by
// os.Root: a symlink is followed only while it stays inside the tree it was
// opened from, and an absolute symlink or a ".." above it is refused.
func filesMain(args []string, stdin io.Reader, stdout io.Writer) int {
	return filesIn("/", args, stdin, stdout)
}

// filesIn runs the operation with top as the root: "/" in a container, a
// temporary directory in tests.
func filesIn(top string, args []string, stdin io.Reader, stdout io.Writer) int {
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	if len(args) < 2 || len(args) > 3 {
		return reply(out, fileError(fmt.Errorf("%w: usage: podrun-shim --files OP PATH [MODE]", errInvalidArg)))
	}
	op := args[0]
	rel, err := relPath(args[1])
	if err != nil {
		return reply(out, fileError(err))
	}
	mode := fs.FileMode(0o644)
	if len(args) == 3 {
		m, err := strconv.ParseUint(args[2], 8, 32)
		if err != nil || m > 0o777 {
			return reply(out, fileError(fmt.Errorf("%w: mode %q is not octal permission bits", errInvalidArg, args[2])))
		}
		mode = fs.FileMode(m)
	}
	root, err := os.OpenRoot(top)
	if err != nil {
		return reply(out, fileError(err))
	}
	defer root.Close()
	in := &shimproto.ChunkReader{R: bufio.NewReaderSize(stdin, 64<<10)}
	switch op {
	case shimproto.FileGet:
		err = getFile(root, rel, out)
	case shimproto.FilePut:
		err = putFile(root, rel, mode, in, out)
	case shimproto.FileDelete:
		err = deleteFile(root, rel, out)
	case shimproto.FileGetTar:
		err = getTar(root, rel, out)
	case shimproto.FilePutTar:
		err = putTar(root, rel, in, out)
	default:
		err = fmt.Errorf("%w: unknown file operation %q", errInvalidArg, op)
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, errAfterReply) {
		// The reply is out and the body cut short: the reader sees the short body.
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
		return 1
	}
	code := reply(out, fileError(err))
	if op == shimproto.FilePut || op == shimproto.FilePutTar {
		// Podman drops the connection, and output not yet passed on, when
		// stdin breaks: read the rest until podrun, having read the reply,
		// hangs up.
		_ = out.Flush()
		_, _ = io.Copy(io.Discard, stdin)
	}
	return code
}

// errInvalidArg marks a bad path, mode or archive entry.
var errInvalidArg = errors.New("invalid")

// errAfterReply marks a failure after the reply line went out.
var errAfterReply = errors.New("after the reply")

// relPath turns an absolute container path into one relative to the root ("." for "/").
func relPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") || strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%w: path %q must be absolute", errInvalidArg, p)
	}
	rel := strings.TrimPrefix(path.Clean(p), "/")
	if rel == "" {
		rel = "."
	}
	return rel, nil
}

// reply writes the reply line and returns the shim's exit status for it.
func reply(out *bufio.Writer, rep shimproto.FileReply) int {
	js, err := json.Marshal(rep)
	if err != nil {
		js = []byte(`{"error":"io","message":"encode reply"}`)
	}
	_, _ = out.Write(append(js, '\n'))
	if rep.Error != "" {
		return 1
	}
	return 0
}

// fileError describes err in the reply's terms.
func fileError(err error) shimproto.FileReply {
	code := shimproto.FileErrIO
	switch {
	case errors.Is(err, errInvalidArg), errors.Is(err, syscall.ELOOP), strings.Contains(err.Error(), "path escapes from parent"):
		code = shimproto.FileErrInvalid
	case errors.Is(err, shimproto.ErrIncomplete):
		code = shimproto.FileErrIncomplete
	case errors.Is(err, fs.ErrNotExist):
		code = shimproto.FileErrNotFound
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		code = shimproto.FileErrNoSpace
	case errors.Is(err, syscall.EROFS), errors.Is(err, fs.ErrPermission):
		code = shimproto.FileErrPermission
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTDIR), errors.Is(err, fs.ErrExist), errors.Is(err, syscall.ENOTEMPTY):
		code = shimproto.FileErrConflict
	case errors.Is(err, errUnusable):
		code = shimproto.FileErrUnusable
	}
	return shimproto.FileReply{Error: code, Message: err.Error()}
}

// errUnusable marks a file that is neither regular nor a directory.
var errUnusable = errors.New("neither a regular file nor a directory")

// entry describes info, named name; target is a symlink's.
func entry(name string, info fs.FileInfo, target string) shimproto.FileEntry {
	e := shimproto.FileEntry{Name: name, Size: info.Size(), Mode: uint32(info.Mode().Perm()), ModTime: info.ModTime().UTC(), Target: target}
	switch {
	case info.Mode().IsRegular():
		e.Type = shimproto.TypeFile
	case info.IsDir():
		e.Type, e.Size = shimproto.TypeDir, 0
	case info.Mode()&fs.ModeSymlink != 0:
		e.Type = shimproto.TypeSymlink
	default:
		e.Type = shimproto.TypeOther
	}
	return e
}

// getFile answers a file's entry then its bytes, or a directory's listing.
func getFile(root *os.Root, rel string, out *bufio.Writer) error {
	f, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	switch {
	case info.IsDir():
		rep := shimproto.FileReply{Entry: entry(path.Base("/"+rel), info, "")}
		if rep.Entries, err = listDir(root, rel, f); err != nil {
			return err
		}
		reply(out, rep)
		return nil
	case !info.Mode().IsRegular():
		return fmt.Errorf("%s: %w", rel, errUnusable)
	}
	reply(out, shimproto.FileReply{Entry: entry(path.Base("/"+rel), info, "")})
	if _, err := io.CopyN(out, f, info.Size()); err != nil {
		return fmt.Errorf("%w: read %s: %v", errAfterReply, rel, err)
	}
	return nil
}

// listDir lists the open directory dir (rel) by name, without following symlinks.
func listDir(root *os.Root, rel string, dir *os.File) ([]shimproto.FileEntry, error) {
	des, err := dir.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	list := make([]shimproto.FileEntry, 0, len(des))
	for _, de := range des {
		info, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		target := ""
		if de.Type()&fs.ModeSymlink != 0 {
			target, _ = root.Readlink(path.Join(rel, de.Name()))
		}
		list = append(list, entry(de.Name(), info, target))
	}
	slices.SortFunc(list, func(a, b shimproto.FileEntry) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}

// putFile writes in to rel: parents created, the bytes written under a
// temporary name in the same directory and renamed over rel only once the
// whole stream is in, so a reader never sees a partial file under rel.
func putFile(root *os.Root, rel string, mode fs.FileMode, in io.Reader, out *bufio.Writer) error {
	if rel == "." {
		return fmt.Errorf("%w: / is a directory", syscall.EISDIR)
	}
	dir, base := path.Split(rel)
	if dir == "" {
		dir = "."
	}
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d, err := root.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	info, err := writeAside(d, base, mode, in)
	if err != nil {
		return err
	}
	reply(out, shimproto.FileReply{Entry: entry(base, info, "")})
	return nil
}

// writeAside writes in to a new temporary file in d, sets its mode and
// renames it to name; on any failure the temporary file is removed.
func writeAside(d *os.Root, name string, mode fs.FileMode, in io.Reader) (fs.FileInfo, error) {
	if fi, err := d.Lstat(name); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s: %w", name, syscall.EISDIR)
	}
	tmp := "." + name + ".podrun-" + rand.Text()[:10]
	f, err := d.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 256<<10)
	_, err = io.CopyBuffer(f, in, buf)
	if err == nil {
		err = f.Chmod(mode) // exact bits, whatever the umask
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.Rename(tmp, name)
	}
	if err != nil {
		_ = d.Remove(tmp)
		return nil, err
	}
	return d.Lstat(name)
}

// deleteFile removes rel, a directory with all below it; a symlink itself, not its target.
func deleteFile(root *os.Root, rel string, out *bufio.Writer) error {
	if rel == "." {
		return fmt.Errorf("%w: refusing to delete /", errInvalidArg)
	}
	info, err := root.Lstat(rel)
	if err != nil {
		return err
	}
	if err := root.RemoveAll(rel); err != nil {
		return err
	}
	reply(out, shimproto.FileReply{Entry: entry(path.Base(rel), info, "")})
	return nil
}
