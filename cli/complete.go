package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
)

// completeAgents completes agent ids from the server, live ones only when live is set, for the
// first argument (or every argument of commands taking several ids).
func (a *app) completeAgents(live bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !strings.Contains(cmd.Use, "ID...") {
			return nil, cobra.ShellCompDirectiveDefault
		}
		cl, err := a.client(cmd)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		opts := api.ListOptions{Limit: maxPage}
		if live {
			opts.States = api.LiveStates
		}
		page, err := cl.ListAgents(ctx, opts)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		out := make([]cobra.Completion, 0, len(page.Agents))
		for _, ag := range page.Agents {
			out = append(out, cobra.CompletionWithDesc(ag.ID, ag.Image+" "+string(ag.State)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFunctions completes function names from the server, for the first argument (or every
// argument of commands taking several names).
func (a *app) completeFunctions(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 && !strings.Contains(cmd.Use, "NAME...") {
		return nil, cobra.ShellCompDirectiveDefault
	}
	cl, err := a.client(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
	defer cancel()
	fns, err := cl.Functions(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	out := make([]cobra.Completion, len(fns))
	for i, f := range fns {
		out[i] = cobra.CompletionWithDesc(f.Name, f.Image)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
