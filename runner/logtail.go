package runner

// lineRing keeps the last max lines passed to it; max <= 0 keeps them all.
type lineRing struct {
	max   int
	lines []LogLine
	start int // index of the oldest line once the ring is full
}

func (r *lineRing) add(l LogLine) {
	if r.max <= 0 || len(r.lines) < r.max {
		r.lines = append(r.lines, l)
		return
	}
	r.lines[r.start] = l
	r.start = (r.start + 1) % r.max
}

// each passes the kept lines, oldest first, and stops at the first error.
func (r *lineRing) each(fn func(LogLine) error) error {
	for i := range r.lines {
		if err := fn(r.lines[(r.start+i)%len(r.lines)]); err != nil {
			return err
		}
	}
	return nil
}

// streamTail keeps the last lines of each stream whose text adds up to at
// most max bytes per stream, and gives them back in log order: what podrun
// saves of a container's output before removing it.
type streamTail struct {
	max   int
	out   lineQueue
	err   lineQueue
	order int64 // numbers lines without a Seq, so the merge keeps their order
}

// lineQueue is one stream's kept lines and their total text size.
type lineQueue struct {
	lines []LogLine
	keys  []int64 // merge keys: Seq, or the arrival order
	head  int
	size  int
}

func newStreamTail(max int) *streamTail { return &streamTail{max: max} }

// add keeps l and drops the stream's oldest lines while the stream is over budget.
func (t *streamTail) add(l LogLine) {
	t.order++
	key := l.Seq
	if key == 0 {
		key = t.order
	}
	if len(l.Text) > t.max { // one line over the whole budget keeps its start
		l.Text, l.Cut = l.Text[:t.max], true
	}
	q := &t.out
	if l.Stream == Stderr {
		q = &t.err
	}
	q.lines, q.keys = append(q.lines, l), append(q.keys, key)
	q.size += len(l.Text)
	for q.size > t.max {
		q.size -= len(q.lines[q.head].Text)
		q.lines[q.head] = LogLine{} // let the text go
		q.head++
	}
	if q.head > len(q.lines)/2 { // compact, so memory stays about twice the budget
		q.lines = append(q.lines[:0], q.lines[q.head:]...)
		q.keys = append(q.keys[:0], q.keys[q.head:]...)
		q.head = 0
	}
}

// lines merges the two streams back into log order.
func (t *streamTail) lines() []LogLine {
	o, e := t.out.lines[t.out.head:], t.err.lines[t.err.head:]
	ok, ek := t.out.keys[t.out.head:], t.err.keys[t.err.head:]
	all := make([]LogLine, 0, len(o)+len(e))
	for len(o) > 0 || len(e) > 0 {
		if len(e) == 0 || (len(o) > 0 && ok[0] < ek[0]) {
			all, o, ok = append(all, o[0]), o[1:], ok[1:]
		} else {
			all, e, ek = append(all, e[0]), e[1:], ek[1:]
		}
	}
	return all
}
