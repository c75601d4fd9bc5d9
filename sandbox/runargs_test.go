package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/specgen"
	spec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podrun/podrun/runner"
	"github.com/podrun/podrun/runner/runnertest"
)

// TestRunArgsRefusesWhatItCannotRender: a field Harden might set one day
// that RunArgs does not know is an error naming it, never a silently weaker
// baseline.
func TestRunArgsRefusesWhatItCannotRender(t *testing.T) {
	cfg := testConfig()
	cfg.Runtime = "runc"
	spec := runnertest.Spec(labels, "cat")
	if _, err := RunArgs(spec, cfg); err != nil {
		t.Fatalf("RunArgs of a hardened spec: %v", err)
	}
	for field, set := range map[string]func(s *hardened){
		"HostAdd":        func(s *hardened) { s.HostAdd = []string{"host:10.0.0.1"} },
		"Unmask":         func(s *hardened) { s.Unmask = []string{"ALL"} },
		"CapAdd":         func(s *hardened) { s.CapAdd = []string{"NET_ADMIN"} },
		"Sysctl":         func(s *hardened) { s.Sysctl = map[string]string{"net.ipv4.ip_forward": "0"} },
		"ResourceLimits": func(s *hardened) { s.ResourceLimits.Memory.Reservation = ptr(int64(1 << 20)) },
		"IDMappings":     func(s *hardened) { s.IDMappings.AutoUserNsOpts.InitialSize = 1024 },
		"Mounts":         func(s *hardened) { s.Mounts = append(s.Mounts, mountOfType("devpts")) },
		"Umask":          func(s *hardened) { s.Umask = "0077" },
	} {
		s := Harden(spec, cfg)
		set(s)
		_, err := runArgs(s)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("a spec with %s set: RunArgs = %v, want an error naming %s", field, err, field)
		}
	}
}

