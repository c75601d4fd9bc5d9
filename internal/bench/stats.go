package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// latencySummary describes a set of latencies in milliseconds. Percentiles are
// nearest-rank: p99 of fewer than 100 samples is the largest one.
type latencySummary struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// summarize sorts nothing in place: ds is copied first.
func summarize(ds []time.Duration) latencySummary {
	if len(ds) == 0 {
		return latencySummary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return latencySummary{
		N:    len(s),
		P50:  ms(percentile(s, 50)),
		P90:  ms(percentile(s, 90)),
		P99:  ms(percentile(s, 99)),
		Max:  ms(s[len(s)-1]),
		Mean: ms(sum / time.Duration(len(s))),
	}
}

// percentile is the nearest-rank p-th percentile of sorted, which must not be empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// ratio is a/b, or NaN when b is zero (printed as n/a, encoded as null).
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// benchTable is one block of the printed report.
type benchTable struct {
	Title   string
	Columns []string // the first column holds row labels
	Rows    [][]string
	Notes   []string
}

func (t *benchTable) add(cells ...string) { t.Rows = append(t.Rows, cells) }

// latencyRow is a table row of a latency summary under the columns latencyColumns.
func latencyRow(label string, s latencySummary) []string {
	return []string{label, fmt.Sprint(s.N), num(s.P50), num(s.P90), num(s.P99), num(s.Max)}
}

var latencyColumns = []string{"", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"}

// num formats a figure with a precision that suits its size; NaN is n/a.
func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// write prints the table with columns padded to their widest cell, labels left
// and figures right aligned.
func (t benchTable) write(w io.Writer) {
	fmt.Fprintf(w, "\n== %s ==\n", t.Title)
	rows := append([][]string{t.Columns}, t.Rows...)
	width := make([]int, 0)
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for ri, r := range rows {
		if ri == 0 && strings.TrimSpace(strings.Join(r, "")) == "" {
			continue
		}
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	for _, n := range t.Notes {
		fmt.Fprintf(w, "  * %s\n", n)
	}
}

// benchTarget is one goal of issue 4 beside the figure measured for it.
type benchTarget struct {
	Name     string    `json:"name"`
	Goal     string    `json:"goal"`
	Measured jsonFloat `json:"measured"`
	Unit     string    `json:"unit"`
	Pass     bool      `json:"pass"`
}

// target builds a result: pass is measured <= limit (atMost) or measured >= limit.
func target(name, goal string, measured float64, unit string, limit float64, atMost bool) benchTarget {
	pass := measured >= limit
	if atMost {
		pass = measured <= limit
	}
	if math.IsNaN(measured) {
		pass = false
	}
	return benchTarget{Name: name, Goal: goal, Measured: jsonFloat(measured), Unit: unit, Pass: pass}
}

func (t benchTarget) verdict() string {
	if t.Pass {
		return "PASS"
	}
	return "MISS"
}

// targetsTable lists every target of the run.
func targetsTable(ts []benchTarget) benchTable {
	t := benchTable{Title: "targets", Columns: []string{"target", "goal", "measured", "verdict"}}
	for _, x := range ts {
		t.add(x.Name, x.Goal, num(float64(x.Measured))+" "+x.Unit, x.verdict())
	}
	return t
}

// jsonFloat encodes NaN and infinities, which encoding/json refuses, as null.
type jsonFloat float64

// MarshalJSON writes the number, or null when it is not finite.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
}
