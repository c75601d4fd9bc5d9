package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
)

// pauseCmd is `podrun pause ID`: POST /v1/agents/{id}/pause.
func (a *app) pauseCmd() *cobra.Command {
	return a.freezeCmd("pause", "Freeze a running agent: no CPU, memory kept, its TTL still running",
		func(cmd *cobra.Command, id string) (api.Agent, error) {
			cl, err := a.client(cmd)
			if err != nil {
				return api.Agent{}, err
			}
			return cl.PauseAgent(cmd.Context(), id)
		})
}

// resumeCmd is `podrun resume ID`: POST /v1/agents/{id}/resume.
func (a *app) resumeCmd() *cobra.Command {
	return a.freezeCmd("resume", "Thaw a paused agent",
		func(cmd *cobra.Command, id string) (api.Agent, error) {
			cl, err := a.client(cmd)
			if err != nil {
				return api.Agent{}, err
			}
			return cl.ResumeAgent(cmd.Context(), id)
		})
}

func (a *app) freezeCmd(verb, short string, do func(*cobra.Command, string) (api.Agent, error)) *cobra.Command {
	return &cobra.Command{
		Use:               verb + " ID",
		Short:             short,
		Long:              short + ". The server answers 409 (an error here) unless the agent is in the state " + verb + " needs.",
		Args:              a.args(cobra.ExactArgs(1)),
		ValidArgsFunction: a.completeAgents(true),
		RunE: func(cmd *cobra.Command, ids []string) error {
			ag, err := do(cmd, ids[0])
			if err != nil {
				return fmt.Errorf("agent %s: %w", ids[0], err)
			}
			if a.json {
				return writeJSON(a.env.Stdout, ag)
			}
			fmt.Fprintf(a.env.Stdout, "%s %s\n", ag.ID, ag.State)
			return nil
		},
	}
}