// TestRunArgsCreateWhatTheBindingsCreate creates one container through the
// bindings and one with `podman create` and RunArgs, from the same request,
// and compares podman's inspection of both: capabilities, no-new-privileges,
// seccomp, user namespace, read-only root, tmpfs, rlimits, memory, swap,
// CPU, PIDs, network, log, labels, entrypoint, everything but what is
// different for any two containers.
func TestRunArgsCreateWhatTheBindingsCreate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	withShim := testConfig()
	withShim.ShimPath = shimPath
	seccomp := testConfig()
	seccomp.SeccompProfile = "/usr/share/containers/seccomp.json" // Podman's own, as a file
	if _, err := os.Stat(seccomp.SeccompProfile); err != nil {
		t.Fatalf("the Podman package's seccomp profile: %v", err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		edit func(*runner.Spec)
	}{
		{"plain", testConfig(), func(s *runner.Spec) {}},
		{"no limits", testConfig(), func(s *runner.Spec) { s.Limits = runner.Limits{} }},
		{"shim, env, fractional CPUs", withShim, func(s *runner.Spec) {
			s.Shim, s.Limits.CPUs, s.Env = true, 0.25, map[string]string{"A": "1", "B": "two words"}
		}},
		{"seccomp profile", seccomp, func(s *runner.Spec) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(ctx, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			spec := runnertest.Spec(labels, "cat")
			tc.edit(&spec)
			viaBindings := runnertest.Create(t, p, spec)
			args, err := RunArgs(spec, p.Config())
			if err != nil {
				t.Fatal(err)
			}
			// The local CLI, as the bench runs it: the remote client has no --runtime.
			out, err := exec.CommandContext(ctx, "podman", append([]string{"create"}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("podman create %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			viaCLI := strings.TrimSpace(string(out))
			t.Cleanup(func() { _ = p.Remove(context.Background(), viaCLI) })
			want, got := inspect(t, ctx, viaBindings), inspect(t, ctx, viaCLI)
			if diff := jsonDiff("", want, got); len(diff) > 0 {
				t.Errorf("podman create %s\ndiffers from the bindings' container:\n%s", strings.Join(args, " "), strings.Join(diff, "\n"))
			}
			// Podman 4.3's inspection does not show every setting (IPC
			// namespace, masked paths): compare the OCI specs runc gets too.
			want, got = ociSpec(t, ctx, viaBindings), ociSpec(t, ctx, viaCLI)
			if diff := jsonDiff("", want, got); len(diff) > 0 {
				t.Errorf("podman create %s\ngives runc another OCI spec than the bindings' container:\n%s", strings.Join(args, " "), strings.Join(diff, "\n"))
			}
		})
	}
}

type hardened = specgen.SpecGenerator

func mountOfType(typ string) spec.Mount {
	return spec.Mount{Type: typ, Destination: "/dev/pts", Source: typ}
}

// inspect is podman's inspection of a container, without what differs between any two.
func inspect(t *testing.T, ctx context.Context, id string) map[string]any {
	t.Helper()
	out, err := exec.CommandContext(ctx, "podman", "container", "inspect", id).Output()
	if err != nil {
		t.Fatalf("podman container inspect %s: %v", id, err)
	}
	var all []map[string]any
	if err := json.Unmarshal(out, &all); err != nil || len(all) != 1 {
		t.Fatalf("inspect %s: %v %s", id, err, out)
	}
	c := all[0]
	for _, path := range [][]string{
		{"Id"}, {"Created"}, {"Name"}, {"StaticDir"}, {"ConmonPidFile"}, {"PidFile"},
		{"GraphDriver", "Data", "UpperDir"}, {"GraphDriver", "Data", "WorkDir"},
		{"HostConfig", "LogConfig", "Path"},
		// The CLI records its command line, notes its --tty flag as a CRI-O annotation and sets the
		// sd-notify mode it defaults to; none confines the process (nothing sets NOTIFY_SOCKET).
		{"Config", "CreateCommand"}, {"Config", "Annotations", "io.kubernetes.cri-o.TTY"}, {"Config", "sdNotifyMode"},
	} {
		deletePath(c, path)
	}
	if cfg, ok := c["Config"].(map[string]any); ok {
		if env, ok := cfg["Env"].([]any); ok { // the same variables, not in the same order
			sortAny(env)
		}
	}
	// Bind mounts have distinct destinations, so their order confines nothing: the CLI lists
	// them in another order than the bindings.
	if hc, ok := c["HostConfig"].(map[string]any); ok {
		if binds, ok := hc["Binds"].([]any); ok {
			sortAny(binds)
		}
	}
	if mounts, ok := c["Mounts"].([]any); ok {
		sortAny(mounts)
	}
	// userns=auto gives each container its own host range: keep the container side and size.
	hostRange := regexp.MustCompile(`^(\d+):\d+:(\d+)$`)
	if m, ok := c["HostConfig"].(map[string]any)["IDMappings"].(map[string]any); ok {
		for _, k := range []string{"UidMap", "GidMap"} {
			if ranges, ok := m[k].([]any); ok {
				for i, r := range ranges {
					ranges[i] = hostRange.ReplaceAllString(fmt.Sprint(r), "$1:HOST:$2")
				}
			}
		}
	}
	return c
}

// ociSpec initialises the container (podman init) and returns the parts of
// the OCI spec Podman wrote for runc that confine it: host name, namespace
// kinds, masked and read-only paths, and each mount's kind and options by
// destination (sources are per container).
func ociSpec(t *testing.T, ctx context.Context, id string) map[string]any {
	t.Helper()
	if out, err := exec.CommandContext(ctx, "podman", "init", id).CombinedOutput(); err != nil {
		t.Fatalf("podman init %s: %v\n%s", id, err, out)
	}
	dir, err := exec.CommandContext(ctx, "podman", "container", "inspect", "--format", "{{.StaticDir}}", id).Output()
	if err != nil {
		t.Fatalf("podman container inspect %s: %v", id, err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "config.json"))
	if err != nil {
		t.Fatalf("the OCI spec of %s: %v", id, err)
	}
	var s spec.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("the OCI spec of %s: %v", id, err)
	}
	namespaces := []any{}
	for _, ns := range s.Linux.Namespaces {
		namespaces = append(namespaces, string(ns.Type))
	}
	mounts := map[string]any{}
	for _, m := range s.Mounts {
		mounts[m.Destination] = m.Type + " " + strings.Join(m.Options, ",")
	}
	return map[string]any{
		"hostname": s.Hostname, "namespaces": namespaces, "mounts": mounts,
		"maskedPaths": fmt.Sprint(s.Linux.MaskedPaths), "readonlyPaths": fmt.Sprint(s.Linux.ReadonlyPaths),
	}
}

func deletePath(m map[string]any, path []string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, path[len(path)-1])
}

// jsonDiff lists the paths where two decoded JSON documents differ.
func jsonDiff(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		var keys []string
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var out []string
		for _, k := range keys {
			out = append(out, jsonDiff(path+"."+k, am[k], bm[k])...)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		return []string{fmt.Sprintf("  %s: bindings %v, CLI %v", path, a, b)}
	}
	return nil
}

// sortAny orders a JSON list by each element's printed form.
func sortAny(list []any) {
	sort.Slice(list, func(i, j int) bool { return fmt.Sprint(list[i]) < fmt.Sprint(list[j]) })
}
