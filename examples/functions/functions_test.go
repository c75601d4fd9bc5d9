// Package functions holds podrun's example functions; this test checks that
// each function.json is a valid PUT /v1/functions body.
package functions

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestFunctionJSON(t *testing.T) {
	paths, err := filepath.Glob("*/function.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 4 {
		t.Fatalf("found %d function.json files, want one per example", len(paths))
	}
	policy := runner.FunctionPolicy{DefaultTimeout: 30 * time.Second, MaxWarm: 8, DefaultConcurrency: 1, MaxConcurrency: 64, MaxMaxOutput: 1 << 30}
	for _, path := range paths {
		name := filepath.Dir(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// As the HTTP API decodes it: unknown fields are errors.
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			var req runner.FunctionRequest
			if err := dec.Decode(&req); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if _, err := req.Validate(name, runner.Policy{}, policy); err != nil {
				t.Errorf("validate: %v", err)
			}
		})
	}
}
