package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/podrun/podrun/api"
)

func TestLoadFunctionFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	two, out := 2, api.Size("1Mi")
	want := api.FunctionRequest{Image: "img", Command: []string{"cat"}, Timeout: "5s", Warm: &two, MaxOutput: out,
		Limits: api.LimitsRequest{Memory: "33554432"}, Env: map[string]string{"A": "1"}}
	for _, tt := range []struct{ file, name string }{
		{write("f.json", `{"image":"img","command":["cat"],"timeout":"5s","warm":2,"max_output":"1Mi","limits":{"memory":33554432},"env":{"A":"1"}}`), "x"},
		{write("f.toml", "image = \"img\"\ncommand = [\"cat\"]\ntimeout = \"5s\"\nwarm = 2\nmax_output = \"1Mi\"\nenv = { A = \"1\" }\nlimits = { memory = 33554432 }\n"), "x"},
		{write("podrun.toml", "listen = \"x\"\n[functions.echo]\nimage = \"img\"\ncommand = [\"cat\"]\ntimeout = \"5s\"\nwarm = 2\nmax_output = \"1Mi\"\nenv = { A = \"1\" }\nlimits = { memory = 33554432 }\n[functions.other]\nimage = \"no\"\n"), "echo"},
	} {
		got, err := loadFunctionFile(tt.file, tt.name)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", tt.file, got, want)
		}
	}
	for _, tt := range []struct{ file, name string }{
		{write("bad.json", `{"image":"img","replicas":3}`), "x"}, // unknown keys are refused, as the server refuses them
		{filepath.Join(dir, "podrun.toml"), "missing"},
		{write("f.yaml", "image: img"), "x"},
	} {
		if _, err := loadFunctionFile(tt.file, tt.name); err == nil {
			t.Errorf("%s (%s) was accepted", tt.file, tt.name)
		}
	}
}

func TestParseFilters(t *testing.T) {
	got, err := parseFilters([]string{"status=running", "function=f", "label=a=b=c", "label=x=", "state=failed"})
	want := api.ListOptions{States: []api.State{api.StateRunning, api.StateFailed}, Function: "f", Labels: map[string]string{"a": "b=c", "x": ""}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"state", "label=novalue", "color=red"} {
		if _, err := parseFilters([]string{bad}); err == nil {
			t.Errorf("filter %q was accepted", bad)
		}
	}
}

func TestEnvMap(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"HOME": "/root"}[k] }
	got, err := envMap([]string{"A=1", "B=", "C=x=y", "HOME", "UNSET"}, getenv)
	want := map[string]string{"A": "1", "B": "", "C": "x=y", "HOME": "/root"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if _, err := envMap([]string{"=v"}, getenv); err == nil {
		t.Error("an empty key was accepted")
	}
}

func TestShellJoinAndStatus(t *testing.T) {
	if got, want := shellJoin([]string{"sh", "-c", "echo 'hi' $X"}), `sh -c 'echo '\''hi'\'' $X'`; got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
	code := 137
	for _, tt := range []struct {
		a    api.Agent
		want string
	}{
		{api.Agent{State: api.StateRunning}, "running"},
		{api.Agent{State: api.StateSucceeded, Reason: api.ReasonExit, ExitCode: new(int)}, "succeeded (exit 0)"},
		{api.Agent{State: api.StateFailed, Reason: api.ReasonOOM, ExitCode: &code}, "failed (oom, exit 137)"},
		{api.Agent{State: api.StateFailed, Reason: api.ReasonError}, "failed (error)"},
	} {
		if got := status(tt.a); got != tt.want {
			t.Errorf("status(%+v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}
