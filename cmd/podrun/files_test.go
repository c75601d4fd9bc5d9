package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/configs"
)

// keepAlive creates a keep-alive agent and waits until it runs.
func (d *testDaemon) keepAlive(t *testing.T) api.Agent {
	t.Helper()
	a := d.create(t, api.AgentRequest{KeepAlive: true, TTL: "5m"})
	return d.await(t, a.ID, 30*time.Second, api.StateRunning)
}

// TestKeepAliveSandbox: an agent created with keep_alive and no command
// runs on though busybox's own command (sh) exits at once, takes execs,
// and ends at DELETE; keep_alive with a command or stdin is refused.
func TestKeepAliveSandbox(t *testing.T) {
	d := startDaemon(t, nil)
	a := d.keepAlive(t)
	if !a.KeepAlive {
		t.Errorf("agent %+v does not say keep_alive", a)
	}
	time.Sleep(2 * time.Second)
	if a = d.get(t, a.ID); a.State != api.StateRunning {
		t.Fatalf("after 2s the agent is %s/%s, want running", a.State, a.Reason)
	}
	res, err := d.api.Exec(t.Context(), a.ID, api.ExecRequest{Command: []string{"echo", "hi"}})
	if err != nil || res.Stdout != "hi\n" {
		t.Fatalf("exec = %+v, %v", res, err)
	}
	d.delete(t, a.ID)
	if a = d.await(t, a.ID, 30*time.Second, api.StateTerminated); a.Reason != api.ReasonDeleted {
		t.Errorf("after DELETE: %s/%s", a.State, a.Reason)
	}
	stdin := "x"
	for field, req := range map[string]api.AgentRequest{
		"command": {KeepAlive: true, Command: []string{"sleep", "1"}},
		"stdin":   {KeepAlive: true, Stdin: &stdin},
	} {
		req.Image = "localhost/podrun/busybox:latest"
		_, err := d.api.CreateAgent(t.Context(), req)
		if e := apiError(t, "keep_alive with "+field, err); e.Status != http.StatusBadRequest || e.Field != field {
			t.Errorf("keep_alive with %s = %d field %q, want 400 naming %s", field, e.Status, e.Field, field)
		}
	}
}

// listTmp lists /tmp of an agent by name.
func listTmp(t *testing.T, d *testDaemon, id string) []string {
	t.Helper()
	dl, err := d.api.GetFile(t.Context(), id, "/tmp")
	if err != nil || dl.List == nil {
		t.Fatalf("list /tmp = %+v, %v", dl, err)
	}
	var names []string
	for _, e := range dl.List.Entries {
		names = append(names, e.Name)
	}
	return names
}

