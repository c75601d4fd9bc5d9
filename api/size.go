package api

import (
	"encoding/json"
	"fmt"
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

// UnmarshalJSON reads a JSON number or string as it is written.
func (s *Size) UnmarshalJSON(data []byte) error {
	var n json.Number
	if err := json.Unmarshal(data, &n); err == nil {
		*s = Size(n)
		return nil
	}
	var str string
	if err := json.Unmarshal(data, &str); err != nil {
		return fmt.Errorf("size: want a number of bytes or a string like \"256Mi\", not %s", data)
	}
	*s = Size(str)
	return nil
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
