package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
)

// freePort returns a loopback address no one listens on at the moment.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// notifySocket listens on a datagram socket as systemd does for a Type=notify
// service and returns its path and the messages, one per datagram.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdnotify-") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 16)
	go func() {
		defer close(msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	return path, msgs
}

// awaitNotify waits for a datagram holding the line want, failing on any datagram before it that
// holds one of the lines in early (a notice that came too soon).
func awaitNotify(t *testing.T, msgs <-chan string, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("notify socket closed before %s", want)
			}
			if slices.Contains(strings.Split(m, "\n"), want) {
				return m
			}
			t.Logf("notify message before %s: %q", want, m)
		case <-deadline:
			t.Fatalf("no %s on NOTIFY_SOCKET within %v", want, timeout)
		}
	}
}

// TestNotifyReadyAfterReconcileStoppingOnSIGTERM runs podrun serve as a
// Type=notify unit would: READY=1 must come only once the API answers and the
// agents were reconciled with Podman (an agent whose container was removed
// while podrun was down already reads failed/lost), and STOPPING=1 at SIGTERM.
func TestNotifyReadyAfterReconcileStoppingOnSIGTERM(t *testing.T) {
	dataDir := t.TempDir()
	p := startProcess(t, dataDir)
	a := p.client(t).create(t, api.AgentRequest{Command: []string{"sleep", "600"}})
	a = p.client(t).await(t, a.ID, 30*time.Second, api.StateRunning)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	if err := testSandbox(t).Remove(context.Background(), a.ContainerID); err != nil {
		t.Fatalf("remove the agent's container behind podrun's back: %v", err)
	}

	sock, msgs := notifySocket(t)
	addr := freePort(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "serve", "--listen", addr, "--data-dir", dataDir, "--podman-socket", podmanURI())
	cmd.Env = append(os.Environ(), "PODRUN_TEST_AS_DAEMON=1", "NOTIFY_SOCKET="+sock)
	var stderr lockedBuilder
	cmd.Stderr = writerFunc(func(b []byte) (int, error) { stderr.WriteString(string(b)); return len(b), nil })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("podrun's log:\n%s", stderr.String())
		}
	}()

	ready := awaitNotify(t, msgs, "READY=1", 60*time.Second)
	t.Logf("ready message: %q", ready)
	// Asked at once, with no retry: the listener must be bound and reconcile done.
	c := &testDaemon{api: newClient(t, "http://"+addr)}
	if got := c.get(t, a.ID); got.State != api.StateFailed || got.Reason != api.ReasonLost {
		t.Errorf("at READY=1 the agent whose container is gone is %s/%s, want failed/lost (reconcile done first)", got.State, got.Reason)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	awaitNotify(t, msgs, "STOPPING=1", 30*time.Second)
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Errorf("podrun serve after SIGTERM: %v, want exit 0", err)
	}
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestSocketActivation starts podrun serve under systemd-socket-activate,
// which binds the socket and passes it as LISTEN_FDS=1: the API answers on
// that socket although podrun's own --listen names another port.
func TestSocketActivation(t *testing.T) {
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Fatalf("systemd-socket-activate must be installed (make test installs the systemd package): %v", err)
	}
	dataDir := t.TempDir()
	addr, other := freePort(t), freePort(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "--listen", addr, "--setenv=PODRUN_TEST_AS_DAEMON=1",
		exe, "serve", "--listen", other, "--data-dir", dataDir, "--podman-socket", podmanURI())
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuilder
	banner := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				banner <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("log:\n%s", stderr.String())
		}
	}()

	// The socket is systemd-socket-activate's: once bound it takes
	// connections before podrun exists; podrun starts at the first one.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd-socket-activate did not bind %s: %v", addr, err)
		}
	}
	hc := &http.Client{Timeout: 90 * time.Second}
	resp, err := hc.Get("http://" + addr + "/v1/agents")
	if err != nil {
		t.Fatalf("GET /v1/agents on the passed socket: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/agents on the passed socket = %d, want 200", resp.StatusCode)
	}
	select {
	case got := <-banner:
		if got != "http://"+addr {
			t.Errorf("podrun says it listens on %s, want the passed socket http://%s", got, addr)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no banner")
	}
	if conn, err := net.DialTimeout("tcp", other, time.Second); err == nil {
		conn.Close()
		t.Errorf("podrun also bound its --listen %s; with a passed socket it must bind nothing", other)
	}
	id, err := os.ReadFile(filepath.Join(dataDir, "instance-id"))
	if err != nil {
		t.Fatal(err)
	}
	trackInstance(strings.TrimSpace(string(id)))
}

// TestSocketActivationOffLoopbackNeedsAToken: a socket systemd passes on a non-loopback address
// is held to the rule of podrun's own listen setting, a token or a refusal to start.
func TestSocketActivationOffLoopbackNeedsAToken(t *testing.T) {
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Fatalf("systemd-socket-activate must be installed (make test installs the systemd package): %v", err)
	}
	_, port, _ := net.SplitHostPort(freePort(t))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "--listen", "0.0.0.0:"+port, "--setenv=PODRUN_TEST_AS_DAEMON=1", "--setenv=PODRUN_TOKEN=",
		exe, "serve", "--data-dir", t.TempDir(), "--podman-socket", podmanURI())
	var stderr lockedBuilder
	cmd.Stderr = writerFunc(func(b []byte) (int, error) { stderr.WriteString(string(b)); return len(b), nil })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if conn, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			conn.Close() // podrun starts now
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("systemd-socket-activate did not bind port %s:\n%s", port, stderr.String())
		}
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(stderr.String(), "not a loopback address: set a token") {
			t.Errorf("podrun on a passed 0.0.0.0 socket without a token: %v, want a refusal naming the token:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("podrun served a passed 0.0.0.0 socket without a token:\n%s", stderr.String())
	}
}
