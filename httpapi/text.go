package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// Text podrun receives must be valid UTF-8: it travels on in JSON (the store,
// answers, the shim's header), where encoding/json silently turns every invalid
// byte, and every lone UTF-16 surrogate escape, into U+FFFD. The command a client
// sent is then not the command that runs. These checks refuse such input with
// 400, naming where it was, before it is decoded and changed.

// invalidJSONText returns an error naming the first string in the JSON value
// data, key or value, that is not valid UTF-8 as sent (raw bytes) or once its
// escapes are read (a lone surrogate like "\ud800"); nil if there is none. data
// must already have decoded without error. Fields are named as the runner names
// them: "command[1]", "env.KEY", "limits.memory"; an invalid key is named by its
// object ("env", "labels").
func invalidJSONText(data []byte) error {
	if utf8.Valid(data) && !bytes.Contains(data, []byte(`\u`)) {
		return nil // the common case: nothing to look at
	}
	sc := textScanner{data: data}
	field, bad := sc.value("")
	if !bad {
		return nil
	}
	if field == "" {
		return apiErr(http.StatusBadRequest, api.CodeInvalid, "request body: a key is not valid UTF-8")
	}
	return &runner.FieldError{Field: field, Message: "must be valid UTF-8"}
}

// textScanner walks a JSON value that encoding/json accepted, looking only at its strings.
type textScanner struct {
	data []byte
	pos  int
}

// value scans the value at pos, whose path is path; bad reports an invalid
// string, named by field (its path, or its object's for a key).
func (s *textScanner) value(path string) (field string, bad bool) {
	s.space()
	if s.pos >= len(s.data) {
		return "", false
	}
	switch s.data[s.pos] {
	case '{':
		return s.object(path)
	case '[':
		return s.array(path)
	case '"':
		if !s.str() {
			return path, true
		}
		return "", false
	}
	for s.pos < len(s.data) && !endsLiteral(s.data[s.pos]) {
		s.pos++ // a number, true, false or null
	}
	return "", false
}

func endsLiteral(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

func (s *textScanner) object(path string) (string, bool) {
	s.pos++ // {
	for {
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] == '}' {
			s.pos++
			return "", false
		}
		if s.data[s.pos] == ',' {
			s.pos++
			continue
		}
		start := s.pos
		if !s.str() {
			return path, true
		}
		var key string
		if err := json.Unmarshal(s.data[start:s.pos], &key); err != nil {
			return "", false // cannot happen after a successful decode
		}
		s.space()
		s.pos++ // :
		child := key
		if path != "" {
			child = path + "." + key
		}
		if field, bad := s.value(child); bad {
			return field, true
		}
	}
}

func (s *textScanner) array(path string) (string, bool) {
	s.pos++ // [
	for i := 0; ; {
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] == ']' {
			s.pos++
			return "", false
		}
		if s.data[s.pos] == ',' {
			s.pos++
			i++
			continue
		}
		if field, bad := s.value(path + "[" + strconv.Itoa(i) + "]"); bad {
			return field, true
		}
	}
}

// str moves past the string at pos and reports whether it is valid UTF-8 once decoded.
func (s *textScanner) str() bool {
	s.pos++ // "
	valid := true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return valid
		case c == '\\':
			if s.pos+1 < len(s.data) && s.data[s.pos+1] == 'u' {
				r, ok := s.hex(s.pos + 2)
				s.pos += 6
				if isSurrogate(r) {
					// A high surrogate must be followed by an escaped low one.
					low, okLow := rune(0), false
					if r < 0xdc00 && s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
						low, okLow = s.hex(s.pos + 2)
					}
					if okLow && 0xdc00 <= low && low <= 0xdfff {
						s.pos += 6
					} else {
						valid = false
					}
				}
				valid = valid && ok
				continue
			}
			s.pos += 2
		case c < utf8.RuneSelf:
			s.pos++
		default:
			r, size := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && size == 1 {
				valid = false
			}
			s.pos += size
		}
	}
	return valid
}

// hex reads the four hex digits of a \u escape starting at i.
func (s *textScanner) hex(i int) (rune, bool) {
	if i+4 > len(s.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s.data[i:i+4]), 16, 16)
	return rune(n), err == nil
}

func isSurrogate(r rune) bool { return 0xd800 <= r && r <= 0xdfff }

func (s *textScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// invalidQueryText refuses a query parameter, name or value, that is not valid
// UTF-8 once unescaped; the field is the parameter's name ("query" for a name).
func invalidQueryText(rawQuery string) error {
	q, _ := url.ParseQuery(rawQuery) // malformed pairs are the handlers' business
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return &runner.FieldError{Field: "query", Message: "parameter names must be valid UTF-8"}
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return &runner.FieldError{Field: k, Message: "must be valid UTF-8"}
			}
		}
	}
	return nil
}

// checkQueryText wraps a route whose query parameters podrun reads itself.
func checkQueryText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := invalidQueryText(r.URL.RawQuery); err != nil {
			writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
