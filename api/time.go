package api

import (
	"fmt"
	"time"
)

// Time is an instant as answers carry it: an RFC 3339 string in UTC with up to nanoseconds,
// exactly what time.Time writes for a UTC time. Convert with api.Time(t) and t.Time().
//
// It encodes through MarshalText rather than time.Time's MarshalJSON, because encoding/json
// re-scans a MarshalJSON's output: encoding the 400 times of a 100-agent list page took about
// four times as long as time.Time (1.9 ms against 0.4 ms on a 2-core machine).
type Time time.Time

// Time returns t as a time.Time.
func (t Time) Time() time.Time { return time.Time(t) }

// IsZero reports whether t is the zero instant.
func (t Time) IsZero() bool { return time.Time(t).IsZero() }

// String writes t as it goes on the wire.
func (t Time) String() string { return time.Time(t).UTC().Format(time.RFC3339Nano) }

// MarshalText writes t in UTC as RFC 3339 with nanoseconds, trailing zeros dropped.
func (t Time) MarshalText() ([]byte, error) {
	return time.Time(t).UTC().AppendFormat(make([]byte, 0, len(time.RFC3339Nano)), time.RFC3339Nano), nil
}

// UnmarshalText reads an RFC 3339 time.
func (t *Time) UnmarshalText(text []byte) error {
	v, err := time.Parse(time.RFC3339Nano, string(text))
	if err != nil {
		return fmt.Errorf("time %q: want RFC 3339, like 2026-01-02T03:04:05Z", text)
	}
	*t = Time(v)
	return nil
}

// TimeOf returns a pointer to t as a Time, or nil for the zero time: the shape of the optional
// times of an answer (null until set).
func TimeOf(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	v := Time(t)
	return &v
}
