package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

func (a *app) eventsCmd() *cobra.Command {
	var (
		follow  bool
		filters []string
		after   int64
	)
	cmd := &cobra.Command{
		Use:   "events [ID]",
		Short: "Print events: one agent's history, or every agent's on the host (-f follows)",
		Long: `Print events oldest first: state changes, container phases and alerts.

With an agent ID and no other flag, print that agent's history. Otherwise print the events of
every agent on the host, after event --after, kept by --filter type=TYPE (state, container,
alert, resolved, or invocation for every event of function invocations; repeatable: any of
them), function=NAME, label=KEY=VALUE or agent=ID. With -f, keep following new events as
they are committed until interrupted; when the server ends the stream (podrun restarting, the
terminal reading too slowly) it reconnects after the last event printed, so no event is
missed or printed twice. With --json, one JSON event per line.`,
		Args:              a.args(cobra.MaximumNArgs(1)),
		ValidArgsFunction: a.completeAgents(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			opts, err := parseEventFilters(filters)
			if err != nil {
				return &usageError{cmd, err}
			}
			opts.After = after
			if len(args) == 1 {
				if !follow && len(filters) == 0 && after == 0 {
					return a.agentHistory(cmd.Context(), cl, args[0])
				}
				opts.Agent = args[0]
			}
			if follow {
				return a.followEvents(cmd.Context(), cl, opts)
			}
			return a.listEvents(cmd.Context(), cl, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new events as they happen")
	f.StringArrayVar(&filters, "filter", nil, "keep events matching type=TYPE, function=NAME, label=KEY=VALUE or agent=ID")
	f.Int64Var(&after, "after", 0, "start after this event id")
	return cmd
}

// parseEventFilters reads --filter flags of podrun events.
func parseEventFilters(filters []string) (api.EventOptions, error) {
	var o api.EventOptions
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return o, fmt.Errorf("--filter %q: want KEY=VALUE", f)
		case k == "type":
			o.Types = append(o.Types, v)
		case k == "function":
			o.Function = v
		case k == "agent":
			o.Agent = v
		case k == "label":
			if err := addLabelFilter(&o.Labels, f, v); err != nil {
				return o, err
			}
		default:
			return o, fmt.Errorf("--filter %q: filters are type, function, label and agent", f)
		}
	}
	return o, nil
}

// agentHistory prints one agent's events as a table.
func (a *app) agentHistory(ctx context.Context, cl *client.Client, id string) error {
	events, err := cl.Events(ctx, id)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(a.env.Stdout, events)
	}
	t := newTable(a.env.Stdout, "TIME", "TYPE", "NAME", "DETAIL")
	for _, e := range events {
		t.row(e.Time.Time().Local().Format("2006-01-02 15:04:05.000"), e.Type, e.Name, e.Detail)
	}
	return t.flush()
}

// listEvents prints every matching event, page after page.
func (a *app) listEvents(ctx context.Context, cl *client.Client, opts api.EventOptions) error {
	opts.Limit = maxPage
	var all []api.Event
	for {
		page, err := cl.ListEvents(ctx, opts)
		if err != nil {
			return err
		}
		all = append(all, page.Events...)
		if page.NextCursor == "" || len(page.Events) == 0 {
			break
		}
		opts.After = page.Events[len(page.Events)-1].ID
	}
	if a.json {
		return writeJSON(a.env.Stdout, all)
	}
	t := newTable(a.env.Stdout, "ID", "TIME", "AGENT", "TYPE", "NAME", "DETAIL")
	for _, e := range all {
		t.row(strconv.FormatInt(e.ID, 10), e.Time.Time().Local().Format("2006-01-02 15:04:05.000"), e.AgentID, e.Type, e.Name, e.Detail)
	}
	return t.flush()
}

// followEvents prints events as they come, reconnecting after the last one printed whenever the
// stream ends, until ctx ends.
func (a *app) followEvents(ctx context.Context, cl *client.Client, opts api.EventOptions) error {
	for {
		err := a.followOnce(ctx, cl, &opts)
		if ctx.Err() != nil {
			return nil // interrupted: the normal end of a follow
		}
		var end *client.StreamEndError
		switch {
		case errors.As(err, &end):
			fmt.Fprintf(a.env.Stderr, "podrun: %v; resuming after event %d\n", err, opts.After)
		case errors.Is(err, io.ErrUnexpectedEOF):
			fmt.Fprintf(a.env.Stderr, "podrun: the event stream broke; resuming after event %d\n", opts.After)
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// followOnce prints one stream's events, advancing opts.After past each.
func (a *app) followOnce(ctx context.Context, cl *client.Client, opts *api.EventOptions) error {
	s, err := cl.FollowEvents(ctx, *opts)
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		e, err := s.Next()
		if err != nil {
			return err
		}
		if a.json {
			err = writeJSONLine(a.env.Stdout, e)
		} else {
			_, err = fmt.Fprintf(a.env.Stdout, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID,
				e.Time.Time().Local().Format("2006-01-02 15:04:05.000"), e.AgentID, e.Type, e.Name, e.Detail)
		}
		if err != nil {
			return err
		}
		opts.After = e.ID
	}
}
