package main

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/podrun/podrun/runner/shimproto"
)

// getTar answers rel's entry, then a tar of it: a file alone, or a
// directory's whole tree below it, names relative to it. Symlinks are stored
// as links, never followed; devices, fifos and sockets are left out.
func getTar(root *os.Root, rel string, out *bufio.Writer) error {
	info, err := root.Lstat(rel)
	if err != nil {
		return err
	}
	if !info.IsDir() && !info.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", rel, errUnusable)
	}
	reply(out, shimproto.FileReply{Entry: entry(path.Base("/"+rel), info, "")})
	tw := tar.NewWriter(out)
	if info.Mode().IsRegular() {
		dir, base := path.Split(rel)
		if dir == "" {
			dir = "."
		}
		err = tarTree(root, dir, []string{base}, tw)
	} else {
		err = tarTree(root, rel, nil, tw)
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return fmt.Errorf("%w: tar %s: %v", errAfterReply, rel, err)
	}
	return nil
}

// tarTree writes the tree below dir to tw, or only the named entries of dir.
func tarTree(root *os.Root, dir string, only []string, tw *tar.Writer) error {
	sub, err := root.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer sub.Close()
	return fs.WalkDir(sub.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if only != nil && !slices.Contains(only, p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		return tarEntry(sub, p, d, tw)
	})
}

// tarEntry writes one entry; a file is copied from its own open descriptor,
// exactly the size its header says.
func tarEntry(sub *os.Root, p string, d fs.DirEntry, tw *tar.Writer) error {
	info, err := d.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed meanwhile
	} else if err != nil {
		return err
	}
	link := ""
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		if link, err = sub.Readlink(p); err != nil {
			return err
		}
	case !info.IsDir() && !info.Mode().IsRegular():
		return nil
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name, hdr.Uname, hdr.Gname = p, "", ""
	if info.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := sub.OpenFile(p, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyN(tw, f, hdr.Size)
	return err
}

// noFollow is O_NOFOLLOW: an entry swapped for a symlink after the walk saw it is not read.
const noFollow = 0x20000

// putTar unpacks the tar on in below rel (created). Every name is resolved
// inside rel: an entry named "../x" or reached through a symlink pointing
// outside is refused, and a symlink in the archive is created as a link,
// never written through. Files go through writeAside, so each appears whole
// or not at all; directory modes are applied last.
func putTar(root *os.Root, rel string, in io.Reader, out *bufio.Writer) error {
	if err := root.MkdirAll(rel, 0o755); err != nil {
		return err
	}
	sub, err := root.OpenRoot(rel)
	if err != nil {
		return err
	}
	defer sub.Close()
	tr := tar.NewReader(in)
	type dirMode struct {
		name string
		mode fs.FileMode
	}
	var dirs []dirMode
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return tarErr(err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if name == "." {
			continue
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		if err := unpackEntry(sub, name, hdr, mode, tr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, dirMode{name, mode})
		}
	}
	// The archive's end marker is not the stream's: read to the end chunk.
	if _, err := io.Copy(io.Discard, in); err != nil {
		return err
	}
	for _, d := range slices.Backward(dirs) {
		if err := sub.Chmod(d.name, d.mode); err != nil {
			return err
		}
	}
	info, err := root.Lstat(rel)
	if err != nil {
		return err
	}
	reply(out, shimproto.FileReply{Entry: entry(path.Base("/"+rel), info, "")})
	return nil
}

// tarErr keeps the chunk reader's and the file system's errors and marks the rest as a bad archive.
func tarErr(err error) error {
	if errors.Is(err, shimproto.ErrIncomplete) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", shimproto.ErrIncomplete, err)
	}
	return fmt.Errorf("%w: read archive: %v", errInvalidArg, err)
}

func unpackEntry(sub *os.Root, name string, hdr *tar.Header, mode fs.FileMode, r io.Reader) error {
	dir := path.Dir(name)
	if err := sub.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return sub.MkdirAll(name, 0o755)
	case tar.TypeReg, tar.TypeRegA:
		d, err := sub.OpenRoot(dir)
		if err != nil {
			return err
		}
		defer d.Close()
		_, err = writeAside(d, path.Base(name), mode, r)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return tarErr(err)
		}
		return err
	case tar.TypeSymlink:
		if err := sub.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return sub.Symlink(hdr.Linkname, name)
	case tar.TypeLink:
		if err := sub.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return sub.Link(path.Clean(strings.TrimPrefix(hdr.Linkname, "/")), name)
	default:
		return fmt.Errorf("%w: entry type %q is not a file, directory or link", errInvalidArg, hdr.Typeflag)
	}
}
