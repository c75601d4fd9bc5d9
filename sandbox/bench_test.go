package sandbox

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

func reportMS(b *testing.B, total time.Duration) {
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkCreate times Create alone; removal is not timed.
func BenchmarkCreate(b *testing.B) {
	p := newPodman(b)
	ctx := context.Background()
	b.ResetTimer()
	var ids []string
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		id, err := p.Create(ctx, runnertest.Spec(labels, "true"))
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	b.StopTimer()
	reportMS(b, total)
	for _, id := range ids {
		_ = p.Remove(ctx, id)
	}
}

// BenchmarkCycle is one agent's whole life: create, attach, start, wait, remove.
func BenchmarkCycle(b *testing.B) {
	p := newPodman(b)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		id, err := p.Create(ctx, runnertest.Spec(labels, "echo", "hi"))
		if err != nil {
			b.Fatal(err)
		}
		var out bytes.Buffer
		a, err := p.Attach(ctx, id, runner.Streams{Stdin: strings.NewReader(""), Stdout: &out})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		if exit, err := a.Wait(ctx); err != nil || exit.Code != 0 || out.String() != "hi\n" {
			b.Fatalf("cycle: %+v, %v, %q", exit, err, out.String())
		}
		if err := p.Remove(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	reportMS(b, time.Since(start))
}

// BenchmarkAttachRoundTrip times attaching to a running `cat`, writing a
// line, closing stdin and reading to the end of the stream, with the
// hijacking client and with a fresh bindings connection per attach.
func BenchmarkAttachRoundTrip(b *testing.B) {
	ways := map[string]func(ctx context.Context, p *Podman, id string, out *bytes.Buffer) error{
		"hijack": func(ctx context.Context, p *Podman, id string, out *bytes.Buffer) error {
			q := url.Values{"stdin": {"true"}, "stdout": {"true"}, "stderr": {"true"}, "stream": {"true"}, "logs": {"false"}, "detachKeys": {""}}
			st, err := p.hijack(ctx, "attach", "/containers/"+id+"/attach", q, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			go func() { _ = st.feed(strings.NewReader("ping\n")) }()
			return st.demux(out, nil)
		},
		"fresh-bindings-connection": func(ctx context.Context, p *Podman, id string, out *bytes.Buffer) error {
			conn, err := bindings.NewConnection(ctx, p.cfg.URI)
			if err != nil {
				return err
			}
			opts := new(containers.AttachOptions).WithDetachKeys("").WithStream(true).WithLogs(false)
			return containers.Attach(conn, id, strings.NewReader("ping\n"), out, nil, nil, opts)
		},
	}
	for name, attach := range ways {
		b.Run(name, func(b *testing.B) {
			p := newPodman(b)
			ctx := context.Background()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				id, err := p.Create(ctx, runnertest.Spec(labels, "cat"))
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Start(ctx, id); err != nil {
					b.Fatal(err)
				}
				var out bytes.Buffer
				b.StartTimer()
				start := time.Now()
				err = attach(ctx, p, id, &out)
				total += time.Since(start)
				b.StopTimer()
				if err != nil || out.String() != "ping\n" {
					b.Fatalf("attach: %v, %q", err, out.String())
				}
				if err := p.Remove(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b, total)
		})
	}
}
