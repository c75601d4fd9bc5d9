package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"
)

// Backup makes a consistent copy of the live database with SQLite's online
// backup API while the store keeps serving, and returns it open for reading at
// its start: a complete SQLite file in rollback-journal mode (no -wal beside it),
// which a stopped podrun can take as its podrun.db. Events held for a batch are
// written first, so the copy holds every write acknowledged before the call.
// The copy is staged beside the database (same disk, same permissions) and
// unlinked at once: closing the file frees it.
func (s *Store) Backup(ctx context.Context) (*os.File, error) {
	if s.hasHeld() { // held, or taken by a transaction in flight: this write waits for it
		if err := s.write(ctx, noWrite); err != nil {
			return nil, fmt.Errorf("backup: write held events: %w", err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".backup-*.db")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	name := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(name + "-journal")
	defer os.Remove(name)
	if err := s.backupTo(ctx, name); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return f, nil // the deferred Remove unlinks it; f stays readable
}

// backupTo copies the database into the new file dst in one backup step, under
// one read transaction on a reader connection: writers go on (WAL) and the copy
// is the database as of that transaction's start.
func (s *Store) backupTo(ctx context.Context, dst string) error {
	db, err := sql.Open("sqlite3", dsn(dst, url.Values{"_busy_timeout": {fmt.Sprint(busyTimeoutMS)}}))
	if err != nil {
		return err
	}
	defer db.Close()
	dconn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer dconn.Close()
	sconn, err := s.reader.Conn(ctx)
	if err != nil {
		return err
	}
	defer sconn.Close()
	err = dconn.Raw(func(d any) error {
		return sconn.Raw(func(src any) error {
			dc, ok1 := d.(*sqlite3.SQLiteConn)
			sc, ok2 := src.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return errors.New("not a go-sqlite3 connection")
			}
			b, err := dc.Backup("main", sc, "main")
			if err != nil {
				return err
			}
			done, err := b.Step(-1) // every page at once
			if err == nil && !done {
				err = errors.New("backup step did not copy every page")
			}
			return errors.Join(err, b.Finish())
		})
	})
	if err != nil {
		return err
	}
	// The copied header says WAL, as the live file does; a lone file is simpler to restore.
	var mode string
	if err := dconn.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		return fmt.Errorf("switch the copy out of WAL: %w", err)
	}
	return nil
}
