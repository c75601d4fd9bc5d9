package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// forwarded are the signals the shim passes on to the command. SIGKILL and
// SIGSTOP cannot be caught: they stop the shim, and with it the container.
var forwarded = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2,
	syscall.SIGALRM, syscall.SIGWINCH, syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
}

// runChild starts the command with the shim's standard streams (in the
// session and process group sys asks for), forwards signals to it, reaps every process that
// ends up with the shim as parent, and returns the command's exit status as
// a shell reports it (128+n for signal n).
func runChild(path string, args, env []string, sys *syscall.SysProcAttr) (int, error) {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	attr := &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}, Sys: sys}
	pid, err := syscall.ForkExec(path, args, attr)
	if err != nil {
		return exitCode(err), fmt.Errorf("exec %s: %w", args[0], err)
	}
	ended := make(chan syscall.WaitStatus, 1)
	go reap(pid, ended)
	for {
		select {
		case sig := <-sigs:
			_ = syscall.Kill(pid, sig.(syscall.Signal))
		case ws := <-ended:
			return status(ws), nil
		}
	}
}

// reap waits for any child until the command itself has ended: as PID 1 the
// shim inherits the orphans of the command's own children.
func reap(pid int, ended chan<- syscall.WaitStatus) {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil: // ECHILD: cannot happen while the command is unreaped
			ended <- syscall.WaitStatus(0x7f00) // exit status 127
			return
		case got == pid:
			ended <- ws
			return
		}
	}
}

// status is a wait status as a shell's $?.
func status(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
