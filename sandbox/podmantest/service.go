// Package podmantest runs a Podman API service of a test's own, which the
// test may stop and start again to see what a service restart does. The
// shared service other tests use is never touched: this one has its own
// socket and shares only Podman's storage, as a restarted service would.
package podmantest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Service is one `podman system service --time=0` process on a socket in a temporary directory.
type Service struct {
	t      testing.TB
	sock   string
	log    string
	prefix []string // runs the service under another command, such as prlimit
	env    []string // added to the service's environment
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
}

// Option changes how Start runs the service.
type Option func(*Service)

// HardLimits runs the service with these soft and hard RLIMIT_NOFILE and
// RLIMIT_NPROC (through prlimit(1)), as a service started from a shell or a
// unit with lower limits would be.
func HardLimits(nofile, nproc uint64) Option {
	return func(s *Service) {
		s.prefix = []string{"prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile), fmt.Sprintf("--nproc=%d:%d", nproc, nproc), "--"}
	}
}

// Env adds variables to the service's environment, such as
// CONTAINERS_CONF=FILE for a service with a configuration of its own.
func Env(vars ...string) Option {
	return func(s *Service) { s.env = append(s.env, vars...) }
}

// Start starts a service, waits until it answers, and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Service {
	t.Helper()
	// A short path: unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "podrun-svc-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{t: t, sock: filepath.Join(dir, "podman.sock"), log: filepath.Join(dir, "service.log")}
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(func() {
		s.Stop(syscall.SIGTERM)
		os.RemoveAll(dir)
	})
	s.Restart()
	return s
}

// URI is the service's address for sandbox.Config.URI.
func (s *Service) URI() string { return "unix://" + s.sock }

// PID is the service process's ID while it runs, else 0.
func (s *Service) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restart starts the service if it is stopped and waits until it answers.
func (s *Service) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	// A killed service leaves its socket behind; the new one must not find it taken.
	_ = os.Remove(s.sock)
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logFile.Close()
	args := append(append([]string{}, s.prefix...), "podman", "system", "service", "--time=0", s.URI())
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), s.env...)
	// Its own process group: a signal meant for the test never reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start podman system service: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
	deadline := time.Now().Add(30 * time.Second)
	for !s.answers() {
		select {
		case <-s.done:
			s.t.Fatalf("podman system service exited at start:\n%s", s.logText())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("podman system service at %s does not answer:\n%s", s.sock, s.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop signals the service process (by its PID only) and waits until it has
// exited; SIGTERM is escalated to SIGKILL after 20 seconds. Containers keep
// running: conmon, not the service, holds them.
func (s *Service) Stop(sig syscall.Signal) {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// answers reports whether the service answers a ping.
func (s *Service) answers() bool {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", s.sock)
		},
	}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://d/_ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *Service) logText() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return strings.TrimSpace(string(b))
}
