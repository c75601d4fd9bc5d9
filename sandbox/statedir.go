package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// privateDir creates dir if needed and checks that only this user can
// change what is in it: Podman loads the seccomp profile and mounts the
// shim from there into every container, so another user able to replace
// them could run code in, or lift the confinement of, every agent. Others
// may pass through it (mode 0711), as gVisor's gofer must: it opens a
// mount's source as the container's mapped user, and a 0700 directory made
// every gVisor container with a user namespace fail to start ("cannot read
// client sync file"). Its files are public: podrun's profile, hosts file and shim.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("sandbox state dir: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("sandbox state dir: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("sandbox state dir %s: not a directory (a symbolic link is refused)", dir)
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("sandbox state dir %s: owned by another user; podrun needs a directory of its own", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("sandbox state dir %s: writable by others (mode %s); want 0711", dir, fi.Mode().Perm())
	case fi.Mode().Perm()&0o011 != 0o011:
		if err := os.Chmod(dir, fi.Mode().Perm()|0o011); err != nil {
			return fmt.Errorf("sandbox state dir %s: let containers' users through: %w", dir, err)
		}
	}
	return nil
}

// install writes data to dir as prefix-HASH (the first 16 hex digits of its
// SHA-256), unless a file with those very bytes is there, and returns the
// path. Named by content, a file never changes under a container that uses
// it, and daemons of different versions can share the directory.
func install(dir, prefix string, data []byte, perm fs.FileMode) (string, error) {
	sum := sha256.Sum256(data)
	path := filepath.Join(dir, prefix+"-"+hex.EncodeToString(sum[:8]))
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, data) {
		now := time.Now()
		_ = os.Chtimes(path, now, now) // in use again: see pruneStateDir
		return path, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("install %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+prefix+"-*")
	if err != nil {
		return "", fmt.Errorf("install %s: %w", path, err)
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(perm), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path) // atomic: a concurrent reader sees the old file or the whole new one
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("install %s: %w", path, err)
	}
	return path, nil
}
