package configs

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/podrun/podrun/runner"
)

// env is a fake environment for getenv.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// userEnv is what a normal user's session usually has.
var userEnv = env{"HOME": "/home/ann", "XDG_RUNTIME_DIR": "/run/user/1000"}

func TestDocumentedFileHoldsTheDefaults(t *testing.T) {
	for _, root := range []bool{true, false} {
		got, err := load([]string{"--config", "podrun.toml"}, userEnv.get, root, os.Stderr)
		if err != nil {
			t.Fatalf("root=%v: %v", root, err)
		}
		if want := defaults(userEnv.get, root); !reflect.DeepEqual(got, want) {
			t.Errorf("root=%v: podrun.toml differs from the defaults:\n got %+v\nwant %+v", root, got, want)
		}
	}
}

// commentedKey matches a key the file documents but leaves commented out, like "# token = """;
// commentedTable matches a table it leaves commented out, like "# [functions.echo]".
var (
	commentedKey   = regexp.MustCompile(`(?m)^# ([a-z_]+ = .*)$`)
	commentedTable = regexp.MustCompile(`(?m)^# (\[[a-z_.]+\])$`)
)

// documentedFile returns podrun.toml with its commented keys and tables enabled.
func documentedFile(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("podrun.toml")
	if err != nil {
		t.Fatal(err)
	}
	return commentedTable.ReplaceAllString(commentedKey.ReplaceAllString(string(data), "$1"), "$1")
}

func TestDocumentedFileNamesEveryKey(t *testing.T) {
	var c Config
	md, err := toml.Decode(documentedFile(t), &c)
	if err != nil {
		t.Fatalf("podrun.toml with its commented keys enabled: %v", err)
	}
	var got []string
	for _, k := range md.Keys() {
		if md.Type(k...) != "Hash" {
			got = append(got, schemaKey(reflect.TypeFor[Config](), k))
		}
	}
	want := leafKeys(reflect.TypeFor[Config](), "")
	slices.Sort(got)
	got = slices.Compact(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keys in podrun.toml:\n got %v\nwant %v", got, want)
	}
}

// leafKeys lists the dotted TOML keys of every setting in t; "*" stands for a key of a map,
// like a function's name.
func leafKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		key := prefix + f.Tag.Get("toml")
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]():
			keys = append(keys, leafKeys(f.Type, key+".")...)
		case f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Struct:
			keys = append(keys, leafKeys(f.Type.Elem(), key+".*.")...)
		case f.Type.Kind() == reflect.Map:
			keys = append(keys, key+".*")
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

// schemaKey names a key of the file the way leafKeys does, like "functions.*.image" for "functions.echo.image".
func schemaKey(t reflect.Type, key toml.Key) string {
	var parts []string
	for _, part := range key {
		switch t.Kind() {
		case reflect.Struct:
			for f := range t.Fields() {
				if f.Tag.Get("toml") == part {
					t = f.Type
				}
			}
		case reflect.Map:
			t, part = t.Elem(), "*"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ".")
}

func TestDocumentedFunctionExampleIsValid(t *testing.T) {
	var c Config
	if _, err := toml.Decode(documentedFile(t), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Functions) != 1 {
		t.Fatalf("podrun.toml declares %d functions once uncommented, want the one example", len(c.Functions))
	}
	echo, ok := c.Functions["echo"]
	if !ok || echo.Image != "localhost/podrun/busybox:latest" || !slices.Equal(echo.Command, []string{"cat"}) {
		t.Errorf("example function: %+v", c.Functions)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("podrun.toml with its commented keys enabled: %v", err)
	}
}

func TestDefaultLocations(t *testing.T) {
	tests := []struct {
		name                string
		env                 env
		root                bool
		wantDir, wantSocket string
	}{
		{"root", env{"HOME": "/root"}, true, "/var/lib/podrun", "unix:///run/podman/podman.sock"},
		{"user", userEnv, false, "/home/ann/.local/share/podrun", "unix:///run/user/1000/podman/podman.sock"},
		{"user with XDG_DATA_HOME", env{"HOME": "/home/ann", "XDG_DATA_HOME": "/data", "XDG_RUNTIME_DIR": "/run/user/1000"},
			false, "/data/podrun", "unix:///run/user/1000/podman/podman.sock"},
		{"CONTAINER_HOST wins", env{"CONTAINER_HOST": "tcp://10.0.0.2:8888"}, true, "/var/lib/podrun", "tcp://10.0.0.2:8888"},
		{"bare user environment", env{}, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults(tt.env.get, tt.root)
			if c.DataDir != tt.wantDir || c.PodmanSocket != tt.wantSocket {
				t.Errorf("got %q, %q; want %q, %q", c.DataDir, c.PodmanSocket, tt.wantDir, tt.wantSocket)
			}
		})
	}
}

func TestDefaultsAreValid(t *testing.T) {
	for _, root := range []bool{true, false} {
		if err := defaults(userEnv.get, root).Validate(); err != nil {
			t.Errorf("root=%v: %v", root, err)
		}
	}
	err := defaults(env{}.get, false).Validate()
	for _, want := range []string{"data_dir must be set", "podman_socket must be set"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("without HOME and XDG_RUNTIME_DIR: got %v, want %q", err, want)
		}
	}
}

