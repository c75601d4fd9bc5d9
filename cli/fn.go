package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

func (a *app) fnCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "fn",
		Aliases: []string{"function"},
		Short:   "Deploy, list, invoke and remove functions",
		Args:    a.args(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.fnDeployCmd(), a.fnListCmd(), a.fnInspectCmd(), a.fnRemoveCmd(), a.fnInvokeCmd(), a.fnResultCmd(), a.fnScaleCmd())
	return cmd
}

type deployFlags struct {
	file, image, timeout, maxOutput string
	env, secrets                    []string
	warm, maxConcurrency            int
	limits                          limitFlags
}

func (a *app) fnDeployCmd() *cobra.Command {
	var o deployFlags
	cmd := &cobra.Command{
		Use:   "deploy NAME [flags] [-- COMMAND [ARG...]]",
		Short: "Create or replace a function",
		Long: `Create or replace the function NAME, from flags, from a file, or from a file with flags
overriding it. A .json file holds the body of PUT /v1/functions/NAME (see examples/functions);
a .toml file holds the same keys, at its top level or as the [functions.NAME] table of a
podrun.toml.`,
		Example: `  podrun fn deploy echo --image localhost/podrun/busybox:latest --warm 1 -- cat
  podrun fn deploy wc -f examples/functions/wc/function.json --memory 64Mi
  podrun fn deploy echo -f podrun.toml`,
		Args: a.args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return a.deploy(cmd, o, args) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "read the function from a .json or .toml file")
	f.StringVar(&o.image, "image", "", "container image")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable KEY=VALUE; a bare KEY passes podrun's own value")
	f.StringArrayVar(&o.secrets, "secret", nil, "mount this secret (podrun secret create) at /var/openfaas/secrets/NAME; repeatable")
	f.StringVar(&o.timeout, "timeout", "", "how long one invocation may run, like 10s (default: the server's)")
	f.IntVar(&o.warm, "warm", 0, "containers to keep prepared (0: none)")
	f.IntVar(&o.maxConcurrency, "max-concurrency", 0, "invocations that may run at once (default: the server's)")
	f.StringVar(&o.maxOutput, "max-output", "", "bytes of stdout an invocation may write, like 1Mi (default: the server's)")
	o.limits.add(f)
	return cmd
}

func (a *app) deploy(cmd *cobra.Command, o deployFlags, args []string) error {
	name := args[0]
	dash := cmd.ArgsLenAtDash()
	if len(args) > 1 && dash != 1 {
		return &usageError{cmd, fmt.Errorf("put the function's command after --: podrun fn deploy %s [flags] -- COMMAND", name)}
	}
	var req api.FunctionRequest
	if o.file != "" {
		var err error
		if req, err = loadFunctionFile(o.file, name); err != nil {
			return &usageError{cmd, err}
		}
	}
	f := cmd.Flags()
	if f.Changed("image") {
		req.Image = o.image
	}
	if len(args) > 1 {
		req.Command = args[1:]
	}
	env, err := envMap(o.env, a.getenv)
	if err != nil {
		return &usageError{cmd, err}
	}
	for k, v := range env {
		if req.Env == nil {
			req.Env = map[string]string{}
		}
		req.Env[k] = v
	}
	lim := o.limits.request(f)
	req.Limits.Memory = cmp.Or(lim.Memory, req.Limits.Memory)
	if lim.CPUs != nil {
		req.Limits.CPUs = lim.CPUs
	}
	if lim.PIDs != nil {
		req.Limits.PIDs = lim.PIDs
	}
	if f.Changed("timeout") {
		req.Timeout = o.timeout
	}
	if f.Changed("warm") {
		req.Warm = &o.warm
	}
	if f.Changed("max-concurrency") {
		req.MaxConcurrency = &o.maxConcurrency
	}
	if f.Changed("max-output") {
		req.MaxOutput = api.Size(o.maxOutput)
	}
	if f.Changed("secret") {
		req.Secrets = o.secrets
	}
	cl, err := a.client(cmd)
	if err != nil {
		return err
	}
	fn, created, err := cl.PutFunction(cmd.Context(), name, req)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(a.env.Stdout, fn)
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	_, err = fmt.Fprintf(a.env.Stdout, "function %s %s (image %s, timeout %s, warm %d)\n", fn.Name, verb, fn.Image, fn.Timeout, fn.Warm)
	return err
}

