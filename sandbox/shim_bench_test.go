package sandbox

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/podrun/podrun/runner"
)

// warmWay is one way to prepare a shim'd container ahead of a request:
// prepare runs before the request (untimed); serve is what the request pays.
type warmWay struct {
	name    string
	prepare func(ctx context.Context, b *testing.B, p *Podman) string
	serve   func(ctx context.Context, b *testing.B, p *Podman, id string, stdin []byte) []byte
}

// BenchmarkShimRequest measures what a request pays for a shim'd container
// prepared in different ways, as ms/op (mean) and p50/p90 in ms. "cold" pays
// for everything, removal included; the others leave removal to later.
func BenchmarkShimRequest(b *testing.B) {
	created := func(ctx context.Context, b *testing.B, p *Podman) string {
		id, err := p.Create(ctx, shimSpec("cat"))
		if err != nil {
			b.Fatal(err)
		}
		return id
	}
	ways := []warmWay{
		{name: "cold", serve: func(ctx context.Context, b *testing.B, p *Podman, _ string, stdin []byte) []byte {
			id := created(ctx, b, p)
			out := attachStartWait(ctx, b, p, id, stdin, true)
			if err := p.Remove(ctx, id); err != nil {
				b.Fatal(err)
			}
			return out
		}},
		{name: "created", prepare: created, serve: func(ctx context.Context, b *testing.B, p *Podman, id string, stdin []byte) []byte {
			return attachStartWait(ctx, b, p, id, stdin, true)
		}},
		{name: "initialised", prepare: func(ctx context.Context, b *testing.B, p *Podman) string {
			id := created(ctx, b, p)
			if err := containers.ContainerInit(p.call(ctx), id, nil); err != nil {
				b.Fatal(err)
			}
			return id
		}, serve: func(ctx context.Context, b *testing.B, p *Podman, id string, stdin []byte) []byte {
			return attachStartWait(ctx, b, p, id, stdin, true)
		}},
		{name: "started", prepare: startedShim, serve: func(ctx context.Context, b *testing.B, p *Podman, id string, stdin []byte) []byte {
			return attachStartWait(ctx, b, p, id, stdin, false)
		}},
		// As "started", but without Attach's inspect of a container not
		// created here (the guard against re-running an exited one).
		{name: "started-unguarded", prepare: startedShim, serve: func(ctx context.Context, b *testing.B, p *Podman, id string, stdin []byte) []byte {
			q := url.Values{"stdin": {"true"}, "stdout": {"true"}, "stderr": {"true"}, "stream": {"true"}, "logs": {"false"}, "detachKeys": {""}}
			st, err := p.hijack(ctx, "attach", "/containers/"+id+"/attach", q, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			go func() { _ = st.feed(bytes.NewReader(stdin)) }()
			var out bytes.Buffer
			if err := st.demux(&out, nil); err != nil {
				b.Fatal(err)
			}
			if exit, err := p.exitStatus(ctx, id); err != nil || exit.Code != 0 {
				b.Fatalf("exit %+v, %v", exit, err)
			}
			return out.Bytes()
		}},
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	stdin := request(b, map[string]string{"Http_Method": "POST", "Http_Path": "/bench", "Http_Content_Type": "text/plain"}, body)
	for _, w := range ways {
		b.Run(w.name, func(b *testing.B) {
			p := newShimPodman(b, nil)
			ctx := context.Background()
			var took []time.Duration
			var leftover []string
			b.Cleanup(func() {
				for _, id := range leftover {
					_ = p.Remove(context.Background(), id)
				}
			})
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				var id string
				if w.prepare != nil {
					id = w.prepare(ctx, b, p)
					leftover = append(leftover, id)
					// Let the preparation's background work (conmon, the runtime) settle, as in a pool.
					time.Sleep(50 * time.Millisecond)
				}
				b.StartTimer()
				start := time.Now()
				out := w.serve(ctx, b, p, id, stdin)
				took = append(took, time.Since(start))
				b.StopTimer()
				if !bytes.Equal(out, body) {
					b.Fatalf("got %d bytes back, want the %d-byte body", len(out), len(body))
				}
				if id != "" {
					if err := p.Remove(ctx, id); err != nil {
						b.Fatal(err)
					}
					leftover = leftover[:len(leftover)-1]
				}
			}
			reportLatencies(b, took)
		})
	}
}

func startedShim(ctx context.Context, b *testing.B, p *Podman) string {
	id, err := p.Create(ctx, shimSpec("cat"))
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(ctx, id); err != nil {
		b.Fatal(err)
	}
	return id
}

// attachStartWait is the request path through the Sandbox interface.
func attachStartWait(ctx context.Context, b *testing.B, p *Podman, id string, stdin []byte, start bool) []byte {
	var out, errOut bytes.Buffer
	a, err := p.Attach(ctx, id, runner.Streams{Stdin: bytes.NewReader(stdin), Stdout: &out, Stderr: &errOut})
	if err != nil {
		b.Fatal(err)
	}
	if start {
		if err := p.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	if exit, err := a.Wait(ctx); err != nil || exit.Code != 0 {
		b.Fatalf("exit %+v, %v, stderr %q", exit, err, errOut.String())
	}
	return out.Bytes()
}

// reportLatencies reports the mean as ms/op and the 50th and 90th percentiles.
func reportLatencies(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	var total time.Duration
	for _, d := range took {
		total += d
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(total)/float64(len(took)), "ms/op")
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*9/10]), "p90-ms")
	b.ReportMetric(0, "ns/op")
}
