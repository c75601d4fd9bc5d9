package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/podrun/podrun/runner"
)

func openRaw(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(filepath.Join(t.TempDir(), "m.db"), nil))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func userVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrateAppliesInOrderOnce(t *testing.T) {
	db := openRaw(t)
	ctx := context.Background()
	fsys := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
		"migrations/0002_b.sql": {Data: []byte(`INSERT INTO a VALUES (1); ALTER TABLE a ADD COLUMN y TEXT;`)},
	}
	for range 2 { // the second run finds nothing to do
		if err := migrate(ctx, db, fsys); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := db.QueryRow(`SELECT COUNT(*) FROM a`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if got := userVersion(t, db); got != 2 || rows != 1 {
		t.Errorf("user_version %d, %d rows; want 2 and 1 (each migration once)", got, rows)
	}
}

func TestMigrateRollsBackAFailedMigration(t *testing.T) {
	db := openRaw(t)
	fsys := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
		"migrations/0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER); SELECT no_such_function();`)},
	}
	if err := migrate(context.Background(), db, fsys); err == nil {
		t.Fatal("migrate succeeded, want the error of 0002")
	}
	var tables int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'b'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if got := userVersion(t, db); got != 1 || tables != 0 {
		t.Errorf("user_version %d, table b exists: %v; want 1 and no table b", got, tables == 1)
	}
}

func TestMigrationsMustBeNumberedWithoutGaps(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":        {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"duplicate":  {"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}},
		"unnumbered": {"migrations/init.sql": {}},
	} {
		if _, err := migrations(fsys); err == nil {
			t.Errorf("%s: migrations accepted %v", name, fsys)
		}
	}
}

// TestMigrateFrom0001 opens a database made by a podrun that knew only 0001:
// its agents must survive with the defaults of the columns 0002 adds.
func TestMigrateFrom0001(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite3", dsn(path, url.Values{"_foreign_keys": {"on"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	init, err := fs.ReadFile(migrationFiles, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, old, fstest.MapFS{"migrations/0001_init.sql": {Data: init}}); err != nil {
		t.Fatal(err)
	}
	a := testAgent(1, func(a *runner.Agent) { a.State, a.FinishedAt = runner.StateSucceeded, t0.Add(time.Second) })
	_, err = old.Exec(`INSERT INTO agents (id, function, image, command, env, stdin, state, memory, cpus, pids,
		labels, created_at, finished_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Function, a.Image, `["sh","-c","echo hi"]`, `{"A":"1"}`, a.Stdin, string(a.State),
		a.Limits.Memory, a.Limits.CPUs, a.Limits.PIDs, `{"team":"a"}`,
		nanos(a.CreatedAt), nanos(a.FinishedAt), nanos(a.ExpiresAt))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTest(t, path)
	if got, want := userVersion(t, s.writer), latestVersion(t); got != want {
		t.Errorf("user_version = %d, want %d", got, want)
	}
	if got := mustAgent(t, s, a.ID); !reflect.DeepEqual(got, a) {
		t.Errorf("migrated agent\ngot  %+v\nwant %+v", got, a)
	}
	// The new tables work on the migrated file, including the foreign key to old agents.
	mustPutFunction(t, s, testFunction("fn"), true)
	mustSaveResult(t, s, runner.Result{AgentID: a.ID, Output: []byte("out")})
}

// latestVersion is the number of podrun's migrations.
func latestVersion(t *testing.T) int {
	t.Helper()
	ms, err := migrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}
