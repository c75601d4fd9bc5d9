package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/podrun/podrun/api"
)

// Backuper makes a consistent copy of podrun's database while podrun serves: the SQLite
// store's Backup (online backup API). The file it returns is open at its start, already
// unlinked; the caller closes it.
type Backuper interface {
	Backup(ctx context.Context) (*os.File, error)
}

// backup answers GET /v1/backup with a consistent copy of the live database, a whole SQLite
// file (application/vnd.sqlite3) that a stopped podrun can take as its podrun.db. The copy is
// made before the first byte is sent, so a failure is still an error status.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	if s.backuper == nil {
		writeError(w, r, apiErr(http.StatusNotFound, api.CodeNotFound, "this server keeps no database to back up"))
		return
	}
	f, err := s.backuper.Backup(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		writeError(w, r, err)
		return
	}
	// A large database takes longer to send than WriteTimeout allows other answers;
	// the client going away or the server shutting down still ends it.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", api.BackupContentType)
	h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	h.Set("Content-Disposition", `attachment; filename="podrun.db"`)
	h.Set("Cache-Control", "no-store")
	if _, err := io.Copy(w, f); err != nil {
		s.log.Warn("send backup", "err", err)
	}
}
