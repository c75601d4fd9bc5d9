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
	res := d.invoke(t, "greet", []byte("world"), openFaaS)
	if res.status != http.StatusOK || string(res.out) != "hello, world\n" {
		t.Fatalf("configured function = %d %q", res.status, res.out)
	}
	if f, err := d.api.Function(t.Context(), "greet"); err != nil || f.Timeout != "10s" {
		t.Fatalf("stored function = %+v, %v", f, err)
	}
}
