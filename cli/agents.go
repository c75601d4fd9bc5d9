package cli

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

func (a *app) psCmd() *cobra.Command {
	var (
		all, quiet, noTrunc bool
		filters             []string
		format              string
	)
	cmd := &cobra.Command{
		Use:     "ps [flags]",
		Aliases: []string{"list", "ls"},
		Short:   "List agents: live ones, or all with -a",
		Long: `List agents, newest first: live ones (pending, running, paused, terminating), or every agent the
server still keeps with -a. Filters: state=STATE (or status=), function=NAME, label=KEY=VALUE;
an agent must match every filter, except that several state filters keep an agent in any of
those states. One request per page of 1000 agents.`,
		Args: a.args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			opts, err := parseFilters(filters)
			if err != nil {
				return &usageError{cmd, err}
			}
			if len(opts.States) == 0 && !all {
				opts.States = api.LiveStates
			}
			opts.Limit = maxPage
			var agents []api.Agent
			for ag, err := range cl.Agents(cmd.Context(), opts) {
				if err != nil {
					return err
				}
				agents = append(agents, ag)
			}
			switch {
			case a.json || format == "json":
				return writeJSON(a.env.Stdout, orEmpty(agents))
			case format != "" && format != "table":
				return &usageError{cmd, fmt.Errorf("--format %q: want table or json", format)}
			case quiet:
				for _, ag := range agents {
					fmt.Fprintln(a.env.Stdout, ag.ID)
				}
				return nil
			}
			return agentTable(a.env.Stdout, agents, noTrunc)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "list agents in every state, not only live ones")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the agents' ids")
	f.BoolVar(&noTrunc, "no-trunc", false, "do not cut long commands")
	f.StringArrayVarP(&filters, "filter", "f", nil, "keep agents matching state=STATE, function=NAME or label=KEY=VALUE")
	f.StringVar(&format, "format", "", "table (default) or json")
	return cmd
}

// maxPage is the largest page GET /v1/agents gives.
const maxPage = 1000

// parseFilters reads ps's --filter flags into list options.
func parseFilters(filters []string) (api.ListOptions, error) {
	var o api.ListOptions
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return o, fmt.Errorf("--filter %q: want KEY=VALUE", f)
		case k == "state" || k == "status":
			o.States = append(o.States, api.State(v))
		case k == "function":
			o.Function = v
		case k == "label":
			if err := addLabelFilter(&o.Labels, f, v); err != nil {
				return o, err
			}
		default:
			return o, fmt.Errorf("--filter %q: filters are state, function and label", f)
		}
	}
	return o, nil
}

