package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestFlagErrorsArePrintedOnce: the flag package printed an unknown flag with
// one dash, then serve printed its error again.
func TestFlagErrorsArePrintedOnce(t *testing.T) {
	for _, args := range [][]string{{"serve", "--nope"}, {"serve", "-nope"}, {"serve", "--listen"}} {
		var stderr bytes.Buffer
		code := run(args, func(string) string { return "" }, &stderr)
		out := stderr.String()
		flag := strings.TrimLeft(args[1], "-")
		if code != 2 || strings.Count(out, "\n") != 1 || strings.Count(out, "--"+flag) != 1 || strings.Contains(out, " -"+flag) {
			t.Errorf("podrun %s: exit %d, stderr %q; want exit 2 and one line naming --%s once", strings.Join(args, " "), code, out, flag)
		}
	}
}
