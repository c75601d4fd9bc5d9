package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
)

// writeJSONLine prints v on one line, as a followed stream's --json output is.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (a *app) usageCmd() *cobra.Command {
	var opts api.UsageOptions
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Sum up the agents created in a window, per function, state or label",
		Long: `Sum up the agents created from --since to --until (RFC 3339 times, or durations before now
such as 1h; the last 24 hours by default), grouped --by function, state or label:KEY: agents
by state, invocations (cold, warm, failed), run time (total, p50, p99), CPU seconds and peak
memory (measured by the resource monitor; "-" where it sampled nothing) and the CPU seconds the
limits reserved.`,
		Args: a.args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			u, err := cl.Usage(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.env.Stdout, u)
			}
			by := strings.ToUpper(strings.TrimSuffix(u.GroupBy, ":"))
			t := newTable(a.env.Stdout, by, "AGENTS", "SUCCEEDED", "FAILED", "INVOCATIONS", "COLD", "WARM",
				"RUN TOTAL", "P50", "P99", "CPU S", "MEM PEAK", "RESERVED CPU S")
			for _, g := range u.Groups {
				key := g.Key
				if key == "" {
					key = "-"
				}
				t.row(key, strconv.Itoa(g.Agents), strconv.Itoa(g.States[api.StateSucceeded]), strconv.Itoa(g.States[api.StateFailed]),
					strconv.Itoa(g.Invocations.Total), strconv.Itoa(g.Invocations.Cold), strconv.Itoa(g.Invocations.Warm),
					seconds(g.Duration.TotalSeconds), seconds(g.Duration.P50Seconds), seconds(g.Duration.P99Seconds),
					optional(g.CPUSeconds, seconds), optional(g.MemoryPeak, func(b int64) string { return bytesText(b) }),
					seconds(g.ReservedCPUSeconds))
			}
			return t.flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Since, "since", "", "start of the window: RFC 3339 time or a duration before now (default 24h before --until)")
	f.StringVar(&opts.Until, "until", "", "end of the window: RFC 3339 time or a duration before now (default now)")
	f.StringVar(&opts.GroupBy, "by", "function", "group by function, state or label:KEY")
	return cmd
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) + "s" }

func optional[T any](v *T, format func(T) string) string {
	if v == nil {
		return "-"
	}
	return format(*v)
}

// bytesText writes n bytes with a binary unit, like 64Mi.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + "B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ci", float64(n)/float64(div), "KMGTPE"[exp])
}

func (a *app) nodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "node",
		Short: "Describe the server as a node: host, capacity and what it holds now",
		Args:  a.args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			n, err := cl.Node(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.env.Stdout, n)
			}
			w := a.env.Stdout
			h, c, u := n.Host, n.Capacity, n.InUse
			fmt.Fprintf(w, "Instance:         %s\n", n.Instance)
			fmt.Fprintf(w, "Podman:           %s, runtime %s, cgroup %s, rootless %t\n", h.PodmanVersion, h.OCIRuntime, h.CgroupVersion, h.Rootless)
			fmt.Fprintf(w, "Limits enforced:  %t (controllers: %s)\n", h.LimitsEnforced, strings.Join(h.Controllers, " "))
			fmt.Fprintf(w, "Capacity:         %d CPUs, %s memory\n", c.CPUs, bytesText(c.Memory))
			fmt.Fprintf(w, "Max per agent:    %s memory, %g CPUs, %d pids\n", bytesText(c.MaxAgentLimits.Memory), c.MaxAgentLimits.CPUs, c.MaxAgentLimits.PIDs)
			fmt.Fprintf(w, "Invocations:      %d at once, %d queued at most\n", c.MaxConcurrency, c.QueueLength)
			fmt.Fprintf(w, "Live agents:      %d (pending %d, running %d, terminating %d)\n", u.LiveAgents,
				u.States[api.StatePending], u.States[api.StateRunning], u.States[api.StateTerminating])
			fmt.Fprintf(w, "Reserved:         %s memory, %g CPUs, %d pids\n", bytesText(u.Reserved.Memory), u.Reserved.CPUs, u.Reserved.PIDs)
			fmt.Fprintf(w, "Warm containers:  %d\n", u.WarmContainers)
			for _, p := range u.Pools {
				fmt.Fprintf(w, "  %s: %d of %d\n", p.Function, p.Ready, p.Target)
			}
			return nil
		},
	}
}
