package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

// secretCmd manages the secrets functions may name (the server keeps them in Podman's secret
// store; a function mounts each it names at /var/openfaas/secrets/NAME).
func (a *app) secretCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Create, list, update and remove secrets functions may name",
		Args:  a.args(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.secretPutCmd(false), a.secretPutCmd(true), a.secretListCmd(), a.secretRemoveCmd())
	return cmd
}

func (a *app) secretPutCmd(update bool) *cobra.Command {
	var file string
	use, short := "create NAME", "Create a secret from a file or stdin"
	if update {
		use, short = "update NAME", "Change a secret's value, from a file or stdin"
	}
	cmd := &cobra.Command{
		Use:     use + " [--from-file PATH]",
		Short:   short,
		Long:    short + ". The value is never printed, and never given on the command line, where ps would show it.",
		Example: "  printf %s \"$API_KEY\" | podrun secret create api-key\n  podrun secret create tls-key --from-file key.pem",
		Args:    a.args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var value []byte
			var err error
			if file != "" {
				value, err = os.ReadFile(file)
			} else {
				value, err = io.ReadAll(a.env.Stdin)
			}
			if err != nil {
				return fmt.Errorf("read the secret's value: %w", err)
			}
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			verb := "created"
			if update {
				verb, err = "updated", cl.UpdateSecret(cmd.Context(), args[0], value)
			} else {
				err = cl.CreateSecret(cmd.Context(), args[0], value)
			}
			if err != nil {
				return err
			}
			if !a.json {
				fmt.Fprintf(a.env.Stdout, "secret %s %s (%d bytes)\n", args[0], verb, len(value))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "from-file", "", "read the value from this file instead of stdin")
	return cmd
}

func (a *app) secretListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List secrets (names only)",
		Args:    a.args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			list, err := cl.Secrets(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.env.Stdout, list)
			}
			for _, s := range list {
				fmt.Fprintln(a.env.Stdout, s.Name)
			}
			return nil
		},
	}
}

func (a *app) secretRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME [NAME...]",
		Aliases: []string{"delete"},
		Short:   "Remove secrets no function names",
		Long:    "Remove secrets no function names. Exits 1 when a name does not exist, after removing the others.",
		Args:    a.args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, names []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			return a.removeEach(cmd.Context(), "secret", names, cl.DeleteSecret)
		},
	}
}

// fnScaleCmd sets a function's warm pool size.
func (a *app) fnScaleCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "scale NAME WARM",
		Short:             "Set how many warm containers a function keeps ready",
		Long:              "Set how many warm containers a function keeps ready (0 empties the pool); the server caps it at invoke.max_warm.",
		Args:              a.args(cobra.ExactArgs(2)),
		ValidArgsFunction: a.completeFunctions,
		RunE: func(cmd *cobra.Command, args []string) error {
			warm, err := strconv.ParseUint(args[1], 10, 32)
			if err != nil {
				return &usageError{cmd, fmt.Errorf("WARM must be a whole number, not %q", args[1])}
			}
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			if err := cl.ScaleFunction(cmd.Context(), args[0], warm); err != nil {
				return err
			}
			f, err := cl.Function(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.env.Stdout, f)
			}
			_, err = fmt.Fprintf(a.env.Stdout, "function %s keeps %d warm\n", f.Name, f.Warm)
			return err
		},
	}
}
