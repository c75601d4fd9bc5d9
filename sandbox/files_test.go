package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// filesPodman returns a shim'd sandbox whose containers get a /tmp of tmpfs bytes.
func filesPodman(t *testing.T, tmpfs int64) *Podman {
	t.Helper()
	cfg := testConfig()
	cfg.ShimPath, cfg.TmpfsSize = shimPath, tmpfs
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// randomData is a reader of n pseudo-random bytes, the same for a seed.
func randomData(seed uint64, n int64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// readAll downloads path and returns its entry and bytes.
func readAll(t *testing.T, p *Podman, id, path string, archive bool) (runner.FileRead, []byte) {
	t.Helper()
	fr, err := p.ReadFile(context.Background(), id, path, archive)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", path, err)
	}
	if fr.Body == nil {
		return fr, nil
	}
	defer fr.Body.Close()
	b, err := io.ReadAll(fr.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return fr, b
}

// TestFilesRoundTrip50MiB uploads 50 MiB of random bytes and downloads them byte for byte.
func TestFilesRoundTrip50MiB(t *testing.T) {
	p := filesPodman(t, 128<<20)
	id := runnertest.StartDetached(t, p, keepAliveSpec(""))
	const size = 50 << 20
	want := sha256.New()
	start := time.Now()
	e, err := p.WriteFile(context.Background(), id, runner.FileWrite{Path: "/tmp/in/big.bin", Mode: 0o600, Body: io.TeeReader(randomData(1, size), want)})
	if err != nil {
		t.Fatal(err)
	}
	up := time.Since(start)
	if e.Size != size || e.Mode != 0o600 || e.Type != runner.FileTypeFile {
		t.Errorf("entry %+v, want a file of %d bytes, mode 0600", e, size)
	}
	start = time.Now()
	fr, err := p.ReadFile(context.Background(), id, "/tmp/in/big.bin", false)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, fr.Body)
	fr.Body.Close()
	if err != nil || n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("download: %d bytes, %v, sha256 equal %v", n, err, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	t.Logf("50 MiB up in %v, down in %v", up, time.Since(start))
	fr, _ = readAll(t, p, id, "/tmp/in", false)
	if len(fr.Entries) != 1 || fr.Entries[0].Name != "big.bin" || fr.Entries[0].Size != size {
		t.Errorf("listing %+v, want big.bin alone", fr.Entries)
	}
	if _, err := p.RemoveFile(context.Background(), id, "/tmp/in"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadFile(context.Background(), id, "/tmp/in", false); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("ReadFile after RemoveFile = %v, want ErrNotFound", err)
	}
}

// TestFilesStayInsideTheContainer: symlinks planted in the container (to
// /etc/shadow, to its host path, to a host directory) and "../" never lead
// a read or a write outside the container.
func TestFilesStayInsideTheContainer(t *testing.T) {
	p := filesPodman(t, 16<<20)
	ctx := context.Background()
	id := runnertest.StartDetached(t, p, keepAliveSpec(""))
	hostDir := t.TempDir()
	_ = os.Chmod(hostDir, 0o777)
	hostShadow, _ := os.ReadFile("/etc/shadow")
	plant := "ln -s /etc/shadow /tmp/abs && ln -s ../../../../../../../etc/shadow /tmp/up && " +
		"ln -s " + hostDir + " /tmp/hostdir && ln -s ../../../../../../.." + hostDir + " /tmp/hostup && mkdir /tmp/d"
	if res, err := p.Exec(ctx, id, runner.ExecSpec{Command: []string{"sh", "-c", plant}, Timeout: time.Minute}); err != nil || res.ExitCode != 0 {
		t.Fatalf("plant links: %+v, %v", res, err)
	}
	for _, path := range []string{"/tmp/abs", "/tmp/up", "/tmp/hostdir", "/tmp/hostup/x", "/tmp/../../../../etc/shadow", "/proc/1/root/etc/shadow"} {
		fr, err := p.ReadFile(ctx, id, path, false)
		if err == nil {
			b, _ := io.ReadAll(fr.Body)
			fr.Body.Close()
			if len(hostShadow) > 0 && bytes.Equal(b, hostShadow) {
				t.Errorf("ReadFile(%s) returned the host's /etc/shadow", path)
			}
		}
		t.Logf("ReadFile(%s): %v", path, err)
		for _, archive := range []bool{false, true} {
			_, err := p.WriteFile(ctx, id, runner.FileWrite{Path: path + "/escape", Mode: 0o644, Archive: archive, Body: strings.NewReader(tarOf(t, "escape", "x"))})
			if err == nil {
				t.Errorf("WriteFile(%s/escape, archive %v) succeeded", path, archive)
			}
		}
	}
	// A tar climbing out of its directory, or through a link it planted.
	for _, names := range [][]string{{"../../../../../../.." + hostDir + "/escape"}, {"l->" + hostDir, "l/escape"}, {"r->../../../../../../.." + hostDir, "r/escape"}} {
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
		_, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/d", Archive: true, Body: &buf})
		t.Logf("tar %v: %v", names, err)
	}
	if des, _ := os.ReadDir(hostDir); len(des) != 0 {
		t.Errorf("the host directory got %v", des)
	}
	// The read-only root stays read-only, whatever the path says.
	if _, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/../etc/passwd", Mode: 0o644, Body: strings.NewReader("x")}); !errors.Is(err, runner.ErrForbidden) {
		t.Errorf("WriteFile(/tmp/../etc/passwd) = %v, want ErrForbidden", err)
	}
}

// tarOf is a tar holding one file.
func tarOf(t *testing.T, name, content string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	return buf.String()
}

// TestFilesInAScratchImage moves files in and out of a container whose image has no shell and no tar.
func TestFilesInAScratchImage(t *testing.T) {
	p := filesPodman(t, 16<<20)
	ctx := context.Background()
	image := buildScratchImage(t, "proctree", filepath.Join("testdata", "proctree", "main.go"))
	id := runnertest.StartDetached(t, p, keepAliveSpec(image))
	if _, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/hello.txt", Mode: 0o644, Body: strings.NewReader("hello\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/t", Archive: true, Body: strings.NewReader(tarOf(t, "sub/a.txt", "aaa"))}); err != nil {
		t.Fatal(err)
	}
	if _, b := readAll(t, p, id, "/tmp/hello.txt", false); string(b) != "hello\n" {
		t.Errorf("read back %q", b)
	}
	_, b := readAll(t, p, id, "/tmp", true)
	if got := tarNames(t, b); got != "hello.txt,t/,t/sub/,t/sub/a.txt=aaa" {
		t.Errorf("tar of /tmp holds %s", got)
	}
}

