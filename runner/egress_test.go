package runner_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/podrun/podrun/runner"
)

func TestParseEgressRule(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"api.example.com:443", "api.example.com:443"},
		{"API.Example.com.", "api.example.com"},
		{"*.example.org", "*.example.org"},
		{"10.1.2.0/24:5432", "10.1.2.0/24:5432"},
		{"10.1.2.7/24", "10.1.2.0/24"},
		{"192.0.2.1:80", "192.0.2.1:80"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::/32]:443", "[2001:db8::/32]:443"},
	} {
		r, err := runner.ParseEgressRule(tc.in)
		if err != nil || r.String() != tc.want {
			t.Errorf("ParseEgressRule(%q) = %v, %v; want %s", tc.in, r, err, tc.want)
		}
	}
	for _, bad := range []string{"", "api.example.com:0", "api.example.com:70000", "host:", "*.", "a b", "-x.com", "[::1", "[::1]x", "*.*.com", "http://x.com"} {
		if r, err := runner.ParseEgressRule(bad); err == nil {
			t.Errorf("ParseEgressRule(%q) = %v, want an error", bad, r)
		}
	}
}

func TestEgressRuleMatch(t *testing.T) {
	rule := func(s string) runner.EgressRule {
		r, err := runner.ParseEgressRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	names := []struct {
		rule, name string
		port       int
		want       bool
	}{
		{"api.example.com:443", "api.example.com", 443, true},
		{"api.example.com:443", "api.example.com", 80, false},
		{"api.example.com:443", "x.api.example.com", 443, false},
		{"api.example.com", "api.example.com", 8080, true},
		{"*.example.org", "a.b.example.org", 1, true},
		{"*.example.org", "example.org", 443, false},
		{"*.example.org", "badexample.org", 443, false},
		{"10.0.0.0/8", "10.example", 443, false},
	}
	for _, tc := range names {
		if got := rule(tc.rule).MatchName(tc.name, tc.port); got != tc.want {
			t.Errorf("%s matches %s:%d = %v", tc.rule, tc.name, tc.port, got)
		}
	}
	addrs := []struct {
		rule, addr string
		port       int
		want       bool
	}{
		{"10.1.2.0/24:5432", "10.1.2.200", 5432, true},
		{"10.1.2.0/24:5432", "10.1.3.1", 5432, false},
		{"10.1.2.0/24:5432", "10.1.2.1", 5433, false},
		{"10.1.2.0/24", "::ffff:10.1.2.1", 1, true},
		{"example.com", "10.1.2.1", 1, false},
	}
	for _, tc := range addrs {
		if got := rule(tc.rule).MatchAddr(netip.MustParseAddr(tc.addr), tc.port); got != tc.want {
			t.Errorf("%s matches %s:%d = %v", tc.rule, tc.addr, tc.port, got)
		}
	}
}

// TestRequestConfinement: isolation and egress are checked where a request
// is validated: an unknown or unavailable isolation, a bad rule, and egress
// on a server without it are refused naming the field; the rest is canonical.
func TestRequestConfinement(t *testing.T) {
	p := runner.Policy{Defaults: runner.Limits{Memory: 64 << 20, CPUs: 1, PIDs: 64}, DefaultTTL: 1}
	req := runner.AgentRequest{Image: "busybox"}
	field := func(err error) string {
		var fe *runner.FieldError
		if errors.As(err, &fe) {
			return fe.Field
		}
		return ""
	}
	a, err := req.Validate(p)
	if err != nil || a.Isolation != runner.IsolationRunc || a.Egress != nil {
		t.Errorf("default: %q %q %v", a.Isolation, a.Egress, err)
	}
	for _, iso := range []string{runner.IsolationGVisor, "kata"} {
		r := req
		r.Isolation = iso
		if _, err := r.Validate(p); field(err) != "isolation" {
			t.Errorf("isolation %q without gVisor: %v, want a FieldError naming isolation", iso, err)
		}
	}
	p.Isolation = runner.IsolationPolicy{Default: runner.IsolationGVisor, Available: []string{runner.IsolationRunc, runner.IsolationGVisor}}
	if a, err := req.Validate(p); err != nil || a.Isolation != runner.IsolationGVisor {
		t.Errorf("configured default gvisor: %q, %v", a.Isolation, err)
	}
	small := runner.ByteSize(16 << 20)
	tiny := req
	tiny.Limits.Memory = &small
	if _, err := tiny.Validate(p); field(err) != "limits.memory" {
		t.Errorf("gvisor with 16Mi: %v, want a FieldError naming limits.memory", err)
	}
	tiny.Isolation = runner.IsolationRunc
	if _, err := tiny.Validate(p); err != nil {
		t.Errorf("runc with 16Mi: %v", err)
	}
	r := req
	r.Egress = []string{"API.example.com:443"}
	if _, err := r.Validate(p); field(err) != "egress" {
		t.Errorf("egress on a server without it: %v", err)
	}
	p.Egress = true
	if a, err := r.Validate(p); err != nil || len(a.Egress) != 1 || a.Egress[0] != "api.example.com:443" {
		t.Errorf("egress: %q, %v", a.Egress, err)
	}
	r.Egress = []string{"ok.example", "bad rule"}
	if _, err := r.Validate(p); field(err) != "egress.allow[1]" {
		t.Errorf("bad rule: %v, want a FieldError naming egress.allow[1]", err)
	}
}