func (a *app) fnListCmd() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List functions",
		Args:    a.args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			fns, err := cl.Functions(cmd.Context())
			if err != nil {
				return err
			}
			switch {
			case a.json:
				return writeJSON(a.env.Stdout, fns)
			case quiet:
				for _, f := range fns {
					fmt.Fprintln(a.env.Stdout, f.Name)
				}
				return nil
			}
			now := time.Now()
			t := newTable(a.env.Stdout, "NAME", "IMAGE", "COMMAND", "WARM", "CONCURRENCY", "TIMEOUT", "MEMORY", "UPDATED")
			for _, f := range fns {
				t.row(f.Name, f.Image, cmp.Or(truncate(shellJoin(f.Command), 30), "-"), strconv.Itoa(f.Warm),
					strconv.Itoa(f.MaxConcurrency), f.Timeout, bytesize(uint64(f.Limits.Memory)), ago(f.UpdatedAt, now))
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the names")
	return cmd
}

func (a *app) fnInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "inspect NAME",
		Short:             "Print a function as JSON",
		Args:              a.args(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeFunctions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			f, err := cl.Function(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeJSON(a.env.Stdout, f)
		},
	}
}

func (a *app) fnRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "rm NAME [NAME...]",
		Aliases:           []string{"delete"},
		Short:             "Remove functions and their warm containers",
		Long:              "Remove functions and their warm containers. Exits 1 when a name does not exist, after removing the others.",
		Args:              a.args(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeFunctions,
		RunE: func(cmd *cobra.Command, names []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			return a.removeEach(cmd.Context(), "function", names, cl.DeleteFunction)
		},
	}
}

type invokeFlags struct {
	async       bool
	callback    string
	contentType string
	headers     []string
	query       []string
}

func (a *app) fnInvokeCmd() *cobra.Command {
	var o invokeFlags
	cmd := &cobra.Command{
		Use:   "invoke NAME [flags] < INPUT",
		Short: "Invoke a function with stdin as its input",
		Long: `Invoke the function NAME: podrun's stdin streams to the function's stdin, its stdout
streams back to podrun's, and podrun exits with its exit code. With --async the server queues
the invocation and podrun prints its agent's id; podrun fn result ID prints the output later.`,
		Example: `  echo hello | podrun fn invoke echo
  podrun fn invoke wc --async < big.txt`,
		Args:              a.args(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeFunctions,
		RunE:              func(cmd *cobra.Command, args []string) error { return a.invoke(cmd, o, args[0]) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.async, "async", false, "queue the invocation and print its agent's id")
	f.StringVar(&o.callback, "callback", "", "with --async: URL the server POSTs the result to")
	f.StringVar(&o.contentType, "content-type", "", "Content-Type of the input (default application/octet-stream)")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "send a header KEY=VALUE; the function sees it as Http_KEY")
	f.StringArrayVar(&o.query, "query", nil, "add a query parameter KEY=VALUE; the function sees them in Http_Query")
	return cmd
}

func (a *app) invoke(cmd *cobra.Command, o invokeFlags, name string) error {
	if o.callback != "" && !o.async {
		return &usageError{cmd, fmt.Errorf("--callback needs --async")}
	}
	opts := &client.InvokeOptions{ContentType: o.contentType, CallbackURL: o.callback}
	headers, err := keyValues("header", o.headers)
	if err != nil {
		return &usageError{cmd, err}
	}
	for k, v := range headers {
		if opts.Header == nil {
			opts.Header = http.Header{}
		}
		opts.Header.Set(k, v)
	}
	for _, kv := range o.query {
		if opts.Query == nil {
			opts.Query = url.Values{}
		}
		k, v, _ := cutKV(kv)
		opts.Query.Add(k, v)
	}
	cl, err := a.client(cmd)
	if err != nil {
		return err
	}
	if f, ok := a.env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(a.env.Stderr, "Reading from STDIN - hit (Control + D) to stop.")
	}
	if o.async {
		ag, err := cl.InvokeAsync(cmd.Context(), name, a.env.Stdin, opts)
		if err != nil {
			return err
		}
		if a.json {
			return writeJSON(a.env.Stdout, ag)
		}
		_, err = fmt.Fprintln(a.env.Stdout, ag.ID)
		return err
	}
	inv, err := cl.Invoke(cmd.Context(), name, a.env.Stdin, opts)
	var failed *client.Error
	if errors.As(err, &failed) && failed.ExitCode != nil && *failed.ExitCode != 0 &&
		(failed.Code == api.CodeFunctionFailed || failed.Code == api.CodeTimeout) {
		// The function ended badly without writing anything: say why, and exit with its code.
		a.printError(api.Error{Code: failed.Code, Message: failed.Message, Reason: failed.Reason, ExitCode: failed.ExitCode})
		return exitWith(*failed.ExitCode)
	}
	if err != nil {
		return err
	}
	defer inv.Body.Close()
	if _, err := io.Copy(a.env.Stdout, inv.Body); err != nil {
		return fmt.Errorf("invoke %s (agent %s): read output: %w", name, inv.AgentID, err)
	}
	code, err := inv.ExitCode()
	if err != nil {
		return fmt.Errorf("invoke %s (agent %s): %w", name, inv.AgentID, err)
	}
	if inv.StatusCode == http.StatusGatewayTimeout {
		fmt.Fprintf(a.env.Stderr, "podrun: function %s timed out (agent %s)\n", name, inv.AgentID)
	}
	return exitWith(code)
}

