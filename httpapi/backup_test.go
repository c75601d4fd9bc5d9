package httpapi

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// fileBackuper hands out a copy of fixed bytes, as the store hands out its backup.
type fileBackuper struct {
	data []byte
	err  error
}

func (b fileBackuper) Backup(ctx context.Context) (*os.File, error) {
	if b.err != nil {
		return nil, b.err
	}
	path := filepath.Join(os.TempDir(), "podrun-backup-test")
	if err := os.WriteFile(path, b.data, 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(path)
	return os.Open(path)
}

func TestBackupRoute(t *testing.T) {
	data := []byte("SQLite format 3\x00 and the rest of a database")
	h := newHarness(t, Options{Token: testToken, Backup: fileBackuper{data: data}})
	if rec := h.do(t, http.MethodGet, "/v1/backup", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("backup without the token = %d, want 401", rec.Code)
	}
	rec := h.do(t, http.MethodGet, "/v1/backup", "", "Authorization", "Bearer "+testToken)
	if rec.Code != http.StatusOK || rec.Body.String() != string(data) {
		t.Fatalf("backup = %d %q, want 200 with the copy", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/vnd.sqlite3" {
		t.Errorf("Content-Type = %q", ct)
	}

	failing := newHarness(t, Options{Backup: fileBackuper{err: errors.New("disk full")}})
	if rec := failing.do(t, http.MethodGet, "/v1/backup", ""); rec.Code != http.StatusInternalServerError {
		t.Errorf("failed backup = %d, want 500", rec.Code)
	}
	none := newHarness(t, Options{})
	if rec := none.do(t, http.MethodGet, "/v1/backup", ""); rec.Code != http.StatusNotFound || apiErrorOf(t, rec).Code != "not_found" {
		t.Errorf("backup without a store = %d %s, want 404 not_found", rec.Code, rec.Body)
	}
}
