package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/podrun/podrun/api"
)

// writeJSON prints v indented, as every --json output is.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns, as podman's tables are.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

func (t *table) flush() error { return t.tw.Flush() }

// ago says how long before now t was, like "5s ago" or "3h ago".
func ago(t api.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return roughly(now.Sub(t.Time())) + " ago"
}

// until says how long from now t is, like "in 4m"; "-" when unset.
func until(t *api.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	d := t.Time().Sub(now)
	if d < 0 {
		return roughly(-d) + " ago"
	}
	return "in " + roughly(d)
}

// roughly writes d in its largest whole unit, as people read ages.
func roughly(d time.Duration) string {
	switch {
	case d < time.Second:
		return "0s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

// bytesize writes n in the largest binary unit that keeps one decimal, like "12.5MiB".
func bytesize(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + "B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + string("KMGTPE"[exp]) + "iB"
}

// status says where an agent is and how it ended, like "failed (oom, exit 137)".
func status(a api.Agent) string {
	var why []string
	if a.Reason != "" && a.Reason != api.ReasonExit {
		why = append(why, a.Reason)
	}
	if a.ExitCode != nil {
		why = append(why, "exit "+strconv.Itoa(*a.ExitCode))
	}
	if len(why) == 0 {
		return string(a.State)
	}
	return string(a.State) + " (" + strings.Join(why, ", ") + ")"
}

// shellJoin writes a command as a shell would read it back, quoting only what needs it.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, s := range args {
		if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>(){}*?[]#~!") {
			out[i] = s
			continue
		}
		out[i] = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// truncate cuts s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if n <= 0 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
