package cli

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/client"
)

func (a *app) cpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cp SRC ID:DEST | cp ID:SRC DEST",
		Short: "Copy files into or out of a running agent",
		Long: `Copy a file or a directory between this machine and a running agent's container, like podman cp.
One side is ID:PATH, PATH absolute inside the container; the other a local path, or - for
standard input or output (one file's bytes).

A file copied to a PATH ending in / keeps its name inside that directory. A directory is copied
whole: DEST becomes the directory (created), its contents below it. Inside the container, only
/tmp and volumes are writable, and no symlink or .. leads outside it.`,
		Example: `  podrun cp ./script.sh 01J0ABCD:/tmp/script.sh
  podrun cp ./data 01J0ABCD:/tmp/data
  podrun cp 01J0ABCD:/tmp/result.json .
  podrun cp 01J0ABCD:/tmp/out ./out`,
		Args: a.args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcID, src := splitAgentPath(args[0])
			dstID, dst := splitAgentPath(args[1])
			if (srcID == "") == (dstID == "") {
				return &usageError{cmd, errors.New("exactly one of SRC and DEST must be ID:PATH")}
			}
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			if dstID != "" {
				return a.copyIn(cmd, cl, src, dstID, dst)
			}
			return a.copyOut(cmd, cl, srcID, src, dst)
		},
	}
}

// splitAgentPath splits ID:PATH; a local path (no colon before its first slash) gives "" and arg.
func splitAgentPath(arg string) (id, p string) {
	id, p, ok := strings.Cut(arg, ":")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", arg
	}
	return id, p
}

// copyIn uploads the local src (a file, a directory or -) to dst in agent id.
func (a *app) copyIn(cmd *cobra.Command, cl *client.Client, src, id, dst string) error {
	ctx := cmd.Context()
	if src == "-" {
		_, err := cl.PutFile(ctx, id, dst, a.env.Stdin, -1, "")
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return &usageError{cmd, err}
	}
	if fi.IsDir() {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeTar(pw, src)) }()
		_, err := cl.PutArchive(ctx, id, dst, pr, -1)
		pr.Close()
		return err
	}
	if strings.HasSuffix(dst, "/") {
		dst += filepath.Base(src)
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = cl.PutFile(ctx, id, dst, f, fi.Size(), fmt.Sprintf("%04o", fi.Mode().Perm()))
	return err
}

// writeTar writes the tree below dir as a tar, names relative to it; symlinks stay links.
func writeTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		} else if !info.IsDir() && !info.Mode().IsRegular() {
			return nil
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// copyOut downloads src from agent id to the local dst (a file, a directory or -).
func (a *app) copyOut(cmd *cobra.Command, cl *client.Client, id, src, dst string) error {
	ctx := cmd.Context()
	dl, err := cl.GetFile(ctx, id, src)
	if err != nil {
		return err
	}
	if dl.List != nil {
		if dst == "-" {
			return &usageError{cmd, fmt.Errorf("%s is a directory: copy it to a local directory, not -", src)}
		}
		body, err := cl.GetArchive(ctx, id, src)
		if err != nil {
			return err
		}
		defer body.Close()
		return unpackTar(body, dst)
	}
	defer dl.Body.Close()
	if dst == "-" {
		_, err := io.Copy(a.env.Stdout, dl.Body)
		return err
	}
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		dst = filepath.Join(dst, path.Base(src))
	}
	var mode uint32 = 0o644
	_, _ = fmt.Sscanf(dl.Mode, "%o", &mode)
	return writeLocal(dst, fs.FileMode(mode).Perm(), dl.Body)
}

// writeLocal writes r to a temporary file beside dst and renames it to dst once whole.
func writeLocal(dst string, mode fs.FileMode, r io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".podrun-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// unpackTar unpacks a tar from a container into dir (created). The tar is
// not trusted: every name is resolved inside dir through os.Root, so ".."
// or a symlink from the archive cannot lead a file outside it.
func unpackTar(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if name == "." {
			continue
		}
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return err
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, mode|0o700)
		case tar.TypeReg:
			var f *os.File
			if f, err = root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode); err == nil {
				_, err = io.Copy(f, tr)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		case tar.TypeSymlink:
			_ = root.Remove(name)
			err = root.Symlink(hdr.Linkname, name)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
}
