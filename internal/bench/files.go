package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// benchFiles is scenario 8: one file (--files-size) uploaded to and
// downloaded from a keep-alive agent's /tmp through podrun's files API,
// against `podman cp` of the same file, --files-n times each, alternating.
// Podman 4.3's cp cannot write into the tmpfs of a container in its own user
// namespace (EOVERFLOW: it creates the file as the host's root, unmapped
// there), so when it fails on the agent, podman cp goes to a plain
// container of the same image with a read-only root and a tmpfs /tmp.
func benchFiles(ctx context.Context, b *bench) (*benchResult, error) {
	size := int64(b.opt.filesSize)
	req := b.agentRequest("files", "10m")
	req.KeepAlive = true
	a, err := b.api.CreateAgent(ctx, req)
	if err != nil {
		return nil, err
	}
	defer b.deleteAgent(context.WithoutCancel(ctx), a.ID)
	if a, err = b.await(ctx, a.ID, 2*time.Minute, running); err != nil {
		return nil, err
	}
	if a.State != api.StateRunning {
		return nil, fmt.Errorf("keep-alive agent %s is %s (%s), not running", a.ID, a.State, a.Reason)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	dir, err := os.MkdirTemp("", "podrun-bench-files-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "file.bin")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		return nil, err
	}
	res := newResult()
	target := a.ContainerID
	if _, err := podmanCp(ctx, local, target+":/tmp/podman.bin"); err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("podman cp into podrun's agent failed (%v); the podman cp column is a container without a user namespace", copyError(err.Error())))
		if target, err = b.plainContainer(ctx); err != nil {
			return nil, err
		}
		defer exec.Command("podman", "rm", "--force", "--time", "0", target).Run()
	}
	var up, down, pcIn, pcOut []time.Duration
	for range b.opt.filesN {
		start := time.Now()
		if _, err := b.api.PutFile(ctx, a.ID, "/tmp/podrun.bin", bytes.NewReader(data), size, ""); err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
		up = append(up, time.Since(start))
		start = time.Now()
		dl, err := b.api.GetFile(ctx, a.ID, "/tmp/podrun.bin")
		if err != nil {
			return nil, fmt.Errorf("download: %w", err)
		}
		n, err := io.Copy(io.Discard, dl.Body)
		dl.Body.Close()
		if err != nil || n != size {
			return nil, fmt.Errorf("download: %d of %d bytes: %v", n, size, err)
		}
		down = append(down, time.Since(start))
		if err := b.api.DeleteFile(ctx, a.ID, "/tmp/podrun.bin"); err != nil {
			return nil, err
		}
		d, err := podmanCp(ctx, local, target+":/tmp/podman.bin")
		if err != nil {
			return nil, err
		}
		pcIn = append(pcIn, d)
		back := filepath.Join(dir, "back.bin")
		if d, err = podmanCp(ctx, target+":/tmp/podman.bin", back); err != nil {
			return nil, err
		}
		pcOut = append(pcOut, d)
		if fi, err := os.Stat(back); err != nil || fi.Size() != size {
			return nil, fmt.Errorf("podman cp out: %v, %v", fi, err)
		}
		os.Remove(back)
	}
	t := benchTable{
		Title:   fmt.Sprintf("8. file transfer: %d MiB to and from a keep-alive agent's /tmp, %d times each", size>>20, b.opt.filesN),
		Columns: []string{"", "podrun MB/s (p50)", "podman cp MB/s (p50)", "podrun p50 ms", "podman cp p50 ms"},
	}
	for _, row := range []struct {
		name           string
		podrun, podman []time.Duration
	}{{"upload", up, pcIn}, {"download", down, pcOut}} {
		pr, pm := median(row.podrun), median(row.podman)
		res.value(row.name+"_mb_per_s", mbPerS(size, pr))
		res.value(row.name+"_podman_cp_mb_per_s", mbPerS(size, pm))
		res.Latency[row.name] = summarize(row.podrun)
		res.Latency[row.name+"_podman_cp"] = summarize(row.podman)
		t.add(row.name, fmt.Sprintf("%.0f", mbPerS(size, pr)), fmt.Sprintf("%.0f", mbPerS(size, pm)),
			fmt.Sprintf("%.0f", ms(pr)), fmt.Sprintf("%.0f", ms(pm)))
	}
	t.Notes = append(t.Notes, "podrun's times are whole HTTP calls (client to daemon to Podman exec of the shim inside the container); podman cp's include the CLI's own start")
	res.Tables = append(res.Tables, t)
	return res, nil
}

// plainContainer starts, with the podman CLI, a container of the bench's
// image running sleep with a read-only root and a tmpfs /tmp as podrun's,
// without a user namespace, labelled with the run.
func (b *bench) plainContainer(ctx context.Context) (string, error) {
	args := []string{"run", "--detach", "--rm", "--label", runner.LabelInstance + "=" + b.runID, "--label", labelBaseline + "=podman-cp", "--read-only",
		"--tmpfs", "/tmp:rw,mode=1777,size=" + strconv.Itoa(2*b.opt.filesSize), "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
	if i := slices.Index(b.baselineArgs, "--runtime"); i >= 0 && i+1 < len(b.baselineArgs) {
		args = append(args, "--runtime", b.baselineArgs[i+1])
	}
	out, err := exec.CommandContext(ctx, "podman", append(args, b.opt.image, "sleep", "600")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("podman run for the podman cp baseline: %v: %s", err, bytes.TrimSpace(out))
	}
	return string(bytes.TrimSpace(out)), nil
}

// copyError picks the line of podman cp's error that says what failed inside the container.
func copyError(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, "copying to container") {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		}
	}
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// podmanCp runs `podman cp src dst` and times it.
func podmanCp(ctx context.Context, src, dst string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, "podman", "cp", src, dst)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("podman cp %s %s: %v: %s", src, dst, err, bytes.TrimSpace(out))
	}
	return time.Since(start), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// mbPerS is size bytes over d, in megabytes (10^6) per second.
func mbPerS(size int64, d time.Duration) float64 {
	return ratio(float64(size)/1e6, d.Seconds())
}
