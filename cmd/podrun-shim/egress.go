package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/podrun/podrun/runner/shimproto"
)

// startEgress forwards shimproto.EgressAddr to the egress proxy's unix
// socket when the container has one (shimproto.EgressSocketEnv), for as long
// as the shim lives. It listens before the command starts, so the command
// never finds the port free or closed.
func startEgress(environ []string) error {
	sock := envValue(environ, shimproto.EgressSocketEnv)
	if sock == "" {
		return nil
	}
	ln, err := net.Listen("tcp", shimproto.EgressAddr)
	if err != nil {
		return fmt.Errorf("egress: listen on %s: %w", shimproto.EgressAddr, err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				fmt.Fprintf(os.Stderr, "podrun-shim: egress: %v\n", err)
				return
			}
			go forward(c, sock)
		}
	}()
	return nil
}

// forward copies bytes both ways between a connection from the container's
// programs and a new connection to the proxy's socket, half-closing each
// direction as it ends.
func forward(c net.Conn, sock string) {
	defer c.Close()
	p, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: egress: %v\n", err)
		return
	}
	defer p.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(p, c); _ = p.(*net.UnixConn).CloseWrite() }()
	go func() { defer wg.Done(); _, _ = io.Copy(c, p); _ = c.(*net.TCPConn).CloseWrite() }()
	wg.Wait()
}

// agentMain runs `--agent -- CMD...`: the command under the shim as PID 1,
// without the header and exit line of a function, and returns its status.
func agentMain(args, environ []string) int {
	if len(args) == 0 || args[0] != "--" || len(args) == 1 {
		fmt.Fprintf(os.Stderr, "podrun-shim: usage: podrun-shim %s -- CMD [ARG...]\n", shimproto.AgentFlag)
		return exitBadHeader
	}
	args = args[1:]
	if err := startEgress(environ); err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
		return exitBadHeader
	}
	path, err := lookPath(args[0], envValue(environ, "PATH"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
		return exitCode(err)
	}
	code, err := runChild(path, args, environ, &syscall.SysProcAttr{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "podrun-shim: %v\n", err)
	}
	return code
}
