package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/sandbox"
)

// labelBaseline marks the baselines' containers (besides podrun.instance), so cleanup knows they are not podrun's.
const labelBaseline = "podrun.bench"

// baselineSpec is the container both baselines run: `cat` with the bench's
// limits, labelled with the run and the baseline's kind.
func (b *bench) baselineSpec(kind string) runner.Spec {
	return runner.Spec{
		Image: b.opt.image, Command: []string{"cat"}, Limits: b.limits,
		Labels: map[string]string{runner.LabelInstance: b.runID, labelBaseline: kind},
	}
}

// podmanRunArgs is baseline (a): `podman run --rm` of the container
// sandbox.Harden makes of the baseline spec under cfg (the bare sandbox's,
// podrun's own), its flags rendered from that spec by sandbox.RunArgs.
func (b *bench) podmanRunArgs(cfg sandbox.Config) ([]string, error) {
	args, err := sandbox.RunArgs(b.baselineSpec("podman-run"), cfg)
	if err != nil {
		return nil, fmt.Errorf("baseline (a): %w", err)
	}
	return append([]string{"run", "--rm", "--pull=never"}, args...), nil
}

// podmanRun runs baseline (a) once with body on stdin and checks the echo.
func (b *bench) podmanRun(ctx context.Context, body []byte) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, "podman", b.baselineArgs...)
	cmd.Stdin = bytes.NewReader(body)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// Its own process group: Ctrl-C reaches the bench, which cleans up, not podman directly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("podman run: %v: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	if !bytes.Equal(out.Bytes(), body) {
		return took, fmt.Errorf("podman run: echoed %q, want %q", out.Bytes(), body)
	}
	return took, nil
}

// bareRun is baseline (b): the bindings sequence podrun itself uses, through
// package sandbox (create, attach, start, wait for exit, remove), without
// podrun's HTTP, store, admission or shim.
func (b *bench) bareRun(ctx context.Context, body []byte) (time.Duration, error) {
	var out bytes.Buffer
	start := time.Now()
	id, err := b.sb.Create(ctx, b.baselineSpec("bindings"))
	if err != nil {
		return 0, err
	}
	if err := b.bareAttachRun(ctx, id, body, &out); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return 0, errors.Join(err, b.sb.Remove(rctx, id))
	}
	// As podrun does, a container already gone counts as removed: Remove retries
	// after EBUSY, and a retry may find that the first attempt got through.
	if err := b.sb.Remove(ctx, id); err != nil && !errors.Is(err, runner.ErrNoContainer) {
		return 0, err
	}
	took := time.Since(start)
	if !bytes.Equal(out.Bytes(), body) {
		return took, fmt.Errorf("bindings run: echoed %q, want %q", out.Bytes(), body)
	}
	return took, nil
}

func (b *bench) bareAttachRun(ctx context.Context, id string, body []byte, out *bytes.Buffer) error {
	att, err := b.sb.Attach(ctx, id, runner.Streams{Stdin: bytes.NewReader(body), Stdout: out})
	if err != nil {
		return err
	}
	if err := b.sb.Start(ctx, id); err != nil {
		return err
	}
	exit, err := att.Wait(ctx)
	if err != nil {
		return err
	}
	if exit.Code != 0 {
		return fmt.Errorf("bindings run: exit code %d", exit.Code)
	}
	return nil
}

// opTimes collects the latencies of a sandbox's Podman calls by operation (its Observe hook).
type opTimes struct {
	mu sync.Mutex
	m  map[string][]time.Duration
}

func newOpTimes() *opTimes { return &opTimes{m: map[string][]time.Duration{}} }

func (o *opTimes) observe(op string, d time.Duration) {
	o.mu.Lock()
	o.m[op] = append(o.m[op], d)
	o.mu.Unlock()
}

// take returns what was observed since the last take and forgets it.
func (o *opTimes) take() map[string][]time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.m
	o.m = map[string][]time.Duration{}
	return m
}

// podmanOps is the count and total seconds of podrun's Podman calls by
// operation, from the podrun_podman_request_duration_seconds histograms.
type podmanOps map[string]struct{ count, sum float64 }

func podmanOpsFrom(m map[string]float64) podmanOps {
	ops := podmanOps{}
	const prefix = `podrun_podman_request_duration_seconds_`
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		kind, labels, _ := strings.Cut(rest, "{")
		op := strings.TrimSuffix(strings.TrimPrefix(labels, `op="`), `"}`)
		e := ops[op]
		switch kind {
		case "count":
			e.count = v
		case "sum":
			e.sum = v
		default:
			continue
		}
		ops[op] = e
	}
	return ops
}

// opsTable compares podrun's mean Podman call latencies in a window
// (after minus before) with the bare sandbox's, per operation; bare nil leaves them out.
func opsTable(title string, before, after podmanOps, bare map[string][]time.Duration) benchTable {
	t := benchTable{Title: title, Columns: []string{"podman call", "podrun n", "podrun mean ms", "bindings n", "bindings p50 ms", "bindings mean ms"}}
	names := map[string]bool{}
	for op := range after {
		names[op] = true
	}
	for op := range bare {
		names[op] = true
	}
	sorted := make([]string, 0, len(names))
	for op := range names {
		sorted = append(sorted, op)
	}
	sort.Strings(sorted)
	if bare == nil {
		t.Columns = t.Columns[:3]
	}
	for _, op := range sorted {
		n := after[op].count - before[op].count
		s := summarize(bare[op])
		if n == 0 && s.N == 0 {
			continue
		}
		mean := ratio((after[op].sum-before[op].sum)*1000, n)
		row := []string{op, fmt.Sprintf("%.0f", n), num(mean), fmt.Sprint(s.N), "", ""}
		if s.N > 0 {
			row[4], row[5] = num(s.P50), num(s.Mean)
		}
		if bare == nil {
			row = row[:3]
		}
		t.add(row...)
	}
	return t
}
