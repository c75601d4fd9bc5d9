package shimproto

import (
	"bytes"
	"strconv"
)

// exitPrefix opens the line the shim writes last on stderr, once the command has ended.
const exitPrefix = "podrun-shim: exit status "

// ExitTail is how many bytes at the end of stderr hold the exit line.
const ExitTail = 64

// EncodeExit is the shim's last line on stderr: the command's exit status,
// so podrun learns it with the end of the stream instead of asking the engine.
func EncodeExit(code int) []byte {
	return append(strconv.AppendInt([]byte(exitPrefix), int64(code), 10), '\n')
}

// DecodeExit returns the exit status from the exit line that ends tail, the
// last bytes of a process's stderr; false if tail does not end with one.
func DecodeExit(tail []byte) (int, bool) {
	i := bytes.LastIndex(tail, []byte(exitPrefix))
	if i < 0 {
		return 0, false
	}
	digits, ok := bytes.CutSuffix(tail[i+len(exitPrefix):], []byte("\n"))
	if !ok || len(digits) == 0 || len(digits) > 3 {
		return 0, false
	}
	code, err := strconv.Atoi(string(digits))
	if err != nil || code < 0 || code > 255 || digits[0] == '+' {
		return 0, false
	}
	return code, true
}