func TestPolicy(t *testing.T) {
	got := defaults(userEnv.get, true).Policy()
	want := runner.Policy{
		Defaults:   runner.Limits{Memory: 256 << 20, CPUs: 1, PIDs: 128},
		Max:        runner.Limits{Memory: 4 << 30, CPUs: 2, PIDs: 4096},
		DefaultTTL: 5 * time.Minute,
		MaxTTL:     24 * time.Hour,

		DefaultIdleTimeout: 10 * time.Minute,
		Egress:             true,
		Isolation: runner.IsolationPolicy{Default: runner.IsolationRunc, Available: []string{runner.IsolationRunc},
			Unavailable: map[string]string{runner.IsolationGVisor: "sandbox.gvisor_socket is not set (docs/isolation.md)"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	c := defaults(userEnv.get, true)
	c.Sandbox.Isolation, c.Sandbox.GVisorSocket = runner.IsolationGVisor, "unix:///run/podman/podrun-gvisor.sock"
	if err := c.Validate(); err != nil {
		t.Errorf("gvisor by default with a gVisor socket: %v", err)
	}
	if p := c.Policy().Isolation; p.Default != runner.IsolationGVisor || !slices.Contains(p.Available, runner.IsolationGVisor) {
		t.Errorf("isolation policy %+v", p)
	}
	c.Sandbox.GVisorSocket = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "sandbox.isolation") {
		t.Errorf("gvisor by default without a gVisor socket: %v, want refused naming sandbox.isolation", err)
	}
	c.Sandbox.Isolation, c.Sandbox.GVisorSocket = "kata", "/run/x.sock"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "sandbox.isolation") || !strings.Contains(err.Error(), "sandbox.gvisor_socket") {
		t.Errorf("isolation kata, socket without unix://: %v", err)
	}
}

func TestFunctionPolicy(t *testing.T) {
	got := defaults(userEnv.get, true).FunctionPolicy()
	want := runner.FunctionPolicy{
		DefaultTimeout:     30 * time.Second,
		MaxTimeout:         15 * time.Minute,
		MaxWarm:            8,
		DefaultConcurrency: 4,
		MaxConcurrency:     16,
		DefaultMaxOutput:   6 << 20,
		MaxMaxOutput:       64 << 20,
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestFunctionConfigRequest(t *testing.T) {
	mem, cpus, pids := runner.ByteSize(64<<20), 0.5, int64(64)
	warm, conc, out := 1, 2, runner.ByteSize(1<<20)
	full := FunctionConfig{
		Image:          "localhost/podrun/busybox:latest",
		Command:        []string{"cat"},
		Env:            map[string]string{"GREETING": "hello"},
		Limits:         FunctionLimits{Memory: &mem, CPUs: &cpus, PIDs: &pids},
		Timeout:        &Duration{10 * time.Second},
		Warm:           &warm,
		MaxConcurrency: &conc,
		MaxOutput:      &out,
		Isolation:      "gvisor",
		Egress:         []string{"api.example.com:443"},
	}
	tests := []struct {
		name string
		in   FunctionConfig
		want runner.FunctionRequest
	}{
		{"image only", FunctionConfig{Image: "busybox"}, runner.FunctionRequest{Image: "busybox"}},
		{"every key", full, runner.FunctionRequest{
			Image:          "localhost/podrun/busybox:latest",
			Command:        []string{"cat"},
			Env:            map[string]string{"GREETING": "hello"},
			Limits:         runner.LimitsRequest{Memory: &mem, CPUs: &cpus, PIDs: &pids},
			Timeout:        "10s",
			Warm:           &warm,
			MaxConcurrency: &conc,
			MaxOutput:      &out,
			Isolation:      "gvisor",
			Egress:         []string{"api.example.com:443"},
		}},
		{"explicit zero timeout", FunctionConfig{Image: "busybox", Timeout: &Duration{}},
			runner.FunctionRequest{Image: "busybox", Timeout: "0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Request(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	// Unset keys take the configured defaults once the runner validates the request.
	c := defaults(userEnv.get, true)
	f, err := FunctionConfig{Image: "busybox"}.Request().Validate("echo", c.Policy(), c.FunctionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if f.Timeout != 30*time.Second || f.Warm != 0 || f.MaxConcurrency != 4 || f.MaxOutput != 6<<20 || f.Limits != c.Policy().Defaults {
		t.Errorf("defaults not applied: %+v", f)
	}
}

func TestRedacted(t *testing.T) {
	c := defaults(userEnv.get, true)
	if got := c.Redacted().Token; got != "" {
		t.Errorf("no token: got %q, want empty", got)
	}
	c.Token = "s3cret"
	if got := c.Redacted().Token; got != "REDACTED" {
		t.Errorf("got %q, want REDACTED", got)
	}
	if c.Token != "s3cret" {
		t.Error("Redacted changed the original")
	}

	c.Functions = map[string]FunctionConfig{
		"echo":  {Image: "busybox", Env: map[string]string{"API_KEY": "k3y"}},
		"plain": {Image: "busybox"},
	}
	r := c.Redacted()
	if got := r.Functions["echo"].Env["API_KEY"]; got != "REDACTED" {
		t.Errorf("function env: got %q, want REDACTED", got)
	}
	if r.Functions["plain"].Env != nil || r.Functions["plain"].Image != "busybox" {
		t.Errorf("function without env: got %+v", r.Functions["plain"])
	}
	if c.Functions["echo"].Env["API_KEY"] != "k3y" {
		t.Error("Redacted changed the original's function env")
	}
}

func TestDurationText(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30s", 30 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{"0s", 0, false},
		{"-5m", -5 * time.Minute, false}, // Validate refuses it where it matters
		{"5", 0, true},
		{"five minutes", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr || d.Duration != tt.want {
			t.Errorf("%q: got %v, %v; want %v, error %v", tt.in, d.Duration, err, tt.want, tt.wantErr)
		}
	}
	if got, _ := (Duration{90 * time.Second}).MarshalText(); string(got) != "1m30s" {
		t.Errorf("MarshalText: got %q", got)
	}
}