func agentTable(w io.Writer, agents []api.Agent, noTrunc bool) error {
	now := time.Now()
	t := newTable(w, "AGENT ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "EXPIRES", "FUNCTION")
	for _, ag := range agents {
		command := shellJoin(ag.Command)
		if ag.KeepAlive {
			command = "(keep-alive)"
		}
		if !noTrunc {
			command = truncate(command, 30)
		}
		expires := "-"
		if ag.State.Live() {
			expires = until(ag.ExpiresAt, now)
		}
		t.row(ag.ID, ag.Image, cmp.Or(command, "-"), ago(ag.CreatedAt, now), status(ag), expires, cmp.Or(ag.Function, "-"))
	}
	return t.flush()
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (a *app) inspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "inspect ID [ID...]",
		Short:             "Print agents as JSON",
		Long:              "Print the agents as a JSON array, as the API describes them (see package api).",
		Args:              a.args(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeAgents(false),
		RunE: func(cmd *cobra.Command, ids []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			out := make([]api.Agent, 0, len(ids))
			var errs []error
			for _, id := range ids {
				ag, err := cl.Agent(cmd.Context(), id)
				if err != nil {
					errs = append(errs, fmt.Errorf("agent %s: %w", id, err))
					continue
				}
				out = append(out, ag)
			}
			if err := writeJSON(a.env.Stdout, out); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
}

func (a *app) logsCmd() *cobra.Command {
	var opts api.LogOptions
	cmd := &cobra.Command{
		Use:   "logs [flags] ID",
		Short: "Print an agent's output",
		Long: `Print an agent's stdout and stderr as they were written, interleaved, to podrun's stdout
(--stream picks one). With -f it keeps printing until the process ends. A removed agent's
container leaves the tail the server kept.`,
		Args:              a.args(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeAgents(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			rc, err := cl.Logs(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(a.env.Stdout, rc)
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Follow, "follow", "f", false, "keep printing output until the process ends")
	f.IntVarP(&opts.Tail, "tail", "n", 0, "print only the last N lines, both streams counted together (0: all)")
	f.StringVar(&opts.Stream, "stream", "", "print only stdout or stderr")
	f.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "start each line with the time it was logged")
	return cmd
}

func (a *app) execCmd() *cobra.Command {
	var (
		stdin   bool
		tty     bool
		timeout string
	)
	cmd := &cobra.Command{
		Use:   "exec [flags] ID COMMAND [ARG...]",
		Short: "Run a command in a running agent",
		Long: `Run a command inside a running agent's container, confined like the agent, and exit with its
exit code. Without -i or -t, print its stdout and stderr once it has ended (each cut at 1 MiB).
With -i or -t, stream over a WebSocket: podrun's stdin goes to the command as it is read and
the output is printed as it comes, with no timeout unless --timeout gives one; -t runs the
command on a terminal (in raw mode and following the window's size when podrun's stdin is a
terminal). When podrun ends or loses the connection first, the command and all it started are
killed.`,
		Example: `  podrun exec 01J0ABCD ls -l /tmp
  podrun exec -it 01J0ABCD sh`,
		Args:              a.args(cobra.MinimumNArgs(2)),
		ValidArgsFunction: a.completeAgents(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			if (stdin || tty) && !a.json {
				return a.execStream(cmd, cl, args[0], args[1:], tty, timeout)
			}
			req := api.ExecRequest{Command: args[1:], Timeout: timeout}
			if stdin {
				in, err := io.ReadAll(a.env.Stdin)
				if err != nil {
					return fmt.Errorf("read stdin: %w", err)
				}
				req.Stdin = string(in)
			}
			res, err := cl.Exec(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if a.json {
				if err := writeJSON(a.env.Stdout, res); err != nil {
					return err
				}
				return exitWith(res.ExitCode)
			}
			io.WriteString(a.env.Stdout, res.Stdout)
			io.WriteString(a.env.Stderr, res.Stderr)
			if res.Truncated {
				fmt.Fprintln(a.env.Stderr, "podrun: the output was cut at 1 MiB per stream")
			}
			return exitWith(res.ExitCode)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&stdin, "interactive", "i", false, "stream podrun's standard input to the command and its output back (with --json: send stdin read to its end)")
	f.BoolVarP(&tty, "tty", "t", false, "run the command on a terminal, streaming (implies -i)")
	f.StringVar(&timeout, "timeout", "", "kill the command after this long, like 30s (default 10s, at most 10m; streaming: none, at most 24h)")
	return cmd
}

func (a *app) rmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm ID [ID...]",
		Aliases: []string{"delete"},
		Short:   "Delete agents: stop live ones and remove their containers",
		Long: `Delete agents. The server answers at once (202): a live agent becomes terminating and is
stopped in the background (see podrun ps -a); a finished one keeps its state and loses its
container. Exits 1 when an id does not exist, after deleting the others.`,
		Args:              a.args(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeAgents(true),
		RunE: func(cmd *cobra.Command, ids []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			var out []api.Agent
			missing := false
			for _, id := range ids {
				ag, err := cl.DeleteAgent(cmd.Context(), id)
				if client.ErrorCode(err) == api.CodeNotFound {
					missing = true
					fmt.Fprintf(a.env.Stderr, "Error: no agent %s\n", id)
					continue
				}
				if err != nil {
					return fmt.Errorf("agent %s: %w", id, err)
				}
				out = append(out, ag)
				if a.json {
					continue
				}
				if ag.State == api.StateTerminating {
					fmt.Fprintf(a.env.Stdout, "%s terminating\n", ag.ID)
				} else {
					fmt.Fprintf(a.env.Stdout, "%s already %s\n", ag.ID, status(ag))
				}
			}
			if a.json {
				if err := writeJSON(a.env.Stdout, orEmpty(out)); err != nil {
					return err
				}
			}
			if missing {
				return &exitError{ExitMissing}
			}
			return nil
		},
	}
}

func (a *app) statsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stats ID [ID...]",
		Short: "Print running agents' resource use (one sample)",
		Long: `Print one sample of each running agent's resource use; CPU % is the share of one core
since the server's previous sample.`,
		Args:              a.args(cobra.MinimumNArgs(1)),
		ValidArgsFunction: a.completeAgents(true),
		RunE: func(cmd *cobra.Command, ids []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			all := make(map[string]api.Stats, len(ids))
			for _, id := range ids {
				st, err := cl.Stats(cmd.Context(), id)
				if err != nil {
					return fmt.Errorf("agent %s: %w", id, err)
				}
				all[id] = st
			}
			if a.json {
				if len(ids) == 1 {
					return writeJSON(a.env.Stdout, all[ids[0]])
				}
				return writeJSON(a.env.Stdout, all)
			}
			t := newTable(a.env.Stdout, "AGENT ID", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS", "NET IO", "BLOCK IO")
			for _, id := range ids {
				st := all[id]
				mem := "-"
				if st.MemoryLimit > 0 {
					mem = fmt.Sprintf("%.2f%%", 100*float64(st.MemoryUsage)/float64(st.MemoryLimit))
				}
				t.row(id, fmt.Sprintf("%.2f%%", st.CPUPercent), bytesize(st.MemoryUsage)+" / "+bytesize(st.MemoryLimit), mem,
					fmt.Sprint(st.PIDs), bytesize(st.NetRx)+" / "+bytesize(st.NetTx), bytesize(st.BlockRead)+" / "+bytesize(st.BlockWrite))
			}
			return t.flush()
		},
	}
}

func (a *app) ttlCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "ttl ID DURATION",
		Short:             "Give a live agent a new deadline, DURATION from now",
		Example:           `  podrun ttl 01J0ABCD 30m`,
		Args:              a.args(cobra.ExactArgs(2)),
		ValidArgsFunction: a.completeAgents(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			ag, err := cl.SetTTL(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.env.Stdout, ag)
			}
			if ag.ExpiresAt == nil {
				_, err = fmt.Fprintf(a.env.Stdout, "%s has no deadline\n", ag.ID)
				return err
			}
			_, err = fmt.Fprintf(a.env.Stdout, "%s expires at %s (%s)\n", ag.ID, ag.ExpiresAt.Time().Local().Format(time.RFC3339), until(ag.ExpiresAt, time.Now()))
			return err
		},
	}
}

// addLabelFilter adds the KEY=VALUE of a --filter label=KEY=VALUE (f whole,
// v after "label=") to *labels, making the map if need be.
func addLabelFilter(labels *map[string]string, f, v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("--filter %q: want label=KEY=VALUE", f)
	}
	if *labels == nil {
		*labels = map[string]string{}
	}
	(*labels)[k] = val
	return nil
}
