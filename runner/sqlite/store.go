// Package sqlite keeps podrun's agents, events, saved logs, functions and results in a SQLite file.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
	"github.com/podrun/podrun/runner"
)

var _ runner.Store = (*Store)(nil)

// busyTimeoutMS bounds how long a connection waits for another process's lock
// (a backup tool, the sqlite3 shell) before giving up.
const busyTimeoutMS = 5000

// Store is the durable runner.Store: one writer connection and a pool of readers.
type Store struct {
	// writer is the only connection that writes, so transactions queue in Go
	// instead of fighting over SQLite's lock.
	writer *sql.DB
	// reader holds read-only connections; WAL lets them run beside the writer.
	reader *sql.DB

	agentByID      *sql.Stmt // on reader: the hot GET-by-id path
	agentExists    *sql.Stmt // on reader: AppendEvent's check
	functionByName *sql.Stmt // on reader: read on every invocation
	insertEv       *sql.Stmt // on writer
	insertHeld     *sql.Stmt // on writer
	transit        *sql.Stmt // on writer

	held       sync.Mutex     // guards the fields below
	heldEvents []runner.Event // appended, not yet written
	flushTimer *time.Timer    // writes heldEvents if no other write comes first
	closed     bool
	// heldWriting counts write transactions carrying held events not yet committed.
	heldWriting atomic.Int32
}

// Open opens (creating if needed) the database at path and brings its schema up to date.
func Open(path string) (*Store, error) {
	return open(path, "FULL")
}

// open takes the synchronous mode so a benchmark can measure what FULL costs;
// production always uses FULL because the API promises durability on return.
func open(path, synchronous string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{}
	if err := s.open(abs, synchronous); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) open(path, synchronous string) error {
	var err error
	s.writer, err = sql.Open("sqlite3", dsn(path, url.Values{
		"_journal_mode": {"WAL"},
		"_synchronous":  {synchronous},
		"_busy_timeout": {fmt.Sprint(busyTimeoutMS)},
		"_foreign_keys": {"on"},
		// Take the write lock at BEGIN so a transaction never fails half-way
		// trying to upgrade a read lock.
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return err
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	// Connect the writer first: it creates the file and switches it to WAL,
	// which read-only connections cannot do.
	if err := s.writer.Ping(); err != nil {
		return err
	}
	if err := migrate(context.Background(), s.writer, migrationFiles); err != nil {
		return err
	}

	s.reader, err = sql.Open("sqlite3", dsn(path, url.Values{
		"mode":          {"ro"},
		"_busy_timeout": {fmt.Sprint(busyTimeoutMS)},
	}))
	if err != nil {
		return err
	}
	// Idle readers stay open so their prepared statements stay warm.
	n := max(4, 2*runtime.GOMAXPROCS(0))
	s.reader.SetMaxOpenConns(n)
	s.reader.SetMaxIdleConns(n)
	s.reader.SetConnMaxLifetime(0)
	return s.prepare()
}

func (s *Store) prepare() error {
	var err error
	if s.agentByID, err = s.reader.Prepare(selectAgent + ` WHERE id = ?`); err != nil {
		return fmt.Errorf("prepare agent by id: %w", err)
	}
	if s.agentExists, err = s.reader.Prepare(`SELECT 1 FROM agents WHERE id = ?`); err != nil {
		return fmt.Errorf("prepare agent exists: %w", err)
	}
	if s.functionByName, err = s.reader.Prepare(selectFunction + ` WHERE name = ?`); err != nil {
		return fmt.Errorf("prepare function by name: %w", err)
	}
	if s.insertEv, err = s.writer.Prepare(insertEventSQL); err != nil {
		return fmt.Errorf("prepare insert event: %w", err)
	}
	if s.insertHeld, err = s.writer.Prepare(insertHeldEventSQL); err != nil {
		return fmt.Errorf("prepare insert held event: %w", err)
	}
	if s.transit, err = s.writer.Prepare(transitionSQL); err != nil {
		return fmt.Errorf("prepare transition: %w", err)
	}
	return nil
}

// dsn builds a file: URI so the path may hold any character and SQLite sees mode=ro.
func dsn(path string, params url.Values) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params.Encode()
}

// Close writes the held events and releases the store; the writer closes last
// so it checkpoints the WAL.
func (s *Store) Close() error {
	var errs []error
	if s.writer != nil && s.insertHeld != nil {
		errs = append(errs, s.write(context.Background(), noWrite))
	}
	s.held.Lock()
	s.closed = true
	if s.flushTimer != nil {
		s.flushTimer.Stop()
	}
	s.held.Unlock()
	for _, st := range []*sql.Stmt{s.agentByID, s.agentExists, s.functionByName, s.insertEv, s.insertHeld, s.transit} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	if s.writer != nil {
		errs = append(errs, s.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// write runs fn in one write transaction, committing only if fn succeeds.
// Held events go first, so event IDs keep the order of the appends.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	held := s.takeHeld()
	if len(held) > 0 {
		defer s.heldWriting.Add(-1) // takeHeld counted this transaction
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			s.returnHeld(held)
		}
	}()
	if err := s.writeHeld(ctx, tx, held); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
