package sqlite

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/podrun/podrun/runner"
)

// TestCrashAfterCreateAgent kills a process with SIGKILL the moment CreateAgent
// returns, without Close, and checks that a new process finds the agent: the
// commit must not depend on a checkpoint or a clean shutdown.
func TestCrashAfterCreateAgent(t *testing.T) {
	if path := os.Getenv("PODRUN_SQLITE_CRASH_DB"); path != "" {
		crashAfterCreate(path) // the child: never returns
	}
	path := filepath.Join(t.TempDir(), "podrun.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAfterCreateAgent$")
	cmd.Env = append(os.Environ(), "PODRUN_SQLITE_CRASH_DB="+path)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	err := cmd.Run()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child did not die by signal: %v", err)
	}
	id := strings.TrimSpace(stdout.String())
	if !runner.ValidID(id) {
		t.Fatalf("child printed %q, want an agent ID", id)
	}
	s := openTest(t, path)
	if got := mustAgent(t, s, id); got.State != runner.StatePending {
		t.Errorf("after crash: state %s, want pending", got.State)
	}
}

func crashAfterCreate(path string) {
	s, err := Open(path)
	if err != nil {
		os.Exit(2)
	}
	a := testAgent(1)
	if err := s.CreateAgent(context.Background(), a); err != nil {
		os.Exit(3)
	}
	os.Stdout.WriteString(a.ID + "\n")
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestReadsDuringWrites checks the read-only pool never sees SQLITE_BUSY or a
// missing row while the writer commits, since WAL readers work from snapshots.
func TestReadsDuringWrites(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	first := mustCreate(t, s, testAgent(0))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.Agent(ctx, first.ID); err != nil {
					t.Errorf("read during writes: %v", err)
					return
				}
				if _, err := s.ListAgents(ctx, runner.AgentFilter{Limit: 10}); err != nil {
					t.Errorf("list during writes: %v", err)
					return
				}
			}
		})
	}
	for i := 1; i <= 200; i++ {
		a := mustCreate(t, s, testAgent(i))
		// Read-your-writes across connections: the commit is visible at once.
		if _, err := s.Agent(ctx, a.ID); err != nil {
			t.Errorf("read after create: %v", err)
		}
	}
	close(done)
	wg.Wait()
}
