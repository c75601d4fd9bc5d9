package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// acked records what the API acknowledged (201), in order.
type acked struct {
	mu     sync.Mutex
	agents []string
	fns    []string
}

func (a *acked) snapshot() (agents, fns []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.agents...), append([]string(nil), a.fns...)
}

// TestBackupWhileServing runs `podrun backup FILE` three times while clients create agents and
// functions without pause: each copy passes PRAGMA integrity_check and holds every agent and
// function the API acknowledged before that backup began.
func TestBackupWhileServing(t *testing.T) {
	d := startDaemon(t, nil)
	var got acked
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // agents: each one a container, so a few dozen at most on a small machine
		defer wg.Done()
		for i := 0; ctx.Err() == nil && i < 30; i++ {
			a, err := d.api.CreateAgent(ctx, api.AgentRequest{Image: testImage, Command: []string{"true"}})
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("create agent %d: %v", i, err)
				}
				return
			}
			got.mu.Lock()
			got.agents = append(got.agents, a.ID)
			got.mu.Unlock()
		}
	}()
	go func() { // functions: rows only, written as fast as the API takes them
		defer wg.Done()
		for i := 0; ctx.Err() == nil && i < 2000; i++ {
			name := fmt.Sprintf("fn%d", i)
			if _, _, err := d.api.PutFunction(ctx, name, api.FunctionRequest{Image: testImage, Command: []string{"cat"}}); err != nil {
				if ctx.Err() == nil {
					t.Errorf("put function %s: %v", name, err)
				}
				return
			}
			got.mu.Lock()
			got.fns = append(got.fns, name)
			got.mu.Unlock()
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	dir := t.TempDir()
	seen := 0
	for round := 0; round < 3; round++ {
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if agents, fns := got.snapshot(); len(agents)+len(fns) > seen {
				break // more were created since the last backup
			}
			if time.Now().After(deadline) {
				t.Fatalf("nothing created within 60s after the first %d rows", seen)
			}
		}
		agents, fns := got.snapshot()
		seen = len(agents) + len(fns)
		file := filepath.Join(dir, fmt.Sprintf("backup-%d.db", round))
		d.podrun(t, "", "backup", file).want(t, 0, "podrun backup")
		checkBackup(t, file, agents, fns)
		t.Logf("round %d: the copy holds all %d acknowledged agents and %d functions", round, len(agents), len(fns))
	}
}

// checkBackup opens a copy as a plain SQLite database: whole, and holding those rows.
func checkBackup(t *testing.T, file string, agents, fns []string) {
	t.Helper()
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, mode %v; want 0600 (it holds agents' environment and input)", err, fi.Mode())
	}
	db, err := sql.Open("sqlite3", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of %s = %q, %v; want ok", file, check, err)
	}
	for _, q := range []struct {
		query string
		keys  []string
	}{{"SELECT COUNT(*) FROM agents WHERE id = ?", agents}, {"SELECT COUNT(*) FROM functions WHERE name = ?", fns}} {
		for _, k := range q.keys {
			var n int
			if err := db.QueryRow(q.query, k).Scan(&n); err != nil || n != 1 {
				t.Fatalf("%s in the copy: %d rows (%v); acknowledged before the backup, want 1", k, n, err)
			}
		}
	}
}
