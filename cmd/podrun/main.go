// Command podrun runs HTTP-invoked agents in hardened Podman containers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/podrun/podrun/cli"
	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/internal/bench"
	"github.com/podrun/podrun/internal/buildinfo"
	"github.com/podrun/podrun/runner"
)

// version is this build's version; the Makefile stamps it into package buildinfo.
var version = buildinfo.Version

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run dispatches: serve and bench parse their own flags as before; every other command is the
// CLI client of the API (package cli).
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	env := cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: stderr, Getenv: getenv}
	return cli.Main(args, env,
		cli.Passthrough("serve", "Run the podrun daemon (podrun serve -h lists its flags)",
			func(args []string) int { return serve(args, getenv, stderr) }),
		cli.Passthrough("bench", "Measure podrun against podman run and the bare bindings (podrun bench -h)",
			func(args []string) int {
				return bench.Main(args, bench.Env{Stdout: os.Stdout, Stderr: stderr, Getenv: getenv, OpenDaemon: openBenchDaemon})
			}),
	)
}

// openBenchDaemon opens the podrun `podrun bench` measures in-process.
func openBenchDaemon(ctx context.Context, cfg configs.Config, log *slog.Logger) (bench.Daemon, error) {
	d, err := OpenDaemon(ctx, cfg, log)
	if err != nil {
		return nil, err // not a nil *Daemon in an interface
	}
	return d, nil
}

func serve(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := configs.Load(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "podrun: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	// Libraries that print with the log package then write through podrun's
	// handler: in JSON mode, stderr carries JSON only.
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := activatedListener()
	if err == nil && ln != nil {
		if err = checkActivated(ln, cfg.Token); err != nil {
			_ = ln.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "podrun: %v\n", err)
		return 1
	}
	d, err := openDaemon(ctx, cfg, log, ln)
	if err != nil {
		if errors.Is(err, runner.ErrUnenforced) {
			err = fmt.Errorf("refusing to start: %w", err)
		}
		if cfg.LogFormat == "json" {
			log.Error("podrun cannot start", "err", err)
		} else {
			fmt.Fprintf(stderr, "podrun: %v\n", err)
		}
		return 1
	}
	defer d.Close()
	if cfg.LogFormat != "json" { // the "podrun ready" line says the same to log parsers
		fmt.Fprint(stderr, banner(d.Addr(), cfg.Token != ""))
	}
	// Reconcile is done and the listener bound (connections wait in its
	// backlog until Run accepts them): a Type=notify unit is started now.
	notify(log, "READY=1\nSTATUS=serving on "+d.Addr())
	go func() {
		<-ctx.Done()
		notify(log, "STOPPING=1\nSTATUS=draining requests in flight")
	}()
	if err := d.Run(ctx); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg configs.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// banner tells a new user where podrun listens and how to try it.
func banner(addr string, auth bool) string {
	hdr := ""
	if auth {
		hdr = ` -H "Authorization: Bearer $PODRUN_TOKEN"`
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\npodrun is listening on http://%s\n\nTry it:\n", addr)
	fmt.Fprintf(&b, "  curl -s%s -X POST http://%s/v1/agents -H 'Content-Type: application/json' \\\n", hdr, addr)
	b.WriteString(`    -d '{"image":"localhost/podrun/busybox:latest","command":["echo","hello from a sandbox"]}'` + "\n")
	fmt.Fprintf(&b, "  curl -s%s http://%s/v1/agents            # list agents; then GET /v1/agents/<id>/logs\n\n", hdr, addr)
	fmt.Fprintf(&b, "Or with the CLI (podrun --help lists its commands):\n  PODRUN_ADDR=%s podrun run localhost/podrun/busybox:latest echo hello\n\n", addr)
	return b.String()
}
