package seccomp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite profile.json from the groups")

// TestProfileIsRendered: the embedded profile is the rendering of the groups.
func TestProfileIsRendered(t *testing.T) {
	got, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("profile.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, profileJSON) {
		t.Fatal("profile.json differs from the rendering of groups.go: run go test ./sandbox/seccomp -run TestProfileIsRendered -update")
	}
	var p profile
	if err := json.Unmarshal(JSON(), &p); err != nil {
		t.Fatalf("the profile is not JSON: %v", err)
	}
}

// podmanDefault reads Podman 4.3's default profile (containers-common 0.50.1,
// /usr/share/containers/seccomp.json on Debian 12) and returns the calls it
// allows to a container without capabilities, whatever their arguments, and
// those it allows only with some arguments.
func podmanDefault(t *testing.T) (always, conditional map[string]bool) {
	t.Helper()
	b, err := os.ReadFile("testdata/podman-4.3-default.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Syscalls []struct {
			Names    []string `json:"names"`
			Action   string   `json:"action"`
			Args     []arg    `json:"args"`
			Includes struct {
				Caps []string `json:"caps"`
			} `json:"includes"`
		} `json:"syscalls"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	always, conditional = map[string]bool{}, map[string]bool{}
	for _, r := range p.Syscalls {
		if r.Action != "SCMP_ACT_ALLOW" || len(r.Includes.Caps) > 0 {
			continue // podrun's containers have no capabilities
		}
		for _, n := range r.Names {
			if len(r.Args) > 0 {
				conditional[n] = true
			} else {
				always[n] = true
			}
		}
	}
	return always, conditional
}

func names(groups ...[]group) map[string]bool {
	m := map[string]bool{}
	for _, gs := range groups {
		for _, g := range gs {
			for _, n := range g.names {
				m[n] = true
			}
		}
	}
	return m
}

// TestProfileNarrowsPodmanDefault: every call Podman's default allows is
// allowed, filtered by its arguments, or denied for a reason here, and
// nothing is allowed that Podman's default does not allow.
func TestProfileNarrowsPodmanDefault(t *testing.T) {
	podAlways, podConditional := podmanDefault(t)
	ours, cond, deny := names(allowed), names(filtered, s390Clone), names(denied)
	var unaccounted, added, both []string
	for n := range podAlways {
		if !ours[n] && !cond[n] && !deny[n] {
			unaccounted = append(unaccounted, n)
		}
	}
	for n := range ours {
		if !podAlways[n] {
			added = append(added, n)
		}
		if deny[n] || cond[n] {
			both = append(both, n)
		}
	}
	for n := range cond {
		if !podAlways[n] && !podConditional[n] {
			added = append(added, n)
		}
	}
	sort.Strings(unaccounted)
	sort.Strings(added)
	sort.Strings(both)
	if len(unaccounted) > 0 {
		t.Errorf("Podman's default allows %q, which no group here allows, filters or denies", unaccounted)
	}
	if len(added) > 0 {
		t.Errorf("allowed here but not by Podman's default: %q", added)
	}
	if len(both) > 0 {
		t.Errorf("allowed unconditionally and also filtered or denied: %q", both)
	}
	var narrowed []string
	for n := range podAlways {
		if !ours[n] {
			narrowed = append(narrowed, n)
		}
	}
	sort.Strings(narrowed)
	t.Logf("denied or filtered here though Podman's default allows them (%d): %q", len(narrowed), narrowed)
}

// TestEveryGroupHasAReason also catches a name listed twice.
func TestEveryGroupHasAReason(t *testing.T) {
	seen := map[string]string{}
	for _, g := range slices.Concat(allowed, denied) {
		if g.reason == "" || len(g.names) == 0 {
			t.Errorf("group %q: want a reason and names", g.names)
		}
		if g.args != nil || g.anyArg != nil {
			continue
		}
		for _, n := range g.names {
			key := n + g.archKey()
			if prev, dup := seen[key]; dup && g.errno == 0 {
				t.Errorf("%s is in two groups: %q and %q", n, prev, g.reason)
			}
			seen[key] = g.reason
		}
	}
}

func (g group) archKey() string {
	s := slices.Clone(g.arches)
	sort.Strings(s)
	b, _ := json.Marshal(s)
	return string(b)
}
