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
		if want := defaults(userEnv.get, root); got != want {
			t.Errorf("root=%v: podrun.toml differs from the defaults:\n got %+v\nwant %+v", root, got, want)
		}
	}
}

// commentedKey matches a key the file documents but leaves commented out, like "# token = """.
var commentedKey = regexp.MustCompile(`(?m)^# ([a-z_]+ = .*)$`)

func TestDocumentedFileNamesEveryKey(t *testing.T) {
	data, err := os.ReadFile("podrun.toml")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	md, err := toml.Decode(commentedKey.ReplaceAllString(string(data), "$1"), &c)
	if err != nil {
		t.Fatalf("podrun.toml with its commented keys enabled: %v", err)
	}
	var got []string
	for _, k := range md.Keys() {
		if md.Type(k...) != "Hash" {
			got = append(got, k.String())
		}
	}
	want := leafKeys(reflect.TypeFor[Config](), "")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keys in podrun.toml:\n got %v\nwant %v", got, want)
	}
}

// leafKeys lists the dotted TOML keys of every setting in t.
func leafKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		key := prefix + f.Tag.Get("toml")
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
			keys = append(keys, leafKeys(f.Type, key+".")...)
		} else {
			keys = append(keys, key)
		}
	}
	return keys
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
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
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
