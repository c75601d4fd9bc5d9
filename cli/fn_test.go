package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFnInvokeFailureWithoutOutput: a function that fails without writing anything gets a JSON
// error with its reason and exit code; fn invoke says why and exits with that code, as it does
// when the function wrote something.
func TestFnInvokeFailureWithoutOutput(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Podrun-Exit-Code", "3")
		h.Set("X-Podrun-Reason", "failed")
		switch r.URL.Path {
		case "/v1/functions/fail/invoke":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"code":"function_failed","message":"the function failed (exit code 3)","reason":"failed","exit_code":3}}`)
		case "/v1/functions/slow/invoke":
			w.WriteHeader(http.StatusGatewayTimeout)
			fmt.Fprint(w, `{"error":{"code":"timeout","message":"the function did not finish within its timeout and was killed (exit code 137)","reason":"expired","exit_code":137}}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"code":"internal","message":"internal error"}}`)
		}
	}))
	defer srv.Close()
	for _, tt := range []struct {
		name   string
		json   bool
		code   int
		stderr string
	}{
		{"fail", false, 3, "Error: the function failed (exit code 3)\n"},
		{"fail", true, 3, `"reason": "failed"`},
		{"slow", false, 137, "was killed (exit code 137)"},
		{"broken", false, ExitFailed, "internal error"},
	} {
		var stdout, stderr bytes.Buffer
		env := Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
		args := []string{"--addr", srv.URL, "fn", "invoke", tt.name}
		if tt.json {
			args = append([]string{"--json"}, args...)
		}
		if code := Main(args, env); code != tt.code || !strings.Contains(stderr.String(), tt.stderr) || stdout.Len() != 0 {
			t.Errorf("fn invoke %s (json %v): exit %d, stdout %q, stderr %q; want exit %d and %q", tt.name, tt.json, code, stdout.String(), stderr.String(), tt.code, tt.stderr)
		}
	}
}
