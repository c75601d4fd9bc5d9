package runner_test

import (
	"errors"
	"testing"

	"github.com/podrun/podrun/runner"
)

// TestRequestsRefuseInvalidUTF8: requests that do not come through JSON (the
// configuration's functions, Go callers) are held to the same rule as the API.
func TestRequestsRefuseInvalidUTF8(t *testing.T) {
	p := testConfig(&clock{}).Policy
	fp := runner.FunctionPolicy{DefaultTimeout: 30e9, MaxTimeout: 60e9, DefaultConcurrency: 1, MaxConcurrency: 1, DefaultMaxOutput: 1, MaxMaxOutput: 1}
	stdin := "\xff"
	agent := func(edit func(*runner.AgentRequest)) error {
		req := runner.AgentRequest{Image: "busybox"}
		edit(&req)
		_, err := req.Validate(p)
		return err
	}
	tests := []struct {
		name, field string
		err         error
	}{
		{"command", "command[1]", agent(func(r *runner.AgentRequest) { r.Command = []string{"echo", "caf\xe9"} })},
		{"env value", "env.K", agent(func(r *runner.AgentRequest) { r.Env = map[string]string{"K": "\xff"} })},
		{"env key", "env", agent(func(r *runner.AgentRequest) { r.Env = map[string]string{"K\xff": "v"} })},
		{"label key", "labels", agent(func(r *runner.AgentRequest) { r.Labels = map[string]string{"\xe9": "v"} })},
		{"label value", "labels.k", agent(func(r *runner.AgentRequest) { r.Labels = map[string]string{"k": "\xe9"} })},
		{"stdin", "stdin", agent(func(r *runner.AgentRequest) { r.Stdin = &stdin })},
		{"ttl", "ttl", agent(func(r *runner.AgentRequest) { r.TTL = "1\xffm" })},
		{"exec command", "command[0]", func() error { _, err := runner.ExecRequest{Command: []string{"\xff"}}.Validate(); return err }()},
		{"exec stdin", "stdin", func() error {
			_, err := runner.ExecRequest{Command: []string{"cat"}, Stdin: "\xff"}.Validate()
			return err
		}()},
		{"function command", "command[0]", func() error {
			_, err := runner.FunctionRequest{Image: "busybox", Command: []string{"\xe9"}}.Validate("fn", p, fp)
			return err
		}()},
		{"function timeout", "timeout", func() error {
			_, err := runner.FunctionRequest{Image: "busybox", Timeout: "\xe9"}.Validate("fn", p, fp)
			return err
		}()},
	}
	for _, tt := range tests {
		var fe *runner.FieldError
		if !errors.As(tt.err, &fe) || fe.Field != tt.field || fe.Message != "must be valid UTF-8" && fe.Message != "keys must be valid UTF-8" && fe.Message != "value must be valid UTF-8" {
			t.Errorf("%s: %v, want a FieldError for %s about UTF-8", tt.name, tt.err, tt.field)
		}
	}
}
