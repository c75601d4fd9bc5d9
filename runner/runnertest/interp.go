package runnertest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// proc is what a fake program sees: its streams and a channel closed when it is signalled.
type proc struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	signalled      <-chan struct{}
	env            map[string]string
}

// codeSignalled ends a script when the process is signalled; the caller picks the exit code.
const codeSignalled = -1

// codeOOM ends a script killed by the kernel for memory: exit code 137, and
// the kernel's OOM kill count says so (the real sandbox reads it from the cgroup).
const codeOOM = -2

// run interprets argv: echo [-n], cat, true, false, sleep N, oom, exit N, printenv NAME, env (the
// extra environment only) and sh -c SCRIPT.
func (p proc) run(argv []string) int {
	if len(argv) == 0 {
		return 0
	}
	switch argv[0] {
	case "echo":
		if arg(argv, 1) == "-n" {
			fmt.Fprint(p.stdout, strings.Join(argv[2:], " "))
			return 0
		}
		fmt.Fprintln(p.stdout, strings.Join(argv[1:], " "))
		return 0
	case "cat":
		if _, err := io.Copy(p.stdout, p.stdin); err != nil {
			return codeSignalled
		}
		return 0
	case "true":
		return 0
	case "env":
		for _, k := range slices.Sorted(maps.Keys(p.env)) {
			fmt.Fprintf(p.stdout, "%s=%s\n", k, p.env[k])
		}
		return 0
	case "printenv":
		v, ok := p.env[arg(argv, 1)]
		if !ok {
			return 1
		}
		fmt.Fprintln(p.stdout, v)
		return 0
	case "false":
		return 1
	case "sleep":
		secs, err := strconv.ParseFloat(arg(argv, 1), 64)
		if err != nil {
			fmt.Fprintf(p.stderr, "sleep: invalid number %q\n", arg(argv, 1))
			return 1
		}
		select {
		case <-time.After(time.Duration(secs * float64(time.Second))):
			return 0
		case <-p.signalled:
			return codeSignalled
		}
	case "oom":
		return codeOOM
	case "exit":
		n, _ := strconv.Atoi(arg(argv, 1))
		return n
	case "sh":
		if arg(argv, 1) != "-c" {
			fmt.Fprintln(p.stderr, "sh: only sh -c SCRIPT is supported")
			return 2
		}
		return p.script(arg(argv, 2))
	}
	fmt.Fprintf(p.stderr, "sh: %s: not found\n", argv[0])
	return 127
}

// script runs ;-separated commands; `exit N` ends it and `>&2` sends echo to stderr.
func (p proc) script(s string) int {
	code := 0
	for _, cmd := range strings.Split(s, ";") {
		argv := fields(cmd)
		if len(argv) == 0 {
			continue
		}
		q := p
		if argv[len(argv)-1] == ">&2" {
			q.stdout, argv = p.stderr, argv[:len(argv)-1]
		}
		code = q.run(argv)
		if argv[0] == "exit" || code == codeSignalled || code == codeOOM {
			return code
		}
	}
	return code
}

// fields splits a command line on blanks, honouring single and double quotes.
func fields(s string) []string {
	var out []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				out, inWord = append(out, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

func arg(argv []string, i int) string {
	if i < len(argv) {
		return argv[i]
	}
	return ""
}