// TestFileUploadBounds: an upload over files.max_upload is 413 (whether its
// length is announced or not) and one over the free room of /tmp is 507;
// neither leaves a file, whole or partial, behind.
func TestFileUploadBounds(t *testing.T) {
	d := startDaemon(t, func(c *configs.Config) {
		c.Files.MaxUpload = 1 << 20
		c.Sandbox.TmpfsSize = 2 << 20
	})
	a := d.keepAlive(t)
	big := make([]byte, 3<<20)
	_, _ = rand.Read(big)
	for _, size := range []int64{int64(len(big)), -1} {
		_, err := d.api.PutFile(t.Context(), a.ID, "/tmp/big", io.MultiReader(bytes.NewReader(big)), size, "")
		if e := apiError(t, "upload over max_upload", err); e.Status != http.StatusRequestEntityTooLarge || e.Code != api.CodeTooLarge {
			t.Errorf("upload of 3 MiB (length %d) = %d %s, want 413", size, e.Status, e.Code)
		}
	}
	// Two files of 0.9 MiB fit the 2 MiB /tmp; a third does not.
	part := big[:900<<10]
	for _, name := range []string{"one", "two"} {
		if _, err := d.api.PutFile(t.Context(), a.ID, "/tmp/"+name, bytes.NewReader(part), -1, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, err := d.api.PutFile(t.Context(), a.ID, "/tmp/three", bytes.NewReader(part), -1, "")
	e := apiError(t, "upload over /tmp's room", err)
	if e.Status != http.StatusInsufficientStorage || e.Code != api.CodeNoSpace || !strings.Contains(e.Message, "no space") {
		t.Errorf("upload of 0.9 MiB into a /tmp with less room = %d %s %q, want 507 no_space", e.Status, e.Code, e.Message)
	}
	if names := listTmp(t, d, a.ID); strings.Join(names, ",") != "one,two" {
		t.Errorf("/tmp holds %v after the refused uploads, want one,two", names)
	}
	// A read-only root answers 403.
	_, err = d.api.PutFile(t.Context(), a.ID, "/etc/x", strings.NewReader("x"), 1, "")
	if e := apiError(t, "write to /etc", err); e.Status != http.StatusForbidden {
		t.Errorf("write to /etc = %d %s", e.Status, e.Code)
	}
}

// TestFileTransferOverHTTP: a file up and down byte for byte with its mode, a tar in and out, delete.
func TestFileTransferOverHTTP(t *testing.T) {
	d := startDaemon(t, nil)
	fileRoundTrip(t, d, d.keepAlive(t))
}

// fileRoundTrip uploads a file and a tar to agent a, downloads both back
// byte for byte, and deletes them.
func fileRoundTrip(t *testing.T, d *testDaemon, a api.Agent) {
	t.Helper()
	data := make([]byte, 5<<20+7)
	_, _ = rand.Read(data)
	e, err := d.api.PutFile(t.Context(), a.ID, "/tmp/x/data.bin", bytes.NewReader(data), int64(len(data)), "0750")
	if err != nil || e.Size != int64(len(data)) || e.Mode != "0750" {
		t.Fatalf("PutFile = %+v, %v", e, err)
	}
	dl, err := d.api.GetFile(t.Context(), a.ID, "/tmp/x/data.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(dl.Body)
	dl.Body.Close()
	if err != nil || !bytes.Equal(got, data) || dl.Size != int64(len(data)) || dl.Mode != "0750" {
		t.Fatalf("GetFile: %d bytes (Content-Length %d, mode %s), equal %v, %v", len(got), dl.Size, dl.Mode, bytes.Equal(got, data), err)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	_ = tw.WriteHeader(&tar.Header{Name: "sub/", Typeflag: tar.TypeDir, Mode: 0o755})
	_ = tw.WriteHeader(&tar.Header{Name: "sub/f.txt", Mode: 0o600, Size: 3})
	_, _ = tw.Write([]byte("abc"))
	_ = tw.Close()
	if _, err := d.api.PutArchive(t.Context(), a.ID, "/tmp/x", &tb, int64(tb.Len())); err != nil {
		t.Fatal(err)
	}
	body, err := d.api.GetArchive(t.Context(), a.ID, "/tmp/x")
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(body)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	body.Close()
	if strings.Join(names, ",") != "data.bin,sub/,sub/f.txt" {
		t.Errorf("tar of /tmp/x holds %v", names)
	}
	if err := d.api.DeleteFile(t.Context(), a.ID, "/tmp/x"); err != nil {
		t.Fatal(err)
	}
	if names := listTmp(t, d, a.ID); len(names) != 0 {
		t.Errorf("/tmp holds %v after DELETE", names)
	}
}

// TestCLICopy copies a file and a directory into a keep-alive agent and back with podrun cp.
func TestCLICopy(t *testing.T) {
	d := startDaemon(t, nil)
	id := strings.TrimSpace(d.podrun(t, "", "run", "--keep-alive", "localhost/podrun/busybox:latest").want(t, 0, "run --keep-alive").stdout)
	d.await(t, id, 30*time.Second, api.StateRunning)
	if ps := d.podrun(t, "", "ps").want(t, 0, "ps").stdout; !strings.Contains(ps, "(keep-alive)") {
		t.Errorf("ps does not show the keep-alive agent as one:\n%s", ps)
	}
	src := t.TempDir()
	_ = os.WriteFile(filepath.Join(src, "a.txt"), []byte("aaa"), 0o640)
	_ = os.MkdirAll(filepath.Join(src, "dir", "deep"), 0o755)
	_ = os.WriteFile(filepath.Join(src, "dir", "deep", "b.txt"), []byte("bbb"), 0o644)
	d.podrun(t, "", "cp", filepath.Join(src, "a.txt"), id+":/tmp/in/").want(t, 0, "cp file in")
	d.podrun(t, "", "cp", filepath.Join(src, "dir"), id+":/tmp/in/dir").want(t, 0, "cp dir in")
	out := t.TempDir()
	d.podrun(t, "", "cp", id+":/tmp/in", filepath.Join(out, "back")).want(t, 0, "cp dir out")
	for rel, want := range map[string]string{"a.txt": "aaa", "dir/deep/b.txt": "bbb"} {
		if b, err := os.ReadFile(filepath.Join(out, "back", rel)); err != nil || string(b) != want {
			t.Errorf("%s came back as %q, %v", rel, b, err)
		}
	}
	if got := d.podrun(t, "", "cp", id+":/tmp/in/a.txt", "-").want(t, 0, "cp file to stdout").stdout; got != "aaa" {
		t.Errorf("cp to - printed %q", got)
	}
	if fi, err := os.Stat(filepath.Join(out, "back", "a.txt")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("a.txt came back with %v, %v; want mode 0640", fi.Mode(), err)
	}
}
