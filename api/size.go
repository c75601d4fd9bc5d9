package api

import (
	"encoding/json"
	"reflect"
	"strconv"
)

// Size is a size in bytes as a request carries it, kept as the user wrote it so the server, which
// validates every limit, judges it and names the field when it is wrong. Plain digits ("1048576")
// go on the wire as a JSON number of bytes; anything else ("256Mi", "1Gi", "500M") as a JSON
// string, which the server parses with the units Ki, Mi, Gi, Ti (powers of 1024) and K, M, G, T
// (powers of 1000). The empty Size is left out of requests: the server's default applies.
type Size string

// Bytes is the Size of n bytes.
func Bytes(n int64) Size { return Size(strconv.FormatInt(n, 10)) }

// MarshalJSON writes digits as a number and anything else as a string.
func (s Size) MarshalJSON() ([]byte, error) {
	if isJSONInteger(string(s)) {
		return []byte(s), nil
	}
	return json.Marshal(string(s))
}

// UnmarshalJSON reads a JSON number or string as it is written. Any other JSON value is a
// *json.UnmarshalTypeError, to which encoding/json adds the path of the field ("limits.memory",
// "max_output"), so the server's answer names the field the client sent.
func (s *Size) UnmarshalJSON(data []byte) error {
	var n json.Number
	if err := json.Unmarshal(data, &n); err == nil {
		*s = Size(n)
		return nil
	}
	var str string
	if err := json.Unmarshal(data, &str); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(data), Type: reflect.TypeFor[Size]()}
	}
	*s = Size(str)
	return nil
}

// jsonKind names the kind of a JSON value the way encoding/json's errors do.
func jsonKind(data []byte) string {
	switch data[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "value"
}

// isJSONInteger reports whether s is a non-negative integer as JSON writes one (no leading zeros).
func isJSONInteger(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
