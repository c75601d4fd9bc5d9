package sqlite

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// restoreCopy writes a Backup to a file of its own and opens it as a plain SQLite database,
// checking that it is whole (PRAGMA integrity_check) and needs no -wal beside it.
func restoreCopy(t *testing.T, s *Store) *sql.DB {
	t.Helper()
	f, err := s.Backup(context.Background())
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "copy.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, f); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var check, mode string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the copy = %q, %v; want ok", check, err)
	}
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "delete" {
		t.Errorf("copy's journal_mode = %q, %v; want delete (one self-contained file)", mode, err)
	}
	return db
}

// TestBackupDuringCreateLoop backs up the database while a writer creates agents without
// pause: every copy is whole and holds every agent whose CreateAgent returned before the
// backup began, and every event whose AppendEvent did.
func TestBackupDuringCreateLoop(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var (
		mu  sync.Mutex
		ids []string // created, with their event appended, in order
	)
	acked := func() []string { mu.Lock(); defer mu.Unlock(); return ids[:len(ids):len(ids)] }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			a := testAgent(i)
			if err := s.CreateAgent(ctx, a); err != nil {
				t.Errorf("CreateAgent %d: %v", i, err)
				return
			}
			if err := s.AppendEvent(ctx, runner.Event{AgentID: a.ID, Time: a.CreatedAt, Type: runner.EventContainer, Name: "created"}); err != nil {
				t.Errorf("AppendEvent %d: %v", i, err)
				return
			}
			mu.Lock()
			ids = append(ids, a.ID)
			mu.Unlock()
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	for round := 0; round < 5; round++ {
		for deadline := time.Now().Add(10 * time.Second); len(acked()) < 20*(round+1); {
			if time.Now().After(deadline) {
				t.Fatalf("the create loop made only %d agents", len(acked()))
			}
			time.Sleep(5 * time.Millisecond)
		}
		done := acked()
		db := restoreCopy(t, s)
		for i, id := range done {
			var agents, events int
			if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM agents WHERE id = ?), (SELECT COUNT(*) FROM events WHERE agent_id = ? AND name = 'created')`, id, id).Scan(&agents, &events); err != nil {
				t.Fatal(err)
			}
			if agents != 1 || events != 1 {
				t.Fatalf("round %d: acknowledged agent %d (%s) is in the copy %d times with %d created events, want 1 and 1", round, i, id, agents, events)
			}
		}
		t.Logf("round %d: copy holds all %d acknowledged agents", round, len(done))
	}
}

// TestBackupHoldsHeldEvents: an event AppendEvent acknowledged a moment ago is still held
// for its batch; the copy must hold it all the same.
func TestBackupHoldsHeldEvents(t *testing.T) {
	s := newStore(t)
	a := mustCreate(t, s, testAgent(1))
	if err := s.AppendEvent(context.Background(), runner.Event{AgentID: a.ID, Time: a.CreatedAt, Type: runner.EventContainer, Name: "started"}); err != nil {
		t.Fatal(err)
	}
	db := restoreCopy(t, s)
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM events WHERE agent_id = ? AND name = 'started'`, a.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("held event in the copy %d times (%v), want 1", n, err)
	}
}

// TestBackupCopyOpensAsAStore: the copy is a database podrun can be restored from.
func TestBackupCopyOpensAsAStore(t *testing.T) {
	s := newStore(t)
	a := mustCreate(t, s, testAgent(2))
	f, err := s.Backup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := filepath.Join(t.TempDir(), "podrun.db")
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := openTest(t, path)
	if got := mustAgent(t, restored, a.ID); got.ID != a.ID || got.Image != a.Image {
		t.Fatalf("restored agent = %+v", got)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(s.path), ".backup-*")); len(left) != 0 {
		t.Errorf("backup left staging files: %v", left)
	}
}
