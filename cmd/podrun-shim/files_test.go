package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podrun/podrun/runner/shimproto"
)

// runFiles runs one file operation below top and returns its reply and the bytes after it.
func runFiles(t *testing.T, top string, in []byte, complete bool, args ...string) (shimproto.FileReply, []byte) {
	t.Helper()
	var stdin bytes.Buffer
	cw := shimproto.ChunkWriter{W: &stdin}
	_, _ = cw.Write(in)
	if complete {
		_ = cw.Close()
	}
	var out bytes.Buffer
	filesIn(top, args, &stdin, &out)
	r := bufio.NewReader(&out)
	rep, err := shimproto.ReadReply(r)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	rest, _ := io.ReadAll(r)
	return rep, rest
}

func TestPutGetDelete(t *testing.T) {
	top := t.TempDir()
	rep, _ := runFiles(t, top, []byte("hello"), true, shimproto.FilePut, "/a/b/c.txt", "600")
	if rep.Error != "" || rep.Entry.Size != 5 || rep.Entry.Mode != 0o600 {
		t.Fatalf("put: %+v", rep)
	}
	rep, body := runFiles(t, top, nil, true, shimproto.FileGet, "/a/b/c.txt")
	if rep.Error != "" || string(body) != "hello" {
		t.Fatalf("get: %+v %q", rep, body)
	}
	rep, _ = runFiles(t, top, nil, true, shimproto.FileGet, "/a/b")
	if len(rep.Entries) != 1 || rep.Entries[0].Name != "c.txt" || rep.Entries[0].Type != shimproto.TypeFile {
		t.Fatalf("list: %+v", rep)
	}
	rep, _ = runFiles(t, top, nil, true, shimproto.FileDelete, "/a")
	if rep.Error != "" {
		t.Fatalf("delete: %+v", rep)
	}
	rep, _ = runFiles(t, top, nil, true, shimproto.FileGet, "/a")
	if rep.Error != shimproto.FileErrNotFound {
		t.Fatalf("get after delete: %+v", rep)
	}
}

// TestIncompleteUploadLeavesNothing: a stream cut before its end chunk leaves neither the file nor a temporary one.
func TestIncompleteUploadLeavesNothing(t *testing.T) {
	top := t.TempDir()
	rep, _ := runFiles(t, top, []byte("half"), false, shimproto.FilePut, "/f")
	if rep.Error != shimproto.FileErrIncomplete {
		t.Fatalf("reply %+v, want %s", rep, shimproto.FileErrIncomplete)
	}
	if des, _ := os.ReadDir(top); len(des) != 0 {
		t.Fatalf("left %v", des)
	}
}

// TestEscapesRefused: "..", an absolute symlink and a relative one leading out stay refused.
func TestEscapesRefused(t *testing.T) {
	outside := t.TempDir()
	top := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(top, outside)
	_ = os.Symlink(outside, filepath.Join(top, "abs"))
	_ = os.Symlink(rel, filepath.Join(top, "rel"))
	for _, p := range []string{"/abs/secret", "/rel/secret"} {
		if rep, body := runFiles(t, top, nil, true, shimproto.FileGet, p); rep.Error != shimproto.FileErrInvalid || len(body) != 0 {
			t.Errorf("get %s: %+v %q", p, rep, body)
		}
		if rep, _ := runFiles(t, top, []byte("x"), true, shimproto.FilePut, p); rep.Error != shimproto.FileErrInvalid {
			t.Errorf("put %s: %+v", p, rep)
		}
	}
	// ".." is resolved at the root: /../../secret is /secret below top.
	if rep, _ := runFiles(t, top, []byte("x"), true, shimproto.FilePut, "/../../secret"); rep.Error != "" {
		t.Errorf("put /../../secret: %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(top, "secret")); err != nil {
		t.Errorf("/../../secret did not land at the root: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "s" {
		t.Errorf("outside file changed: %q", b)
	}
	// A tar entry climbing out, or through a symlink it planted, is refused.
	for _, names := range [][]string{{"../evil"}, {"link->" + outside, "link/evil"}} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, n := range names {
			if name, target, ok := strings.Cut(n, "->"); ok {
				_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target})
				continue
			}
			_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: 1})
			_, _ = tw.Write([]byte("x"))
		}
		_ = tw.Close()
		runFiles(t, top, buf.Bytes(), true, shimproto.FilePutTar, "/d")
		if _, err := os.Stat(filepath.Join(outside, "evil")); err == nil {
			t.Errorf("tar %v wrote outside", names)
		}
		if _, err := os.Stat(filepath.Join(top, "evil")); err == nil {
			t.Errorf("tar %v wrote above its directory", names)
		}
	}
}

func TestTarRoundTrip(t *testing.T) {
	top := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o750})
	_ = tw.WriteHeader(&tar.Header{Name: "dir/f", Mode: 0o640, Size: 3})
	_, _ = tw.Write([]byte("abc"))
	_ = tw.WriteHeader(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "dir/f"})
	_ = tw.Close()
	if rep, _ := runFiles(t, top, buf.Bytes(), true, shimproto.FilePutTar, "/x"); rep.Error != "" {
		t.Fatalf("put-tar: %+v", rep)
	}
	rep, body := runFiles(t, top, nil, true, shimproto.FileGetTar, "/x")
	if rep.Error != "" {
		t.Fatalf("get-tar: %+v", rep)
	}
	tr := tar.NewReader(bytes.NewReader(body))
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got = append(got, h.Name+":"+string(b)+":"+h.Linkname)
	}
	want := "dir/::,dir/f:abc:,l::dir/f"
	if strings.Join(got, ",") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}
