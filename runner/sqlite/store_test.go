package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// t0 is a fixed clock with a nanosecond part, to catch precision loss.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t *testing.T) *Store {
	t.Helper()
	// A nested directory checks that Open creates it.
	return openTest(t, filepath.Join(t.TempDir(), "data", "podrun.db"))
}

// testAgent returns a pending agent created i milliseconds after t0, so IDs sort by i.
func testAgent(i int, edits ...func(*runner.Agent)) runner.Agent {
	at := t0.Add(time.Duration(i) * time.Millisecond)
	a := runner.Agent{
		ID:        runner.NewID(at),
		Function:  "echo",
		Image:     "localhost/podrun/busybox:latest",
		Command:   []string{"sh", "-c", "echo hi"},
		Env:       map[string]string{"A": "1"},
		Stdin:     []byte("in\x00put"),
		State:     runner.StatePending,
		Limits:    runner.Limits{Memory: 64 << 20, CPUs: 0.5, PIDs: 64},
		Labels:    map[string]string{"team": "a"},
		Isolation: runner.IsolationRunc,
		CreatedAt: at,
		ExpiresAt: at.Add(time.Minute),
	}
	for _, edit := range edits {
		edit(&a)
	}
	return a
}

func mustCreate(t *testing.T, s *Store, a runner.Agent) runner.Agent {
	t.Helper()
	if err := s.CreateAgent(context.Background(), a); err != nil {
		t.Fatalf("CreateAgent %s: %v", a.ID, err)
	}
	return a
}

func mustAgent(t *testing.T, s *Store, id string) runner.Agent {
	t.Helper()
	a, err := s.Agent(context.Background(), id)
	if err != nil {
		t.Fatalf("Agent %s: %v", id, err)
	}
	return a
}

// seed inserts n agents in one transaction, since one fsync per agent would make
// large fixtures slow; edit adjusts agent i.
func seed(tb testing.TB, s *Store, n int, edit func(i int, a *runner.Agent)) []runner.Agent {
	tb.Helper()
	ctx := context.Background()
	agents := make([]runner.Agent, n)
	err := s.write(ctx, func(tx *sql.Tx) error {
		for i := range agents {
			agents[i] = testAgent(i, func(a *runner.Agent) { edit(i, a) })
			if err := insertAgent(ctx, tx, agents[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seed: %v", err)
	}
	return agents
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func TestOpenPragmas(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, tt := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	} {
		var got string
		if err := s.writer.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("writer PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
		}
	}
	// The read pool must refuse writes, so a stray write can never bypass the single writer.
	_, err := s.reader.ExecContext(ctx, `DELETE FROM agents`)
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("write on read pool: err = %v, want a readonly error", err)
	}
}

func TestReopenKeepsDataAndMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podrun.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// Durability: close right after CreateAgent returns, with no other activity.
	a := mustCreate(t, s, testAgent(1))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		got := mustAgent(t, s, a.ID)
		if got.ID != a.ID || got.State != runner.StatePending {
			t.Errorf("after reopen got %+v", got)
		}
		var version int
		if err := s.writer.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		ms, err := migrations(migrationFiles)
		if err != nil {
			t.Fatal(err)
		}
		if version != len(ms) {
			t.Errorf("user_version = %d, want %d", version, len(ms))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podrun.db")
	s := openTest(t, path)
	if _, err := s.writer.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Fatal("Open of a newer schema succeeded, want an error")
	}
}

func TestQueryPlansUseIndexes(t *testing.T) {
	s := newStore(t)
	for _, tt := range []struct {
		name, query, index string
	}{
		{"by id", selectAgent + ` WHERE id = 'x'`, "sqlite_autoindex_agents_1"},
		{"next deadline", `SELECT expires_at ` + fromExpiring + ` ORDER BY expires_at LIMIT 1`, "agents_live_expires"},
		{"due agents", `SELECT id ` + fromExpiring + ` AND expires_at <= 5 ORDER BY expires_at, id`, "agents_live_expires"},
		{"unremoved", `SELECT id FROM agents WHERE removed_at = 0 AND state = 'expired' AND finished_at > 0 AND finished_at < 5`, "agents_unremoved"},
		{"list by state", `SELECT id FROM agents WHERE state = 'running' ORDER BY id DESC LIMIT 10`, "agents_state_id"},
		{"list by function", `SELECT id FROM agents WHERE function = 'f' ORDER BY id DESC LIMIT 10`, "agents_function_id"},
		{"events", `SELECT id FROM events WHERE agent_id = 'x' ORDER BY id`, "events_agent"},
		{"function by name", selectFunction + ` WHERE name = 'x'`, "sqlite_autoindex_functions_1"},
		{"functions", selectFunction + ` ORDER BY name`, "sqlite_autoindex_functions_1"},
		{"pending callbacks", `SELECT agent_id FROM results WHERE ` + pendingCallbacks + ` ORDER BY created_at, agent_id`, "results_pending_callbacks"},
		{"result", `SELECT output FROM results WHERE agent_id = 'x'`, "sqlite_autoindex_results_1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.reader.Query(`EXPLAIN QUERY PLAN ` + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if got := strings.Join(plan, "; "); !strings.Contains(got, tt.index) {
				t.Errorf("plan %q does not use %s", got, tt.index)
			}
		})
	}
}
