package runner

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestLineRingKeepsTheLastLines(t *testing.T) {
	for _, tc := range []struct {
		max, n int
		want   string
	}{{0, 5, "1 2 3 4 5"}, {3, 5, "3 4 5"}, {3, 2, "1 2"}, {1, 4, "4"}, {3, 0, ""}} {
		r := &lineRing{max: tc.max}
		for i := 1; i <= tc.n; i++ {
			r.add(LogLine{Seq: int64(i)})
		}
		var got []string
		_ = r.each(func(l LogLine) error {
			got = append(got, strconv.FormatInt(l.Seq, 10))
			return nil
		})
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("ring of %d after %d lines = %q, want %q", tc.max, tc.n, s, tc.want)
		}
	}
}

func TestStreamTailKeepsEachStreamsLastBytesInOrder(t *testing.T) {
	st := newStreamTail(10)
	in := []LogLine{
		{Seq: 1, Stream: Stdout, Text: "aaaa"},
		{Seq: 2, Stream: Stderr, Text: "EEEEEEEE"},
		{Seq: 3, Stream: Stdout, Text: "bbbb"},
		{Seq: 4, Stream: Stderr, Text: "F"},
		{Seq: 5, Stream: Stdout, Text: "cccc"}, // pushes "aaaa" out: stdout keeps 8 of its 10 bytes
		{Seq: 6, Stream: Stderr, Text: "G"},
		{Seq: 7, Stream: Stderr, Text: "HHHHHHHHHHHH"}, // longer than the budget: its start is kept
	}
	for _, l := range in {
		st.add(l)
	}
	var got []string
	for _, l := range st.lines() {
		s := l.Text
		if l.Cut {
			s += "(cut)"
		}
		got = append(got, s)
	}
	want := []string{"bbbb", "cccc", "HHHHHHHHHH(cut)"}
	if !slices.Equal(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}

	// Lines without a Seq (none is ever 0 from a sandbox) keep their arrival order.
	st = newStreamTail(100)
	for _, l := range []LogLine{{Stream: Stderr, Text: "1"}, {Stream: Stdout, Text: "2"}, {Stream: Stderr, Text: "3"}} {
		st.add(l)
	}
	got = got[:0]
	for _, l := range st.lines() {
		got = append(got, l.Text)
	}
	if !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("unnumbered lines came back as %q", got)
	}
}
