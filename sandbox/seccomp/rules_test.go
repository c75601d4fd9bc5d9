package seccomp

import (
	"encoding/json"
	"testing"
)

// matches reports whether a rule's comparisons all hold for the arguments.
func (a arg) holds(args [6]uint64) bool {
	v := args[a.Index]
	switch a.Op {
	case "SCMP_CMP_EQ":
		return v == a.Value
	case "SCMP_CMP_NE":
		return v != a.Value
	case "SCMP_CMP_GT":
		return v > a.Value
	case "SCMP_CMP_MASKED_EQ":
		return v&a.Value == a.ValueTwo
	}
	panic("unknown op " + a.Op)
}

// verdicts returns the action of every rule of the rendered profile that
// matches the call on amd64: libseccomp's choice among several is not what a
// reader expects, so the tests want exactly one.
func verdicts(t *testing.T, name string, args [6]uint64) []string {
	t.Helper()
	var p profile
	if err := json.Unmarshal(profileJSON, &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range p.Syscalls {
		if r.Includes != nil && !contains(r.Includes.Arches, "amd64") || !contains(r.Names, name) {
			continue
		}
		ok := true
		for _, a := range r.Args {
			ok = ok && a.holds(args)
		}
		if ok {
			v := r.Action
			if r.ErrnoRet != nil {
				v += "/" + errnoName(*r.ErrnoRet)
			}
			out = append(out, v)
		}
	}
	return out
}

func errnoName(n uint) string {
	return map[uint]string{1: "EPERM", 22: "EINVAL", 38: "ENOSYS", 97: "EAFNOSUPPORT"}[n]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestArgumentRules(t *testing.T) {
	const allow = "SCMP_ACT_ALLOW"
	thread := uint64(0x3d0f00) // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
	tests := []struct {
		name string
		args [6]uint64
		want string // "" means no rule: the default action (ENOSYS)
	}{
		{"clone", [6]uint64{thread}, allow},
		{"clone", [6]uint64{0x11 /* SIGCHLD, as fork */}, allow},
		{"clone", [6]uint64{cloneNewUser | 0x11}, "SCMP_ACT_ERRNO/EPERM"},
		{"clone", [6]uint64{cloneNewNet}, "SCMP_ACT_ERRNO/EPERM"},
		{"clone", [6]uint64{cloneNewNS | cloneNewPID}, "SCMP_ACT_ERRNO/EPERM,SCMP_ACT_ERRNO/EPERM"},
		{"unshare", [6]uint64{0x400 /* CLONE_FILES */}, allow},
		{"unshare", [6]uint64{cloneNewUser}, "SCMP_ACT_ERRNO/EPERM"},
		{"unshare", [6]uint64{cloneNewTime}, "SCMP_ACT_ERRNO/EPERM"},
		{"personality", [6]uint64{perLinux32}, allow},
		{"personality", [6]uint64{perQuery}, allow},
		{"personality", [6]uint64{0x0040000 /* ADDR_NO_RANDOMIZE */}, ""},
		{"socket", [6]uint64{afUnix}, allow},
		{"socket", [6]uint64{afInet}, allow},
		{"socket", [6]uint64{afInet6}, allow},
		{"socket", [6]uint64{afNetlink, 3, 0}, allow},
		{"socket", [6]uint64{afNetlink, 3, netlinkAudit}, "SCMP_ACT_ERRNO/EINVAL"},
		{"socket", [6]uint64{1<<32 | afInet}, "SCMP_ACT_ERRNO/EAFNOSUPPORT"},
		{"clone3", [6]uint64{}, "SCMP_ACT_ERRNO/ENOSYS"},
		{"keyctl", [6]uint64{}, "SCMP_ACT_ERRNO/EPERM"},
	}
	for fam := uint64(0); fam < 64; fam++ {
		if fam != afUnix && fam != afInet && fam != afInet6 && fam != afNetlink {
			tests = append(tests, struct {
				name string
				args [6]uint64
				want string
			}{"socket", [6]uint64{fam}, "SCMP_ACT_ERRNO/EAFNOSUPPORT"})
		}
	}
	for _, tc := range tests {
		got := ""
		for i, v := range verdicts(t, tc.name, tc.args) {
			if i > 0 {
				got += ","
			}
			got += v
		}
		if got != tc.want {
			t.Errorf("%s%x: rules %q, want %q", tc.name, tc.args[:3], got, tc.want)
		}
	}
}

// TestOneComparisonPerArgument: libseccomp does not AND two comparisons of
// the same argument in one rule (a profile that did denied personality(8)).
func TestOneComparisonPerArgument(t *testing.T) {
	var p profile
	if err := json.Unmarshal(profileJSON, &p); err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Syscalls {
		seen := map[uint]bool{}
		for _, a := range r.Args {
			if seen[a.Index] {
				t.Errorf("rule %q (%s) compares argument %d twice", r.Names, r.Comment, a.Index)
			}
			seen[a.Index] = true
		}
	}
}
