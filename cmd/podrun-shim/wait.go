package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// waitMain is a keep-alive agent's PID 1: it runs nothing, reaps the
// orphans execs leave behind, and exits 0 at SIGTERM or SIGINT (podman stop,
// DELETE). As PID 1 it must catch them: the kernel drops signals an init has
// no handler for. With an egress proxy (shimproto.EgressSocketEnv) it
// forwards the proxy's port as an agent's shim does.
func waitMain(environ []string) int {
	if err := startEgress(environ); err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
		return exitBadHeader
	}
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
