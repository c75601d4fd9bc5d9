package runner_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/podrun/podrun/runner"
)

func TestFunctionRequestOpenFaaSFields(t *testing.T) {
	p := runner.Policy{Defaults: runner.Limits{Memory: 256 << 20, CPUs: 1, PIDs: 64}, Max: runner.Limits{Memory: 1 << 30, CPUs: 2, PIDs: 128}}
	fp := runner.FunctionPolicy{DefaultTimeout: 1, MaxTimeout: 10, MaxWarm: 2, DefaultConcurrency: 1, MaxConcurrency: 4, DefaultMaxOutput: 1, MaxMaxOutput: 2}
	img := "localhost/podrun/busybox:latest"
	mem, cpus := runner.ByteSize(64<<20), 0.25
	f, err := runner.FunctionRequest{Image: img, EnvProcess: "sh  -c  cat", Labels: map[string]string{"a": "b"},
		Annotations: map[string]string{"c": "d"}, Secrets: []string{"k"}, Requests: runner.LimitsRequest{Memory: &mem, CPUs: &cpus}}.Validate("fn", p, fp)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Command, []string{"sh", "-c", "cat"}) || f.EnvProcess != "sh  -c  cat" {
		t.Fatalf("command = %q from envProcess %q", f.Command, f.EnvProcess)
	}
	if f.Requests != (runner.Limits{Memory: 64 << 20, CPUs: 0.25}) || f.Limits != p.Defaults {
		t.Fatalf("requests %+v limits %+v", f.Requests, f.Limits)
	}
	if f.Labels["a"] != "b" || f.Annotations["c"] != "d" || !slices.Equal(f.Secrets, []string{"k"}) {
		t.Fatalf("metadata = %v %v %v", f.Labels, f.Annotations, f.Secrets)
	}
	big := runner.ByteSize(2 << 30)
	for _, tt := range []struct {
		req   runner.FunctionRequest
		field string
	}{
		{runner.FunctionRequest{Image: img, EnvProcess: "cat", Command: []string{"cat"}}, "envProcess"},
		{runner.FunctionRequest{Image: img, EnvProcess: "   "}, "envProcess"},
		{runner.FunctionRequest{Image: img, Secrets: []string{"../etc"}}, "secrets[0]"},
		{runner.FunctionRequest{Image: img, Secrets: []string{"a", "a"}}, "secrets[1]"},
		{runner.FunctionRequest{Image: img, Labels: map[string]string{"": "x"}}, "labels"},
		{runner.FunctionRequest{Image: img, Annotations: map[string]string{"x": "\x00"}}, "annotations"},
		{runner.FunctionRequest{Image: img, Requests: runner.LimitsRequest{Memory: &big}}, "requests.memory"},
	} {
		_, err := tt.req.Validate("fn", p, fp)
		var fe *runner.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: error %v, want one on %s", tt.req, err, tt.field)
		}
	}
}
