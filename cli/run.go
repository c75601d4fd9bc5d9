package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

// limitFlags are the resource flags of run and fn deploy.
type limitFlags struct {
	memory string
	cpus   float64
	pids   int64
}

func (l *limitFlags) add(f *pflag.FlagSet) {
	f.StringVarP(&l.memory, "memory", "m", "", "memory limit: bytes, or a size like 256Mi or 1Gi (default: the server's)")
	f.Float64Var(&l.cpus, "cpus", 0, "CPU limit in cores, like 0.5 (default: the server's)")
	f.Int64Var(&l.pids, "pids", 0, "most processes and threads (default: the server's)")
}

// request is what the flags ask for; a flag not given is left for the server's default.
func (l *limitFlags) request(f *pflag.FlagSet) api.LimitsRequest {
	var r api.LimitsRequest
	if f.Changed("memory") {
		r.Memory = api.Size(l.memory)
	}
	if f.Changed("cpus") {
		r.CPUs = &l.cpus
	}
	if f.Changed("pids") {
		r.PIDs = &l.pids
	}
	return r
}

type runFlags struct {
	detach    bool
	keepAlive bool
	stdin     bool
	ttl       string
	idle      string
	webhook   string
	env       []string
	labels    []string
	limits    limitFlags
	// isolation and egress confine the agent further (docs/isolation.md).
	isolation string
	egress    []string
}

func (a *app) runCmd() *cobra.Command {
	var o runFlags
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND [ARG...]]",
		Short: "Run a command in a new agent and stream its output",
		Long: `Run creates an agent running COMMAND (or the image's own) in IMAGE, streams its stdout and
stderr to podrun's, and exits with its exit code. With -d it prints the agent's id and returns.
A first interrupt (Ctrl-C) deletes the agent and keeps streaming until it has ended.`,
		Example: `  podrun run localhost/podrun/busybox:latest echo hello
  echo hi | podrun run -i --memory 64Mi localhost/podrun/busybox:latest cat
  podrun run -d --ttl 10m --label team=a localhost/podrun/busybox:latest sleep 600
  podrun run --keep-alive --ttl 30m localhost/podrun/busybox:latest
  podrun run --isolation gvisor --egress api.example.com:443 localhost/podrun/busybox:latest uname -r`,
		Args: a.args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return a.run(cmd, o, args) },
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after IMAGE belong to the command
	f.BoolVarP(&o.detach, "detach", "d", false, "print the agent's id and return at once")
	f.BoolVar(&o.keepAlive, "keep-alive", false, "start a sandbox that runs no command and lives until its TTL or rm (implies -d); work in it with exec and cp")
	f.BoolVarP(&o.stdin, "interactive", "i", false, "send podrun's standard input, read to its end, as the agent's stdin")
	f.StringVar(&o.ttl, "ttl", "", "how long the agent may live, like 30s or 10m (default: the server's)")
	f.StringVar(&o.idle, "idle-timeout", "", "end the agent after no exec, file transfer, log follow or ttl change for this long, like 5m (keep-alive default: the server's agents.idle_timeout)")
	f.StringVar(&o.webhook, "webhook", "", "URL that receives a signed JSON event at every state change of the agent")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable KEY=VALUE; a bare KEY passes podrun's own value")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "set a label KEY=VALUE, to filter ps by")
	f.StringVar(&o.isolation, "isolation", "", "runc or gvisor (default: the server's sandbox.isolation)")
	f.StringArrayVar(&o.egress, "egress", nil, "let the agent connect to HOST:PORT, HOST, *.DOMAIN or PREFIX[:PORT] through podrun's egress proxy (repeatable; default: no network)")
	o.limits.add(f)
	return cmd
}

