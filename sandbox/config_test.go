package sandbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/podrun/podrun/configs"
)

// TestConfigHasNoDefaultsOfItsOwn: a zero field is refused, naming its key,
// never replaced by a value of the sandbox's choosing; podrun's defaults
// reach the sandbox only through ConfigFrom.
func TestConfigHasNoDefaultsOfItsOwn(t *testing.T) {
	_, err := Config{}.check()
	if err == nil {
		t.Fatal("a zero Config is accepted")
	}
	for _, key := range []string{"podman_socket", "sandbox.network", "sandbox.tmpfs_size", "sandbox.nofile", "sandbox.nproc",
		"sandbox.userns_size", "sandbox.log_max_size", "sandbox.pull_timeout", "sandbox.max_concurrent_calls"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("the zero Config's error does not name %s: %v", key, err)
		}
	}
	def := configs.Default()
	c, err := ConfigFrom(def).check()
	if err != nil {
		t.Fatalf("podrun's defaults are refused: %v", err)
	}
	s := def.Sandbox
	if c.NoFile != uint64(s.NoFile) || c.NProc != uint64(s.NProc) || c.TmpfsSize != int64(s.TmpfsSize) || c.Network != s.Network ||
		c.UserNSSize != uint32(s.UserNSSize) || c.LogMaxSize != int64(s.LogMaxSize) || c.PullTimeout != s.PullTimeout.Duration ||
		c.MaxConcurrentCalls != s.MaxConcurrentCalls || c.URI != def.PodmanSocket {
		t.Errorf("ConfigFrom(configs.Default()) = %+v, not configs' defaults %+v", c, s)
	}
	for _, network := range []string{"host", "private"} {
		bad := ConfigFrom(def)
		bad.Network = network
		var p *configs.Problem
		if _, err := bad.check(); !errors.As(err, &p) || p.Key != "sandbox.network" {
			t.Errorf("network %q: %v, want a problem with sandbox.network, as configs validation gives", network, err)
		}
	}
}
