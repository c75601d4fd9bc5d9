package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

func (a *app) backupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Copy the server's live database to FILE, consistently, while it serves",
		Long: `Copy podrun's SQLite database to FILE while podrun serves, through GET /v1/backup: the
server makes the copy with SQLite's online backup API, so it is consistent and holds every
write acknowledged before the command started, and sends it. FILE is written beside itself
and renamed into place when complete, replacing a file of that name.

To restore: stop podrun, put FILE in place of DATA_DIR/podrun.db, remove podrun.db-wal and
podrun.db-shm there, and start podrun; it reconciles the agents with the containers it finds.`,
		Args: a.args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client(cmd)
			if err != nil {
				return err
			}
			dst := args[0]
			tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".partial-*")
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			defer os.Remove(tmp.Name())
			n, err := cl.Backup(cmd.Context(), tmp)
			if err == nil {
				err = checkHeader(tmp)
			}
			if err == nil {
				err = tmp.Sync()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), dst)
			}
			if err != nil {
				return fmt.Errorf("backup to %s: %w", dst, err)
			}
			if !a.json {
				fmt.Fprintf(a.env.Stdout, "backed up %d bytes to %s\n", n, dst)
				return nil
			}
			return writeJSON(a.env.Stdout, map[string]any{"file": dst, "bytes": n})
		},
	}
}

// checkHeader makes sure what the server sent is a SQLite database.
func checkHeader(f *os.File) error {
	head := make([]byte, len(sqliteHeader))
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, sqliteHeader) {
		return fmt.Errorf("the server's answer is not a SQLite database")
	}
	return nil
}