// cutKV splits KEY=VALUE; a bare KEY has an empty value.
func cutKV(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// resultJSON is fn result's --json output: the result with its output as text.
type resultJSON struct {
	AgentID        string `json:"agent_id"`
	ExitCode       int    `json:"exit_code"`
	Truncated      bool   `json:"truncated"`
	CallbackStatus string `json:"callback_status,omitempty"`
	Output         string `json:"output"`
}

func (a *app) fnResultCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "result AGENT_ID",
		Short: "Print what an asynchronous invocation wrote, and exit with its exit code",
		Long: `Print the output an asynchronous invocation (podrun fn invoke --async) kept, and exit with
its exit code. The server answers 409 while it still runs; --wait waits for its end instead.`,
		Args: a.args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			if wait {
				if _, err := awaitEnd(cmd.Context(), cl, args[0]); err != nil {
					return err
				}
			}
			res, err := cl.Result(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json {
				if err := writeJSON(a.env.Stdout, resultJSON{args[0], res.ExitCode, res.Truncated, res.CallbackStatus, string(res.Output)}); err != nil {
					return err
				}
				return exitWith(res.ExitCode)
			}
			if _, err := a.env.Stdout.Write(res.Output); err != nil {
				return err
			}
			if res.Truncated {
				fmt.Fprintln(a.env.Stderr, "podrun: the output was cut at the function's max_output")
			}
			return exitWith(res.ExitCode)
		},
	}
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "wait until the invocation has ended")
	return cmd
}

// removeEach removes every named object of a kind ("function", "secret") with del, saying
// so unless --json; a name that does not exist is reported on stderr and makes the command
// exit 1 (ExitMissing) once the others are removed. Another error stops at once.
func (a *app) removeEach(ctx context.Context, kind string, names []string, del func(context.Context, string) error) error {
	missing := false
	for _, name := range names {
		err := del(ctx, name)
		if client.ErrorCode(err) == api.CodeNotFound {
			missing = true
			fmt.Fprintf(a.env.Stderr, "Error: no %s %s\n", kind, name)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, name, err)
		}
		if !a.json {
			fmt.Fprintf(a.env.Stdout, "%s %s removed\n", kind, name)
		}
	}
	if missing {
		return &exitError{ExitMissing}
	}
	return nil
}