func (a *app) run(cmd *cobra.Command, o runFlags, args []string) error {
	cl, err := a.client(cmd)
	if err != nil {
		return err
	}
	req := api.AgentRequest{Image: args[0], Command: args[1:], TTL: o.ttl, Limits: o.limits.request(cmd.Flags()),
		KeepAlive: o.keepAlive, IdleTimeout: o.idle, WebhookURL: o.webhook, Isolation: o.isolation}
	o.detach = o.detach || o.keepAlive
	if len(o.egress) > 0 {
		req.Egress = &api.Egress{Allow: o.egress}
	}
	if req.Env, err = envMap(o.env, a.getenv); err != nil {
		return &usageError{cmd, err}
	}
	if req.Labels, err = keyValues("label", o.labels); err != nil {
		return &usageError{cmd, err}
	}
	if o.stdin {
		in, err := io.ReadAll(a.env.Stdin)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		if !utf8.Valid(in) {
			return &usageError{cmd, fmt.Errorf("-i: stdin is not UTF-8 text, and the API carries an agent's stdin as a JSON string")}
		}
		s := string(in)
		req.Stdin = &s
	}
	ctx := cmd.Context()
	ag, err := cl.CreateAgent(ctx, req)
	if err != nil {
		return err
	}
	if o.detach {
		if a.json {
			return writeJSON(a.env.Stdout, ag)
		}
		_, err := fmt.Fprintln(a.env.Stdout, ag.ID)
		return err
	}
	stop := func() { a.deleteOnInterrupt(cl, ag.ID) }
	a.onInterrupt.Store(&stop)
	defer a.onInterrupt.Store(nil)
	a.stream(ctx, cl, ag.ID)
	end, err := awaitEnd(ctx, cl, ag.ID)
	if err != nil {
		return err
	}
	if a.json {
		_ = writeJSON(a.env.Stderr, end)
	} else if end.Reason != "" && end.Reason != api.ReasonExit {
		fmt.Fprintf(a.env.Stderr, "podrun: agent %s %s\n", end.ID, describeEnd(end))
	}
	if end.ExitCode == nil {
		if !a.json && (end.Reason == "" || end.Reason == api.ReasonExit) {
			fmt.Fprintf(a.env.Stderr, "podrun: agent %s %s\n", end.ID, describeEnd(end))
		}
		return &exitError{ExitNoExitCode}
	}
	return exitWith(*end.ExitCode)
}

// describeEnd says how an agent ended, with the server's message when it has one.
func describeEnd(a api.Agent) string {
	s := "ended " + status(a)
	if a.ExitCode == nil {
		s += " without an exit code"
	}
	if a.Message != "" {
		s += ": " + a.Message
	}
	return s
}

// deleteOnInterrupt asks the server to end the agent; the output streams then end with it.
func (a *app) deleteOnInterrupt(cl *client.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.DeleteAgent(ctx, id); err != nil {
		fmt.Fprintf(a.env.Stderr, "podrun: delete agent %s: %v\n", id, err)
		return
	}
	fmt.Fprintf(a.env.Stderr, "podrun: agent %s is terminating (interrupt again to stop waiting)\n", id)
}

// stream copies the agent's stdout and stderr to podrun's until the process ends. A broken
// stream is reported, not fatal: the agent's end is what decides the exit code.
func (a *app) stream(ctx context.Context, cl *client.Client, id string) {
	var wg sync.WaitGroup
	for _, s := range []struct {
		name string
		w    io.Writer
	}{{api.StreamStdout, a.env.Stdout}, {api.StreamStderr, a.env.Stderr}} {
		wg.Go(func() {
			rc, err := cl.Logs(ctx, id, api.LogOptions{Follow: true, Stream: s.name})
			if err == nil {
				_, err = io.Copy(s.w, rc)
				rc.Close()
			}
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(a.env.Stderr, "podrun: %s of agent %s: %v\n", s.name, id, err)
			}
		})
	}
	wg.Wait()
}

// awaitEnd polls until the agent is final: the end of its output comes a moment before the
// server has recorded how it ended.
func awaitEnd(ctx context.Context, cl *client.Client, id string) (api.Agent, error) {
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		ag, err := cl.Agent(ctx, id)
		if err != nil || !ag.State.Live() {
			return ag, err
		}
		select {
		case <-ctx.Done():
			return ag, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// envMap reads -e flags: KEY=VALUE, or a bare KEY taking podrun's own value (skipped when unset),
// as podman run -e does.
func envMap(flags []string, getenv func(string) string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	env := make(map[string]string, len(flags))
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("--env %q: want KEY=VALUE or KEY", kv)
		}
		if !ok {
			if v = getenv(k); v == "" {
				continue
			}
		}
		env[k] = v
	}
	return env, nil
}

// keyValues reads repeated KEY=VALUE flags into a map.
func keyValues(flag string, flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(flags))
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// exitWith turns a process's exit code into the command's result.
func exitWith(code int) error {
	if code == 0 {
		return nil
	}
	return &exitError{code}
}
