package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dataDirLock is an exclusive flock on data_dir/lock, held for the daemon's
// life. Two daemons on one data dir would share its instance id and database:
// the second would take the first's agents and containers as its own and
// remove its warm containers. The file holds the holder's PID, for the message.
type dataDirLock struct{ f *os.File }

// DataDirInUseError says another process holds the data dir's lock.
type DataDirInUseError struct {
	Dir    string // the data dir
	Lock   string // the lock file
	Holder string // "pid N", or why the PID is unknown
}

func (e *DataDirInUseError) Error() string {
	return fmt.Sprintf("data dir %s is in use by another podrun (%s, holding %s); "+
		"stop that one first, or give this one a data dir of its own (--data-dir)", e.Dir, e.Holder, e.Lock)
}

// lockDataDir takes the lock on dir or fails at once with a *DataDirInUseError naming the holder's PID.
func lockDataDir(dir string) (*dataDirLock, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &DataDirInUseError{Dir: dir, Lock: path, Holder: holder}
		}
		return nil, fmt.Errorf("lock data dir: flock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data dir: write pid to %s: %w", path, err)
	}
	return &dataDirLock{f: f}, nil
}

// readHolder describes the process named in the lock file.
func readHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return "pid unknown: it is still starting"
	}
	return "pid " + strconv.Itoa(pid)
}

// Close releases the lock; the file stays, so a later start reuses it.
func (l *dataDirLock) Close() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
