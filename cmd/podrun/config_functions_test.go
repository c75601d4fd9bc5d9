package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/podrun/podrun/configs"
)

func TestFunctionsDeclaredInTheConfigFileAreLoaded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "podrun.toml")
	toml := `[functions.greet]
image = "` + testImage + `"
command = ["sh", "-c", "echo \"$GREETING, $(cat)\""]
env = { GREETING = "hello" }
timeout = "10s"
`
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := configs.Load([]string{"--config", file}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, func(c *configs.Config) { c.Functions = loaded.Functions })
	resp, out := d.invoke(t, "POST", "/function/greet", []byte("world"), nil)
	if resp.StatusCode != http.StatusOK || string(out) != "hello, world\n" {
		t.Fatalf("configured function = %d %q", resp.StatusCode, out)
	}
	var f struct{ Timeout string }
	if resp := d.call(t, "GET", "/v1/functions/greet", nil, &f); resp.StatusCode != http.StatusOK || f.Timeout != "10s" {
		t.Fatalf("stored function = %d %+v", resp.StatusCode, f)
	}
}
