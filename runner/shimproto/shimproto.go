// Package shimproto is the framing between podrun and the shim that runs
// function commands: podrun writes one header on the process's stdin, the shim
// reads exactly that header, adds its environment and runs the command, which
// then reads the rest of stdin (the request body) untouched; when the command
// ends, the shim's last line on stderr is its exit status (see EncodeExit).
package shimproto

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Magic opens every header so a mismatched shim fails loudly.
const Magic = "PODRUN1 "

// MaxHeader bounds the JSON part, so a corrupt length cannot make the shim allocate without limit.
const MaxHeader = 1 << 20

// Header is what podrun tells the shim before the body.
type Header struct {
	Env map[string]string `json:"env"`
}

// Encode returns the framed header: Magic, the JSON length in decimal, a newline, the JSON.
func Encode(h Header) ([]byte, error) {
	js, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(js) > MaxHeader {
		return nil, fmt.Errorf("shim header is %d bytes, over %d", len(js), MaxHeader)
	}
	out := append([]byte(Magic), strconv.Itoa(len(js))...)
	out = append(out, '\n')
	return append(out, js...), nil
}

// Decode reads exactly one header from r and nothing more: r is read a byte at a
// time up to the newline, so an unbuffered stdin is left at the body's first byte.
func Decode(r io.Reader) (Header, error) {
	line := make([]byte, 0, len(Magic)+8)
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(r, b); err != nil {
			return Header{}, fmt.Errorf("read shim header: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		if len(line) > len(Magic)+8 {
			return Header{}, fmt.Errorf("shim header line too long")
		}
		line = append(line, b[0])
	}
	if len(line) <= len(Magic) || string(line[:len(Magic)]) != Magic {
		return Header{}, fmt.Errorf("not a podrun shim header: %q", line)
	}
	n, err := strconv.Atoi(string(line[len(Magic):]))
	if err != nil || n < 0 || n > MaxHeader {
		return Header{}, fmt.Errorf("bad shim header length %q", line[len(Magic):])
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		return Header{}, fmt.Errorf("read shim header: %w", err)
	}
	var h Header
	if err := json.Unmarshal(js, &h); err != nil {
		return Header{}, fmt.Errorf("decode shim header: %w", err)
	}
	return h, nil
}
