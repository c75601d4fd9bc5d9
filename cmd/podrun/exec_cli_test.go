package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestExecCLITerminalFromAPipe: `podrun exec -it` with stdin a pipe still gives the command a
// terminal, and exits with its code.
func TestExecCLITerminalFromAPipe(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	r := d.podrun(t, "tty\nexit 3\n", "exec", "-it", a.ID, "sh").want(t, 3, "exec -it")
	if !strings.Contains(r.stdout, "/dev/pts/") {
		t.Errorf("exec -it: %s", r)
	}
}

// TestExecCLITerminal runs `podrun exec -it ID sh` on a pseudo-terminal of the test's own: the
// command starts with the window's size, follows a resize (SIGWINCH), and ^C reaches the
// command, not podrun (raw mode).
func TestExecCLITerminal(t *testing.T) {
	d := startDaemon(t, nil)
	a := runningAgent(t, d)
	master, slave := openPTY(t)
	setWinsize(t, master, 25, 90)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, podrunBinary(t), "exec", "-it", a.ID, "sh")
	cmd.Env = append(os.Environ(), "PODRUN_TOKEN=", "PODRUN_ADDR="+d.Addr())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := &lockedBuffer{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if strings.Contains(out.String(), want) {
				return
			}
		}
		t.Fatalf("no %q in the output:\n%s", want, out.String())
	}
	typeIn := func(s string) {
		t.Helper()
		if _, err := master.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	typeIn("stty size\n")
	waitFor("25 90")
	setWinsize(t, master, 33, 111)
	for i := 0; i < 100 && !strings.Contains(out.String(), "33 111"); i++ {
		typeIn("stty size\n")
		time.Sleep(200 * time.Millisecond)
	}
	waitFor("33 111")
	typeIn("echo st''arted; sleep 100\n")
	waitFor("started")
	time.Sleep(300 * time.Millisecond)
	typeIn("\x03")
	typeIn("echo \"alive $?\"\n")
	waitFor("alive 130")
	typeIn("exit 4\n")
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("podrun exited %d (%v), want 4; output:\n%s", code, err, out.String())
	}
}

// openPTY opens a pseudo-terminal pair with /dev/ptmx.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("ptsname: %v", e)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// setWinsize sets the terminal's size; the kernel signals SIGWINCH to its foreground group.
func setWinsize(t *testing.T, f *os.File, rows, cols uint16) {
	t.Helper()
	ws := struct{ rows, cols, x, y uint16 }{rows, cols, 0, 0}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); e != 0 {
		t.Fatalf("set window size: %v", e)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
