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

	"github.com/podrun/podrun/configs"
	"github.com/podrun/podrun/runner"
)

const usage = `usage: podrun <command> [flags]

commands:
  serve     run the podrun daemon (podrun serve -h lists its flags)
  bench     measure podrun against podman run and the bare bindings (podrun bench -h)
  version   print the version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], getenv, stderr)
	case "bench":
		return benchMain(args[1:], getenv, stderr)
	case "version":
		fmt.Println("podrun", version)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "podrun: unknown command %q\n%s", args[0], usage)
		return 2
	}
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
	d, err := OpenDaemon(ctx, cfg, log)
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
	return b.String()
}
