package runner

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxEgressRules bounds an egress allow list.
const MaxEgressRules = 64

// EgressRule is one entry of an agent's or function's egress allow list: a
// destination its code may connect to through podrun's egress proxy. Its
// text forms are
//
//	api.example.com:443    that host name, that port
//	api.example.com        that host name, any port
//	*.example.org[:port]   any name below example.org (not example.org itself)
//	10.1.2.3[:port]        that address, given as an address by the client
//	10.1.2.0/24[:port]     any address in the prefix
//	[2001:db8::/32]:443    IPv6 addresses and prefixes with a port are bracketed
//
// Names match the name the client asked the proxy for (the CONNECT
// authority or the Host), case-insensitively; address rules match clients
// that ask for an address, and the addresses a name resolves to (see
// package egress). Port 0 is any port.
type EgressRule struct {
	Name     string       // a host name, lower case, without a final dot; "" for an address rule
	Wildcard bool         // Name is a suffix: the rule matches names strictly below it
	Prefix   netip.Prefix // the addresses of an address rule
	Port     int          // 1-65535, or 0 for any
}

// ParseEgressRule parses one rule's text form; the error says what is wrong, without a field name.
func ParseEgressRule(s string) (EgressRule, error) {
	if s == "" || len(s) > 300 {
		return EgressRule{}, fmt.Errorf("must be 1 to 300 characters")
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return EgressRule{}, fmt.Errorf("%q: missing ]", s)
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return EgressRule{}, fmt.Errorf("%q: want [address]:port", s)
		}
		port = strings.TrimPrefix(port, ":")
		if port == "" && s[end+1:] != "" {
			return EgressRule{}, fmt.Errorf("%q: empty port", s)
		}
	case strings.Count(s, ":") == 1:
		host, port, _ = strings.Cut(s, ":")
		if port == "" {
			return EgressRule{}, fmt.Errorf("%q: empty port", s)
		}
	}
	var r EgressRule
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return EgressRule{}, fmt.Errorf("%q: port must be 1 to 65535", s)
		}
		r.Port = n
	}
	if p, err := netip.ParsePrefix(host); err == nil {
		r.Prefix = p.Masked()
		return r, nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return EgressRule{}, fmt.Errorf("%q: no zones", s)
		}
		r.Prefix = netip.PrefixFrom(a, a.BitLen())
		return r, nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		r.Wildcard, name = true, rest
	}
	if !validHostName(name) {
		return EgressRule{}, fmt.Errorf("%q: want host[:port], *.domain[:port], address[:port] or prefix[:port]", s)
	}
	r.Name = name
	return r, nil
}

// validHostName reports whether name is a DNS name of letters, digits,
// hyphens and underscores in dot-separated labels of 1 to 63 characters.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// String is the rule's canonical text form, which ParseEgressRule reads back.
func (r EgressRule) String() string {
	var host string
	switch {
	case r.Name != "" && r.Wildcard:
		host = "*." + r.Name
	case r.Name != "":
		host = r.Name
	case r.Prefix.IsSingleIP():
		host = r.Prefix.Addr().String()
	default:
		host = r.Prefix.String()
	}
	if r.Port == 0 {
		return host
	}
	if r.Name == "" && r.Prefix.Addr().Is6() {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(r.Port)
}

// MatchName reports whether the rule allows a connection to the host name
// name (lower case, without a final dot) on port.
func (r EgressRule) MatchName(name string, port int) bool {
	if r.Name == "" || r.Port != 0 && r.Port != port {
		return false
	}
	if r.Wildcard {
		return strings.HasSuffix(name, "."+r.Name)
	}
	return name == r.Name
}

// MatchAddr reports whether the rule allows a connection to addr on port.
func (r EgressRule) MatchAddr(addr netip.Addr, port int) bool {
	return r.Name == "" && (r.Port == 0 || r.Port == port) && r.Prefix.Contains(addr.Unmap())
}

// ParseEgress checks an allow list and returns it in canonical form (see
// EgressRule.String), so what is stored and shown is what is enforced.
func ParseEgress(field string, allow []string) ([]string, error) {
	if len(allow) > MaxEgressRules {
		return nil, invalid(field, "must hold at most %d rules", MaxEgressRules)
	}
	out := make([]string, 0, len(allow))
	for i, s := range allow {
		r, err := ParseEgressRule(s)
		if err != nil {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%s", err)
		}
		out = append(out, r.String())
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// EgressRules parses a canonical allow list, as ParseEgress returned it.
func EgressRules(allow []string) ([]EgressRule, error) {
	rules := make([]EgressRule, 0, len(allow))
	for _, s := range allow {
		r, err := ParseEgressRule(s)
		if err != nil {
			return nil, fmt.Errorf("egress rule %q: %w", s, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}