// tarNames lists a tar's entries in order, with a file's content after "=".
func tarNames(t *testing.T, b []byte) string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return strings.Join(names, ",")
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		c, _ := io.ReadAll(tr)
		n := h.Name
		if len(c) > 0 && h.Name != "hello.txt" {
			n += "=" + string(c)
		}
		names = append(names, n)
	}
}

// TestFilesFullTmpfs: an upload larger than /tmp's room fails with
// ErrNoSpace and leaves nothing behind, not even its temporary file.
func TestFilesFullTmpfs(t *testing.T) {
	p := filesPodman(t, 4<<20)
	ctx := context.Background()
	id := runnertest.StartDetached(t, p, keepAliveSpec(""))
	_, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/big", Mode: 0o644, Body: randomData(2, 8<<20)})
	if !errors.Is(err, runner.ErrNoSpace) {
		t.Fatalf("WriteFile = %v, want ErrNoSpace", err)
	}
	t.Logf("full: %v", err)
	if fr, _ := readAll(t, p, id, "/tmp", false); len(fr.Entries) != 0 {
		t.Errorf("/tmp holds %+v after the failed upload", fr.Entries)
	}
	// A cut stream (the client left) keeps nothing either.
	cut := io.MultiReader(strings.NewReader("partial"), errReader{errors.New("client went away")})
	if _, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/cut", Mode: 0o644, Body: cut}); err == nil || !strings.Contains(err.Error(), "client went away") {
		t.Errorf("WriteFile of a cut stream = %v", err)
	}
	if fr, _ := readAll(t, p, id, "/tmp", false); len(fr.Entries) != 0 {
		t.Errorf("/tmp holds %+v after the cut upload", fr.Entries)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// blockingReader yields its data, then blocks until ctx ends.
type blockingReader struct {
	data io.Reader
	ctx  context.Context
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if n, err := b.data.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

// TestFilesUploadCancelledLeavesNothing: the caller's context ends in the
// middle of an upload whose body stalls (a client gone silent): the write
// ends, and neither the file nor its temporary name stays in /tmp.
func TestFilesUploadCancelledLeavesNothing(t *testing.T) {
	p := filesPodman(t, 16<<20)
	id := runnertest.StartDetached(t, p, keepAliveSpec(""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	body := &blockingReader{data: randomData(3, 1<<20), ctx: context.Background()}
	stall, unstall := context.WithCancel(context.Background())
	defer unstall()
	body.ctx = stall
	if _, err := p.WriteFile(ctx, id, runner.FileWrite{Path: "/tmp/stalled", Mode: 0o644, Body: body}); err == nil {
		t.Fatal("WriteFile of a stalled body whose context ended succeeded")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		fr, _ := readAll(t, p, id, "/tmp", false)
		if len(fr.Entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/tmp still holds %+v 30s after the cancelled upload", fr.Entries)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestFilesInParallel moves 8 files in and out of one agent at once: each
// transfer has its own connection, so none hangs or crosses another's stream.
func TestFilesInParallel(t *testing.T) {
	p := filesPodman(t, 64<<20)
	id := runnertest.StartDetached(t, p, keepAliveSpec(""))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			path := "/tmp/p" + strconv.Itoa(i)
			var want bytes.Buffer
			if _, err := p.WriteFile(ctx, id, runner.FileWrite{Path: path, Mode: 0o644, Body: io.TeeReader(randomData(uint64(10+i), 2<<20), &want)}); err != nil {
				t.Errorf("%s: %v", path, err)
				return
			}
			fr, err := p.ReadFile(ctx, id, path, false)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				return
			}
			got, err := io.ReadAll(fr.Body)
			fr.Body.Close()
			if err != nil || !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s: read back %d bytes, equal %v, %v", path, len(got), bytes.Equal(got, want.Bytes()), err)
			}
		})
	}
	wg.Wait()
}

// TestFilesInAContainerWithoutTheShim: a container created before the shim
// was mounted answers ErrConflict saying so, not a broken stream.
func TestFilesInAContainerWithoutTheShim(t *testing.T) {
	id := runnertest.StartDetached(t, newPodman(t), runnertest.Spec(labels, "sleep", "60"))
	p := filesPodman(t, 16<<20)
	_, err := p.WriteFile(context.Background(), id, runner.FileWrite{Path: "/tmp/x", Mode: 0o644, Body: strings.NewReader("x")})
	if !errors.Is(err, runner.ErrConflict) || !strings.Contains(err.Error(), "no podrun shim") {
		t.Errorf("WriteFile = %v, want ErrConflict naming the missing shim", err)
	}
	if _, err := p.ReadFile(context.Background(), id, "/tmp", false); !errors.Is(err, runner.ErrConflict) {
		t.Errorf("ReadFile = %v, want ErrConflict", err)
	}
}
