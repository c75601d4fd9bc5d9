package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
	"github.com/podrun/podrun/internal/buildinfo"
)

// versions is what podrun version prints with --json; Server is null when unknown, and
// ServerError then says why.
type versions struct {
	Client      api.Version  `json:"client"`
	Server      *api.Version `json:"server"`
	ServerError string       `json:"server_error,omitempty"`
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the client's and the server's version, commit and Go version",
		Long: `Print this binary's version, commit and Go version (stamped by make build), then the
server's. A server without GET /v1/version is reported as unknown; an unreachable server
makes podrun exit 125 after printing the client's.`,
		Args: a.args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := versions{Client: buildinfo.Get()}
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			sv, err := cl.Version(cmd.Context())
			switch {
			case err == nil:
				out.Server = &sv
			case client.ErrorCode(err) == api.CodeNotFound:
				out.ServerError = "unknown (server has no /v1/version)"
				err = nil
			default:
				out.ServerError = err.Error()
			}
			if a.json {
				if werr := writeJSON(a.env.Stdout, out); werr != nil {
					return werr
				}
				return err
			}
			printVersion(a.env.Stdout, "Client", &out.Client, "")
			unknown := out.ServerError
			if err != nil {
				unknown = "unreachable (see the error below)"
			}
			printVersion(a.env.Stdout, "Server", out.Server, unknown)
			return err
		},
	}
}

// printVersion writes one build's lines, or says why it is unknown.
func printVersion(w io.Writer, title string, v *api.Version, unknown string) {
	fmt.Fprintf(w, "%s:\n", title)
	if v == nil {
		fmt.Fprintf(w, "  Version:     %s\n", unknown)
		return
	}
	fmt.Fprintf(w, "  Version:     %s\n  Commit:      %s\n  Go version:  %s\n", v.Version, v.Commit, v.GoVersion)
}
