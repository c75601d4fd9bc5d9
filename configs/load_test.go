package configs

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// writeConfig writes a TOML file into a temporary directory and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "podrun.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// with returns userEnv plus the given variables.
func with(kv ...string) env {
	e := env{}
	for k, v := range userEnv {
		e[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e[kv[i]] = kv[i+1]
	}
	return e
}

func TestPrecedence(t *testing.T) {
	file := writeConfig(t, `
listen = "127.0.0.1:1001"
log_level = "warn"
[sandbox]
runtime = "crun"
`)
	tests := []struct {
		name                        string
		args                        []string
		env                         env
		wantListen, wantLevel, want string // want: sandbox.runtime
	}{
		{"defaults", nil, userEnv, "127.0.0.1:8080", "info", ""},
		{"file over defaults", []string{"--config", file}, userEnv, "127.0.0.1:1001", "warn", "crun"},
		{"PODRUN_CONFIG names the file", nil, with("PODRUN_CONFIG", file), "127.0.0.1:1001", "warn", "crun"},
		{"env over file", []string{"--config", file},
			with("PODRUN_LISTEN", "127.0.0.1:1002", "PODRUN_RUNTIME", "runc"), "127.0.0.1:1002", "warn", "runc"},
		{"flag over env", []string{"--config", file, "--listen", "127.0.0.1:1003", "--runtime=/usr/bin/crun"},
			with("PODRUN_LISTEN", "127.0.0.1:1002", "PODRUN_RUNTIME", "runc"), "127.0.0.1:1003", "warn", "/usr/bin/crun"},
		{"unset flags change nothing", []string{"--log-level", "error"},
			with("PODRUN_LISTEN", "127.0.0.1:1002"), "127.0.0.1:1002", "error", ""},
		{"an empty variable is unset", []string{"--config", file}, with("PODRUN_LISTEN", ""), "127.0.0.1:1001", "warn", "crun"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.args, tt.env.get, false, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen != tt.wantListen || c.LogLevel != tt.wantLevel || c.Sandbox.Runtime != tt.want {
				t.Errorf("got listen %q, level %q, runtime %q; want %q, %q, %q",
					c.Listen, c.LogLevel, c.Sandbox.Runtime, tt.wantListen, tt.wantLevel, tt.want)
			}
		})
	}
}

func TestEverySettingFromEnvAndFlag(t *testing.T) {
	// The token comes through token_file here (token and token_file exclude each other; an
	// empty token is unset): TestTokenFile covers token itself.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("t0k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{
		"listen": "127.0.0.1:9", "data-dir": "/srv/podrun", "podman-socket": "unix:///tmp/p.sock",
		"token": "", "token-file": tokenFile, "log-format": "json", "log-level": "debug", "allow-unenforced-limits": "true",
		"runtime": "crun", "webhook-secret": "s3cret", "isolation": "gvisor", "gvisor-socket": "unix:///tmp/g.sock",
	}
	want := defaults(userEnv.get, false)
	want.Listen, want.DataDir, want.PodmanSocket, want.Token = "127.0.0.1:9", "/srv/podrun", "unix:///tmp/p.sock", "t0k"
	want.TokenFile = tokenFile
	want.LogFormat, want.LogLevel, want.AllowUnenforcedLimits, want.Sandbox.Runtime = "json", "debug", true, "crun"
	want.Webhooks.Secret = "s3cret"
	want.Sandbox.Isolation, want.Sandbox.GVisorSocket = "gvisor", "unix:///tmp/g.sock"

	e, args := with(), []string{}
	for _, s := range settings {
		v, ok := values[s.flag]
		if !ok {
			t.Fatalf("no test value for --%s", s.flag)
		}
		e[s.env] = v
		args = append(args, "--"+s.flag+"="+v)
	}
	fromEnv, err := load(nil, e.get, false, io.Discard)
	if err != nil || !reflect.DeepEqual(fromEnv, want) {
		t.Errorf("from env: got %+v, %v;\nwant %+v", fromEnv, err, want)
	}
	fromFlags, err := load(args, userEnv.get, false, io.Discard)
	if err != nil || !reflect.DeepEqual(fromFlags, want) {
		t.Errorf("from flags: got %+v, %v;\nwant %+v", fromFlags, err, want)
	}
}

