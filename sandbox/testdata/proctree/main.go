//go:build ignore

// Proctree is a test program for images without a shell: FROM scratch and
// this one static binary. It builds process trees and lists processes.
//
//	proctree sleep        sleep for ever, reaping children (as a PID 1 would)
//	proctree hold MARK    sleep for ever; MARK only names the process
//	proctree tree MARK    start a child, and a grandchild in a session of its
//	                      own whose parent exits at once (a double fork), all
//	                      named MARK-*, then print "ready" and hold
//	proctree ps           print every process's command line, one a line
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: proctree sleep|hold MARK|tree MARK|ps")
	}
	switch os.Args[1] {
	case "sleep":
		for {
			var ws syscall.WaitStatus
			if _, err := syscall.Wait4(-1, &ws, 0, nil); err != nil {
				time.Sleep(time.Second) // no child yet
			}
		}
	case "hold":
		hold()
	case "tree":
		mark := os.Args[2]
		start(false, "hold", mark+"-child")
		start(false, "detach", mark+"-detached")
		fmt.Println("ready")
		hold()
	case "detach":
		start(true, "hold", os.Args[2]+"-orphan")
		os.Exit(0)
	case "ps":
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			b, err := os.ReadFile(d + "/cmdline")
			if err != nil || len(b) == 0 {
				continue // gone, or a zombie
			}
			fmt.Printf("%s %s\n", filepath.Base(d), bytes.TrimSpace(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	default:
		fail("unknown command " + os.Args[1])
	}
}

// hold sleeps for ever (an empty select would be a deadlock to Go's runtime).
func hold() {
	for {
		time.Sleep(time.Hour)
	}
}

// start runs this program again with args, in a session of its own if setsid.
func start(setsid bool, args ...string) {
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := cmd.Start(); err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "proctree:", msg)
	os.Exit(2)
}
