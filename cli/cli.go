// Package cli is podrun's command line client: the verbs of the podrun binary other than serve
// and bench (run, ps, logs, exec, rm, fn deploy, fn invoke, ...), named like Podman's where the
// meaning matches. It talks to the server only through package client.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/internal/buildinfo"
)

// Exit codes of the CLI. Commands that run a process (run, exec, fn invoke, fn result) otherwise
// exit with the process's own exit code, as podman run does.
const (
	// ExitOK means the command did what it was asked.
	ExitOK = 0
	// ExitMissing means rm (agents), fn rm (functions) or secret rm found one of the names it was given
	// missing; it still removed the others (podman rm exits 1 the same way).
	ExitMissing = 1
	// ExitFailed means podrun itself failed: a usage error, a server that cannot be reached, or
	// an error answer from the API (the message says its code and names the field).
	ExitFailed = 125
	// ExitNoExitCode means `podrun run` saw its agent end without an exit code: the command
	// could not be started, or the container was lost.
	ExitNoExitCode = 126
	// ExitInterrupted means the user interrupted the command (128 + SIGINT); `podrun run` takes
	// a first interrupt as "delete the agent" and keeps streaming until it ends.
	ExitInterrupted = 130
)

// Env is what the CLI reads and writes besides its arguments; tests give it buffers.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads PODRUN_ADDR and PODRUN_TOKEN.
	Getenv func(string) string
}

// exitError ends the command with Code, its message (if any) already printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a mistake in the command line.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// app holds the global flags and the client every command shares.
type app struct {
	env   Env
	addr  string
	token string
	json  bool
	cl    *client.Client
	// onInterrupt, when set, takes the first SIGINT or SIGTERM instead of cancelling the command.
	onInterrupt atomic.Pointer[func()]
}

// Main runs the CLI with args (without the program name) and returns the exit code. extra are
// more top-level commands, such as the daemon's serve and bench, which see the signals themselves.
func Main(args []string, env Env, extra ...*cobra.Command) int {
	a := &app{env: env}
	root := a.root()
	root.AddCommand(extra...)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		if cmd.DisableFlagParsing {
			return // serve and bench handle their own signals
		}
		a.watchSignals(ctx, cancel)
	}
	err := root.ExecuteContext(ctx)
	return a.exitCode(ctx, err)
}

// watchSignals cancels ctx at an interrupt, or hands the first one to onInterrupt when set.
func (a *app) watchSignals(ctx context.Context, cancel context.CancelFunc) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		handled := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-sigs:
			}
			if f := a.onInterrupt.Load(); f != nil && !handled {
				handled = true
				(*f)()
				continue
			}
			cancel()
			return
		}
	}()
}

// Passthrough is a top-level command that hands its arguments, flags included, to run and exits
// with what run returns: serve and bench parse their own flags.
func Passthrough(name, short string, run func(args []string) int) *cobra.Command {
	return &cobra.Command{
		Use: name + " [flags]", Short: short, DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := run(args); code != 0 {
				return &exitError{code}
			}
			return nil
		},
	}
}

func (a *app) root() *cobra.Command {
	v := buildinfo.Get()
	root := &cobra.Command{
		Use:   "podrun",
		Short: "Run agents and functions in hardened Podman containers",
		Long: `podrun runs commands and functions in hardened, resource-limited Podman containers.

"podrun serve" runs the daemon; every other command is a client of its HTTP API, found at
--addr or $PODRUN_ADDR (default ` + api.DefaultAddr + `), with the bearer token --token or $PODRUN_TOKEN.

Exit codes: 0 success; run, exec, fn invoke and fn result exit with the process's own code;
1 rm or fn rm found a name missing (the others were removed); 125 podrun failed (usage, server
unreachable, or an API error, whose message names the field); 126 run's agent ended without an
exit code (its command could not start); 130 interrupted twice.`,
		Version:       fmt.Sprintf("%s (commit %s, %s)", v.Version, v.Commit, v.GoVersion),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          a.args(cobra.NoArgs),
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate("podrun version {{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{cmd, err} })
	f := root.PersistentFlags()
	f.StringVar(&a.addr, "addr", "", "podrun server, host:port or URL (default $PODRUN_ADDR, else "+api.DefaultAddr+")")
	f.StringVar(&a.token, "token", "", "bearer token (default $PODRUN_TOKEN)")
	f.BoolVar(&a.json, "json", false, "print JSON instead of tables and messages")
	root.AddGroup(&cobra.Group{ID: "agents", Title: "Agents:"}, &cobra.Group{ID: "functions", Title: "Functions:"})
	for _, c := range []*cobra.Command{a.runCmd(), a.psCmd(), a.inspectCmd(), a.logsCmd(), a.execCmd(), a.rmCmd(),
		a.eventsCmd(), a.statsCmd(), a.ttlCmd(), a.cpCmd(), a.pauseCmd(), a.resumeCmd()} {
		c.GroupID = "agents"
		root.AddCommand(c)
	}
	fn, secret := a.fnCmd(), a.secretCmd()
	fn.GroupID, secret.GroupID = "functions", "functions"
	root.AddCommand(fn, secret, a.usageCmd(), a.nodeCmd(), a.versionCmd(), a.backupCmd())
	return root
}

// client returns the API client the flags and the environment describe.
func (a *app) client(cmd *cobra.Command) (*client.Client, error) {
	if a.cl != nil {
		return a.cl, nil
	}
	if a.addr == "" {
		a.addr = a.getenv("PODRUN_ADDR")
	}
	if a.addr == "" {
		a.addr = api.DefaultAddr
	}
	if !cmd.Flags().Changed("token") {
		a.token = a.getenv("PODRUN_TOKEN")
	}
	cl, err := client.New(a.addr, a.token, client.WithUserAgent("podrun/"+buildinfo.Get().Version))
	if err != nil {
		return nil, &usageError{cmd, err}
	}
	a.cl = cl
	return cl, nil
}

func (a *app) getenv(key string) string {
	if a.env.Getenv == nil {
		return ""
	}
	return a.env.Getenv(key)
}

// args wraps an argument check so its failure is a usage error.
func (a *app) args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{cmd, err}
		}
		return nil
	}
}

// exitCode prints err the way the user asked for and picks the exit code.
func (a *app) exitCode(ctx context.Context, err error) int {
	var (
		ee *exitError
		ue *usageError
		ae *client.Error
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ue):
		a.printError(api.Error{Code: "usage", Message: err.Error()})
		if !a.json {
			fmt.Fprintf(a.env.Stderr, "See '%s --help'.\n", ue.cmd.CommandPath())
		}
	case errors.As(err, &ae):
		if a.json {
			a.printError(api.Error{Code: ae.Code, Message: ae.Message, Field: ae.Field, Reason: ae.Reason, ExitCode: ae.ExitCode})
		} else {
			a.printError(api.Error{Message: ae.Error()})
		}
	case isUnreachable(err):
		a.printError(api.Error{Code: "unreachable", Message: fmt.Sprintf(
			"cannot reach the podrun server at %s (is `podrun serve` running? --addr or PODRUN_ADDR name another): %v", a.addr, err)})
	default:
		a.printError(api.Error{Code: "error", Message: err.Error()})
	}
	return ExitFailed
}

// printError writes an error to stderr: the API's JSON envelope with --json, else one line.
func (a *app) printError(e api.Error) {
	if a.json {
		writeJSON(a.env.Stderr, api.ErrorResponse{Error: e})
		return
	}
	fmt.Fprintln(a.env.Stderr, "Error:", e.Message)
}

// isUnreachable reports whether err is a failure to connect, rather than an answer.
func isUnreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
