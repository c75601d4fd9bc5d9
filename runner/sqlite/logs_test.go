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

func TestLogsKeepOrderStreamsAndTimes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustCreate(t, s, testAgent(1))
	_, err := s.Logs(ctx, a.ID)
	wantErr(t, err, runner.ErrNotFound) // nothing saved yet
	lines := []runner.LogLine{
		{Seq: 7, Time: t0, Stream: runner.Stderr, Text: "err1"},
		{Seq: 8, Time: t0.Add(500 * time.Millisecond), Stream: runner.Stdout, Text: "out1"},
		{Seq: 9, Time: t0.Add(time.Second), Stream: runner.Stderr, Text: ""},
		{Seq: 10, Time: t0.Add(time.Second), Stream: runner.Stdout, Text: "bin\x00\xff\n", Cut: true},
		{Seq: 11, Stream: runner.Stdout, Text: "no time, no newline", Partial: true},
	}
	if err := s.SaveLogs(ctx, a.ID, lines); err != nil {
		t.Fatal(err)
	}
	got, err := s.Logs(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, lines) {
		t.Errorf("Logs =\n%+v\nwant\n%+v", got, lines)
	}
	if got[0].Time.Location() != time.UTC {
		t.Errorf("time in %v, want UTC", got[0].Time.Location())
	}
	// A later save replaces the first, an empty one too.
	if err := s.SaveLogs(ctx, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Logs(ctx, a.ID); err != nil || len(got) != 0 {
		t.Errorf("Logs after an empty save = %+v, %v; want none", got, err)
	}
	if err := s.SaveLogs(ctx, a.ID, []runner.LogLine{{Stream: 0, Text: "x"}}); err == nil {
		t.Error("SaveLogs took a line of no stream")
	}
}

func TestDecodeLinesRejectsCorruption(t *testing.T) {
	first := runner.LogLine{Seq: 300, Time: t0, Stream: runner.Stdout, Text: "hello"}
	blob, err := encodeLines([]runner.LogLine{first, {Seq: 301, Stream: runner.Stderr, Text: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	one, err := encodeLines([]runner.LogLine{first})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(blob) {
		whole := n == 1 || n == len(one) // no line, or just the first
		if _, err := decodeLines(blob[:n]); (err == nil) != whole {
			t.Errorf("decodeLines of a blob cut at %d of %d bytes: %v", n, len(blob), err)
		}
	}
	bad := append([]byte(nil), blob...)
	bad[0] = 9
	if _, err := decodeLines(bad); err == nil {
		t.Error("decodeLines took an unknown format")
	}
}

// TestLogsSavedBeforeLinesWereKept reads a tail saved by a podrun that kept
// stdout and stderr as two blobs (schema 0002): it must still read, stdout
// lines first since the order across streams was never kept.
func TestLogsSavedBeforeLinesWereKept(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite3", dsn(path, url.Values{"_foreign_keys": {"on"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	older := fstest.MapFS{}
	for _, name := range []string{"migrations/0001_init.sql", "migrations/0002_functions.sql"} {
		data, err := fs.ReadFile(migrationFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		older[name] = &fstest.MapFile{Data: data}
	}
	if err := migrate(ctx, old, older); err != nil {
		t.Fatal(err)
	}
	a := testAgent(1)
	if _, err := old.Exec(`INSERT INTO agents (id, image, state, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		a.ID, a.Image, string(runner.StateSucceeded), nanos(a.CreatedAt), nanos(a.ExpiresAt)); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO logs (agent_id, stdout, stderr) VALUES (?, ?, ?)`,
		a.ID, []byte("out1\nout2\nunfinished"), []byte("err1\n")); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTest(t, path)
	got, err := s.Logs(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []runner.LogLine{
		{Stream: runner.Stdout, Text: "out1"},
		{Stream: runner.Stdout, Text: "out2"},
		{Stream: runner.Stdout, Text: "unfinished", Partial: true},
		{Stream: runner.Stderr, Text: "err1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("old tail =\n%+v\nwant\n%+v", got, want)
	}
	// A new save over the old row reads as the new lines alone.
	lines := []runner.LogLine{{Seq: 1, Time: t0, Stream: runner.Stderr, Text: "new"}}
	if err := s.SaveLogs(ctx, a.ID, lines); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Logs(ctx, a.ID); err != nil || !reflect.DeepEqual(got, lines) {
		t.Errorf("Logs after a new save = %+v, %v; want %+v", got, err, lines)
	}
}