func TestLoadErrors(t *testing.T) {
	unknown := writeConfig(t, "bogus = 1\n[sandbox]\ntmpfs = \"1Mi\"\n[extra]\na = 1\n")
	tests := []struct {
		name string
		args []string
		env  env
		want []string
		not  []string
	}{
		{"missing --config file", []string{"--config", "/nonexistent/podrun.toml"}, userEnv,
			[]string{"/nonexistent/podrun.toml", "no such file"}, nil},
		{"missing PODRUN_CONFIG file", nil, with("PODRUN_CONFIG", "/nonexistent/p.toml"),
			[]string{"/nonexistent/p.toml", "no such file"}, nil},
		{"unknown keys", []string{"--config", unknown}, userEnv,
			[]string{"line 1: unknown key bogus", "line 3: unknown key sandbox.tmpfs", "line 4: unknown key extra "}, []string{"extra.a"}},
		{"bad env bool", nil, with("PODRUN_ALLOW_UNENFORCED_LIMITS", "yes"),
			[]string{"PODRUN_ALLOW_UNENFORCED_LIMITS", `"yes" is not a boolean`}, nil},
		{"invalid value from a flag", []string{"--log-format", "xml"}, userEnv, []string{`log_format ("xml") must be one of text, json`}, nil},
		{"undefined flag", []string{"--nope"}, userEnv, []string{"unknown flag --nope"}, []string{" -nope"}},
		{"undefined flag with one dash", []string{"-nope=1"}, userEnv, []string{"unknown flag --nope"}, []string{" -nope"}},
		{"flag without its value", []string{"--listen"}, userEnv, []string{"--listen needs a value"}, nil},
		{"bad boolean flag", []string{"--allow-unenforced-limits=maybe"}, userEnv, []string{`--allow-unenforced-limits takes true or false, not "maybe"`}, nil},
		{"positional argument", []string{"extra"}, userEnv, []string{`unexpected argument "extra"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.args, tt.env.get, false, io.Discard)
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q mentions %q", err, n)
				}
			}
		})
	}
}

func TestFileValues(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		check   func(Config) bool
		wantErr string
	}{
		{"binary size", "[limits.default]\nmemory = \"300Mi\"",
			func(c Config) bool { return c.Limits.Default.Memory == 300<<20 }, ""},
		{"decimal size", "[sandbox]\ntmpfs_size = \"512M\"",
			func(c Config) bool { return c.Sandbox.TmpfsSize == 512e6 }, ""},
		{"size as an integer", "[http]\nmax_body = 2048",
			func(c Config) bool { return c.HTTP.MaxBody == 2048 }, ""},
		{"fractional size", "[cleanup]\nlog_tail = \"1.5Mi\"", nil, `cleanup.log_tail: size "1.5"`},
		{"integer cpus", "[limits.max]\ncpus = 2",
			func(c Config) bool { return c.Limits.Max.CPUs == 2 }, ""},
		{"duration", "[ttl]\ndefault = \"1h30m\"",
			func(c Config) bool { return c.TTL.Default.Duration == 90*time.Minute }, ""},
		{"duration without unit", "[cleanup]\nretention = \"7\"", nil, `cleanup.retention: duration "7"`},
		{"duration as a number", "[cleanup]\nretention = 7", nil, `cleanup.retention: duration "7"`},
		{"wrong type", "listen = 8080", nil, `line 1: listen must be a string in quotes, not the whole number 8080`},
		{"syntax error", "listen = ", nil, "line 1"},
		{"valid file, invalid value", "[limits.default]\nmemory = \"8Gi\"", nil,
			"limits.default.memory (8Gi) exceeds limits.max.memory (4Gi)"},
		{"invoke", "[invoke]\nmax_concurrency = 32\nqueue_wait = \"2s\"\nmax_output = \"128Mi\"",
			func(c Config) bool {
				return c.Invoke.MaxConcurrency == 32 && c.Invoke.QueueWait.Duration == 2*time.Second &&
					c.Invoke.MaxOutput == 128<<20 && c.Invoke.DefaultConcurrency == 4
			}, ""},
		{"function with only an image", "[functions.echo]\nimage = \"localhost/podrun/busybox:latest\"",
			func(c Config) bool {
				f := c.Functions["echo"]
				return len(c.Functions) == 1 && f.Image == "localhost/podrun/busybox:latest" && f.Command == nil &&
					f.Env == nil && f.Limits == (FunctionLimits{}) && f.Timeout == nil && f.Warm == nil &&
					f.MaxConcurrency == nil && f.MaxOutput == nil
			}, ""},
		{"function with every key", `
[functions.resize-image]
image = "localhost/podrun/busybox:latest"
command = ["sh", "-c", "cat"]
env = { MODE = "fast" }
timeout = "1m"
warm = 2
max_concurrency = 3
max_output = "2Mi"
[functions.resize-image.limits]
memory = "128Mi"
cpus = 0.5
`,
			func(c Config) bool {
				f := c.Functions["resize-image"]
				return strings.Join(f.Command, " ") == "sh -c cat" && f.Env["MODE"] == "fast" &&
					f.Timeout.Duration == time.Minute && *f.Warm == 2 && *f.MaxConcurrency == 3 &&
					*f.MaxOutput == 2<<20 && *f.Limits.Memory == 128<<20 && *f.Limits.CPUs == 0.5 && f.Limits.PIDs == nil
			}, ""},
		{"two functions", "[functions.a]\nimage = \"busybox\"\n[functions.b]\nimage = \"alpine\"",
			func(c Config) bool { return len(c.Functions) == 2 && c.Functions["b"].Image == "alpine" }, ""},
		{"unknown function key", "[functions.echo]\nimage = \"busybox\"\nmemory = \"1Gi\"", nil,
			"line 3: unknown key functions.echo.memory"},
		{"function timeout without unit", "[functions.echo]\nimage = \"busybox\"\ntimeout = \"30\"", nil,
			`functions.echo.timeout: duration "30"`},
		{"invalid function", "[functions.echo]\nimage = \"busybox\"\nwarm = 100", nil,
			"functions.echo.warm: must be between 0 and 8"},
		{"function without image", "[functions.echo]\ncommand = [\"cat\"]", nil, "functions.echo.image: is required"},
		{"invalid function name", "[functions.Echo_1]\nimage = \"busybox\"", nil, "functions.Echo_1: the name must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load([]string{"--config", writeConfig(t, tt.toml)}, userEnv.get, false, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := load([]string{"-h"}, userEnv.get, false, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v, want flag.ErrHelp", err)
	}
	for _, s := range settings {
		if !strings.Contains(out.String(), "--"+s.flag) || !strings.Contains(out.String(), s.env) {
			t.Errorf("usage lacks --%s or %s:\n%s", s.flag, s.env, out.String())
		}
	}
	if !strings.Contains(out.String(), "PODRUN_CONFIG") {
		t.Errorf("usage lacks PODRUN_CONFIG")
	}
}

func TestLoadUsesTheRealEnvironmentShape(t *testing.T) {
	t.Setenv("PODRUN_LOG_LEVEL", "warn")
	c, err := Load([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--podman-socket", "unix:///x.sock"}, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "warn" || c.Listen != "127.0.0.1:0" {
		t.Errorf("got %+v", c)
	}
	if c.Policy().Defaults != (runner.Limits{Memory: 256 << 20, CPUs: 1, PIDs: 128}) {
		t.Errorf("policy %+v", c.Policy())
	}
}

// TestFileReportsEveryProblemByKeyAndLine: one bad value must not hide the
// next; each problem names its key and line, in podrun's words, and problems
// Validate finds point at the line (or flag) that set the value.
func TestFileReportsEveryProblemByKeyAndLine(t *testing.T) {
	path := writeConfig(t, `log_level = "info"
[limits.default]
cpus = "two"
pids = 1.5
[limits.max]
memory = "1Gi"
[ttl]
default = true
[functions.echo]
image = "busybox"
command = "cat"
colour = "blue"
[functions.echo.limits]
memory = "8Gi"
[functions.noimage]
max_output = true
[sandbox]
network = "host"
`)
	_, err := load([]string{"--config", path, "--log-format", "xml"}, userEnv.get, false, io.Discard)
	if err == nil {
		t.Fatal("got no error")
	}
	got := strings.Split(err.Error(), "\n")
	at := "config file " + path + ", "
	want := []string{
		"invalid configuration:",
		at + `line 3: limits.default.cpus must be a number, like 1.5, not the string "two"`,
		at + "line 4: limits.default.pids must be a whole number, not the number 1.5",
		at + `line 8: ttl.default must be a duration in quotes, like "30s" or "5m", not true`,
		at + `line 11: functions.echo.command must be a list of strings, like ["sh", "-c", "echo hi"], not the string "cat"`,
		at + "line 12: unknown key functions.echo.colour (configs/podrun.toml lists every key)",
		at + "line 14: functions.echo.limits.memory: must be at most 1Gi",
		at + "line 15: functions.noimage.image: is required",
		at + `line 16: functions.noimage.max_output must be a size, like "64Mi" or 1048576, not true`,
		at + `line 18: sandbox.network ("host") is not allowed: it would share the host's network with every agent`,
		`--log-format: log_format ("xml") must be one of text, json`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, library := range []string{"incompatible types", "TOML value has type", "destination has type", "toml:"} {
		if strings.Contains(err.Error(), library) {
			t.Errorf("error speaks the TOML library's words (%q): %v", library, err)
		}
	}
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good, empty := file("token", "s3cret-token\r\n"), file("empty", "\n")
	c, err := load([]string{"--token-file", good, "--listen", "0.0.0.0:8080"}, userEnv.get, false, io.Discard)
	if err != nil || c.Token != "s3cret-token" {
		t.Fatalf("token from %s = %q, %v; want s3cret-token without the line end", good, c.Token, err)
	}
	for _, tt := range []struct {
		name string
		args []string
		env  env
		want string
	}{
		{"with token", []string{"--token-file", good}, with("PODRUN_TOKEN", "other"), "token and token_file are both set"},
		{"missing file", []string{"--token-file", filepath.Join(dir, "nope")}, userEnv, "token_file: open"},
		{"empty file", nil, with("PODRUN_TOKEN_FILE", empty), "token_file: " + empty + " is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.args, tt.env.get, false, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}
