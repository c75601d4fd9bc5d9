package main

import (
	"os"
	"os/signal"
	"syscall"
)

// waitMain is a keep-alive agent's PID 1: it runs nothing, reaps the
// orphans execs leave behind, and exits 0 at SIGTERM or SIGINT (podman stop,
// DELETE). As PID 1 it must catch them: the kernel drops signals an init has
// no handler for.
func waitMain() int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			reapZombies()
			continue
		}
		return 0
	}
	return 0
}
