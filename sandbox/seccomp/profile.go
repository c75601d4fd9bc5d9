// Package seccomp holds podrun's seccomp profile: the system calls an agent
// or function container may make. Its source is the table of groups in
// groups.go, each with the reason for its action; Render turns the table into
// the JSON Podman reads (containers/common's format: the OCI runtime spec's
// seccomp with lists of names and a comment per rule), and profile.json, the
// rendering embedded in the binary, is checked against it by a test
// (`go test ./sandbox/seccomp -run TestProfileIsRendered -update` rewrites it).
package seccomp

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"slices"
	"syscall"
)

//go:embed profile.json
var profileJSON []byte

// JSON returns the profile as Podman reads it (a copy: callers may keep it).
func JSON() []byte { return bytes.Clone(profileJSON) }

// profile is containers/common's seccomp JSON, as Podman 4.3 parses it.
type profile struct {
	DefaultAction   string `json:"defaultAction"`
	DefaultErrnoRet *uint  `json:"defaultErrnoRet"`
	ArchMap         []arch `json:"archMap"`
	Syscalls        []rule `json:"syscalls"`
}

type arch struct {
	Arch    string   `json:"architecture"`
	SubArch []string `json:"subArchitectures"`
}

type rule struct {
	Names    []string  `json:"names"`
	Action   string    `json:"action"`
	ErrnoRet *uint     `json:"errnoRet,omitempty"`
	Args     []arg     `json:"args"`
	Comment  string    `json:"comment"`
	Includes *includes `json:"includes,omitempty"`
}

type includes struct {
	Arches []string `json:"arches,omitempty"`
}

// arg compares one argument of a call: (arg & Value) == ValueTwo for
// SCMP_CMP_MASKED_EQ, arg OP Value for the others.
type arg struct {
	Index    uint   `json:"index"`
	Value    uint64 `json:"value"`
	ValueTwo uint64 `json:"valueTwo"`
	Op       string `json:"op"`
}

func eq(i uint, v uint64) arg { return arg{Index: i, Value: v, Op: "SCMP_CMP_EQ"} }
func ne(i uint, v uint64) arg { return arg{Index: i, Value: v, Op: "SCMP_CMP_NE"} }
func gt(i uint, v uint64) arg { return arg{Index: i, Value: v, Op: "SCMP_CMP_GT"} }

func maskedEq(i uint, mask, want uint64) arg {
	return arg{Index: i, Value: mask, ValueTwo: want, Op: "SCMP_CMP_MASKED_EQ"}
}

// flagSet is one comparison per flag: "argument i has this bit set".
func flagSet(i uint, flags ...uint64) []arg {
	out := make([]arg, len(flags))
	for n, f := range flags {
		out[n] = maskedEq(i, f, f)
	}
	return out
}

// archMap lists the architectures the profile covers; each one's
// subarchitectures are its compatibility modes (32-bit programs).
var archMap = []arch{
	{"SCMP_ARCH_X86_64", []string{"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
	{"SCMP_ARCH_AARCH64", []string{"SCMP_ARCH_ARM"}},
	{"SCMP_ARCH_PPC64LE", []string{}},
	{"SCMP_ARCH_S390X", []string{"SCMP_ARCH_S390"}},
}

// Render builds the profile from the groups: calls that no group names fail
// with ENOSYS, as under Podman's default profile, so a program probing for a
// newer call than the profile knows falls back to an older one.
func Render() ([]byte, error) {
	p := profile{DefaultAction: "SCMP_ACT_ERRNO", DefaultErrnoRet: ptr(uint(syscall.ENOSYS)), ArchMap: archMap}
	for _, g := range slices.Concat(allowed, filtered, s390Clone, denied) {
		p.Syscalls = append(p.Syscalls, g.rules()...)
	}
	b, err := json.MarshalIndent(p, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// s390Clone are clone's rules on s390, where the flags are the second argument.
var s390Clone = []group{
	{reason: "clone on s390: as elsewhere, but its flags are the second argument",
		names: []string{"clone"}, args: []arg{maskedEq(1, cloneNamespaceMask(), 0)}, arches: []string{"s390", "s390x"}},
	{reason: "clone on s390 with a namespace flag",
		names: []string{"clone"}, errno: syscall.EPERM, anyArg: flagSet(1, namespaceFlags...), arches: []string{"s390", "s390x"}},
}

// rules turns a group into the profile's rules: one, or one per anyArg.
func (g group) rules() []rule {
	r := rule{Names: g.names, Action: "SCMP_ACT_ALLOW", Args: g.args, Comment: g.reason}
	if r.Args == nil {
		r.Args = []arg{}
	}
	if g.errno != 0 {
		r.Action, r.ErrnoRet = "SCMP_ACT_ERRNO", ptr(uint(g.errno))
	}
	if len(g.arches) > 0 {
		r.Includes = &includes{Arches: g.arches}
	}
	if len(g.anyArg) == 0 {
		return []rule{r}
	}
	out := make([]rule, len(g.anyArg))
	for i, a := range g.anyArg {
		out[i] = r
		out[i].Args = append(slices.Clip(g.args), a)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
