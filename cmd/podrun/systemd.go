package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

// activatedListener returns the API socket systemd passed by socket activation
// (LISTEN_PID is this process, LISTEN_FDS=1), or nil when none was passed. It
// unsets the LISTEN_* variables so no child inherits them. More than one socket,
// or a socket that is not a listening stream, is an error: podrun serves one.
func activatedListener() (net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	switch {
	case len(lns) == 0:
		return nil, nil
	case len(lns) > 1:
		for _, ln := range lns {
			if ln != nil {
				_ = ln.Close()
			}
		}
		return nil, fmt.Errorf("socket activation: systemd passed %d sockets; podrun serves its API on exactly one (one ListenStream= in podrun.socket)", len(lns))
	case lns[0] == nil:
		return nil, fmt.Errorf("socket activation: the socket systemd passed is not a listening stream socket (use ListenStream=, not ListenDatagram=)")
	}
	return lns[0], nil
}

// checkActivated applies the rule podrun's listen setting follows to a socket systemd passed:
// anyone who reaches the API can run code in containers, so a TCP socket that is not on a
// loopback address needs a token. A unix socket is guarded by its file's permissions.
func checkActivated(ln net.Listener, token string) error {
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok || addr.IP.IsLoopback() || token != "" {
		return nil
	}
	return fmt.Errorf("socket activation: the socket systemd passed listens on %s, which is not a loopback address: "+
		"set a token (PODRUN_TOKEN or token_file), or ListenStream=127.0.0.1:PORT", addr)
}

// notify sends state to the service manager when NOTIFY_SOCKET is set (a
// Type=notify unit) and does nothing otherwise. A failed send is logged, not
// fatal: systemd then times the start out, which says more than an exit would.
func notify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("notify systemd", "state", state, "err", err)
	}
}
