package sqlite

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// decodeSlice returns an empty slice rather than nil so the API shows [] consistently.
func decodeSlice(b []byte) ([]string, error) {
	if out, ok := plainStrings(b, '[', ']', false); ok {
		if out == nil {
			out = []string{}
		}
		return out, nil
	}
	out := []string{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// decodeMap returns an empty map rather than nil so the API shows {} consistently.
func decodeMap(b []byte) (map[string]string, error) {
	if kv, ok := plainStrings(b, '{', '}', true); ok {
		out := make(map[string]string, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out, nil
	}
	out := map[string]string{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// plainStrings is the fast path for what encodeJSON writes: a compact JSON
// array of strings, or object of string values (pairs), none holding an
// escape, control character or invalid UTF-8. Anything else (spaces,
// escapes, other types) reports false, for encoding/json to decode; a
// repeated key keeps its last value either way. The empty input is an empty
// collection, as a column never written.
func plainStrings(b []byte, open, close byte, pairs bool) ([]string, bool) {
	if len(b) == 0 {
		return nil, true
	}
	if len(b) < 2 || b[0] != open || b[len(b)-1] != close {
		return nil, false
	}
	body := b[1 : len(b)-1]
	var out []string
	for len(body) > 0 {
		if len(out) > 0 {
			if body[0] != ',' {
				return nil, false
			}
			body = body[1:]
		}
		s, rest, ok := plainString(body)
		if !ok {
			return nil, false
		}
		out = append(out, s)
		body = rest
		if pairs {
			if len(body) == 0 || body[0] != ':' {
				return nil, false
			}
			if s, rest, ok = plainString(body[1:]); !ok {
				return nil, false
			}
			out = append(out, s)
			body = rest
		}
	}
	return out, true
}

// plainString reads one "..." with no escape or control character.
func plainString(b []byte) (string, []byte, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", nil, false
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 {
		return "", nil, false
	}
	s := b[1 : 1+end]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return "", nil, false
		}
	}
	if !utf8.Valid(s) { // encoding/json would replace the bad bytes
		return "", nil, false
	}
	return string(s), b[2+end:], true
}
