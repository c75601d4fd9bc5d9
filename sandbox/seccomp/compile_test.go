package seccomp

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"

	arches "github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
)

// filterVM runs a compiled filter over synthetic seccomp_data, as the kernel would.
type filterVM struct {
	t    *testing.T
	vm   *bpf.VM
	info *arches.Info
}

func newFilterVM(t *testing.T, profile []byte, target Target) filterVM {
	t.Helper()
	raw, err := Compile(profile, target)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(Encode(raw))
	if err != nil || !slices.Equal(back, raw) {
		t.Fatalf("Decode(Encode(prog)) = %v, %v; want the program back", len(back), err)
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("the program has instructions x/net/bpf cannot read")
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	info, err := arches.GetInfo(target.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	return filterVM{t: t, vm: vm, info: info}
}

// run returns the filter's verdict on call nr with args, from an audit arch.
// x/net/bpf's VM loads words big-endian; each 32-bit word is written so, and
// a 64-bit argument's low word comes first, as on a little-endian machine.
func (f filterVM) run(auditArch uint32, nr uint32, args ...uint64) uint32 {
	f.t.Helper()
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[0:], nr)
	binary.BigEndian.PutUint32(data[4:], auditArch)
	for i, v := range args {
		binary.BigEndian.PutUint32(data[16+8*i:], uint32(v))
		binary.BigEndian.PutUint32(data[20+8*i:], uint32(v>>32))
	}
	got, err := f.vm.Run(data)
	if err != nil {
		f.t.Fatal(err)
	}
	return uint32(got)
}

// call returns the verdict on the named native call.
func (f filterVM) call(name string, args ...uint64) uint32 {
	f.t.Helper()
	nr, ok := f.info.SyscallNames[name]
	if !ok {
		f.t.Fatalf("%s: no such call on %s", name, f.info.Name)
	}
	return f.run(uint32(f.info.ID), uint32(nr), args...)
}

func verdict(v uint32) string {
	switch {
	case v == RetAllow:
		return "allow"
	case v&^0xffff == RetErrno:
		return syscall.Errno(v & 0xffff).Error()
	case v == RetKillProcess:
		return "kill process"
	}
	return fmt.Sprintf("%#x", v)
}

var targets = []Target{{GOARCH: "amd64"}, {GOARCH: "arm64"}}

// TestCompileProfile: podrun's profile, compiled, allows every call a group
// allows, denies every denied call with the group's errno, answers ENOSYS to
// every call no group names, and judges clone, unshare, socket and
// personality by their arguments.
func TestCompileProfile(t *testing.T) {
	for _, target := range targets {
		t.Run(target.GOARCH, func(t *testing.T) {
			f := newFilterVM(t, JSON(), target)
			named := map[string]bool{}
			for _, g := range slices.Concat(allowed, filtered, s390Clone, denied) {
				for _, n := range g.names {
					named[n] = true
				}
			}
			check := func(g group, want uint32) {
				t.Helper()
				if len(g.arches) > 0 && !slices.Contains(g.arches, target.GOARCH) {
					return
				}
				for _, n := range g.names {
					if _, ok := f.info.SyscallNames[n]; !ok {
						continue
					}
					if got := f.call(n); got != want {
						t.Errorf("%s: %s; want %s (%s)", n, verdict(got), verdict(want), g.reason)
					}
				}
			}
			nAllowed := 0
			for _, g := range allowed {
				check(g, RetAllow)
				nAllowed += len(g.names)
			}
			for _, g := range denied {
				if len(g.args) == 0 && len(g.anyArg) == 0 {
					check(g, RetErrno|uint32(g.errno))
				}
			}
			unnamed := 0
			for name := range f.info.SyscallNames {
				if !named[name] {
					unnamed++
					if got := f.call(name); got != RetErrno|uint32(syscall.ENOSYS) {
						t.Errorf("%s, named by no group: %s; want ENOSYS", name, verdict(got))
					}
				}
			}
			if nAllowed < 300 || unnamed == 0 {
				t.Fatalf("checked %d allowed and %d unnamed calls: the test reads the wrong tables", nAllowed, unnamed)
			}
			const sigchld, cloneVM, cloneThread = 17, 0x100, 0x10000
			cases := []struct {
				call string
				args []uint64
				want uint32
			}{
				{"clone", []uint64{sigchld}, RetAllow},
				{"clone", []uint64{cloneVM | cloneThread | 0x3d0f00}, RetAllow}, // a thread, as glibc makes one
				{"clone", []uint64{sigchld | cloneNewUser}, RetErrno | uint32(syscall.EPERM)},
				{"clone", []uint64{sigchld | cloneNewNet}, RetErrno | uint32(syscall.EPERM)},
				{"clone", []uint64{sigchld | cloneNewNS | cloneNewPID}, RetErrno | uint32(syscall.EPERM)},
				{"clone3", nil, RetErrno | uint32(syscall.ENOSYS)},
				{"unshare", []uint64{0x400}, RetAllow}, // CLONE_FILES
				{"unshare", []uint64{cloneNewUser}, RetErrno | uint32(syscall.EPERM)},
				{"unshare", []uint64{cloneNewTime}, RetErrno | uint32(syscall.EPERM)},
				{"setns", []uint64{3, 0}, RetErrno | uint32(syscall.EPERM)},
				{"socket", []uint64{afInet, 1, 0}, RetAllow},
				{"socket", []uint64{afUnix, 1, 0}, RetAllow},
				{"socket", []uint64{afNetlink, 3, 0}, RetAllow}, // NETLINK_ROUTE
				{"socket", []uint64{afNetlink, 3, netlinkAudit}, RetErrno | uint32(syscall.EINVAL)},
				{"socket", []uint64{40, 1, 0}, RetErrno | uint32(syscall.EAFNOSUPPORT)}, // AF_VSOCK
				{"socket", []uint64{17, 3, 0}, RetErrno | uint32(syscall.EAFNOSUPPORT)}, // AF_PACKET
				{"socket", []uint64{1<<32 | afInet, 1, 0}, RetErrno | uint32(syscall.EAFNOSUPPORT)},
				{"personality", []uint64{perLinux}, RetAllow},
				{"personality", []uint64{perQuery}, RetAllow},
				{"personality", []uint64{0x0400000}, RetErrno | uint32(syscall.ENOSYS)}, // READ_IMPLIES_EXEC
				{"keyctl", nil, RetErrno | uint32(syscall.EPERM)},
				{"ptrace", nil, RetErrno | uint32(syscall.EPERM)},
				{"io_uring_setup", nil, RetErrno | uint32(syscall.EPERM)},
			}
			for _, c := range cases {
				if got := f.call(c.call, c.args...); got != c.want {
					t.Errorf("%s(%#x): %s; want %s", c.call, c.args, verdict(got), verdict(c.want))
				}
			}
			read := uint32(f.info.SyscallNames["read"])
			if got := f.run(0x40000003, read); got != RetKillProcess { // i386's audit arch
				t.Errorf("a call from another architecture: %s; want kill process", verdict(got))
			}
			if f.info.SeccompMask != 0 {
				if got := f.run(uint32(f.info.ID), read|uint32(f.info.SeccompMask)); got != RetKillProcess {
					t.Errorf("an x32 call: %s; want kill process", verdict(got))
				}
			}
		})
	}
}

// TestCompileComparisons: each comparison holds over the whole 64 bits.
func TestCompileComparisons(t *testing.T) {
	const big = 0x1_0000_0005
	profile := func(op string, v, v2 uint64) []byte {
		return fmt.Appendf(nil, `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
			{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":%d,"valueTwo":%d,"op":"%s"}]}]}`, v, v2, op)
	}
	cases := []struct {
		op    string
		v, v2 uint64
		in    uint64
		want  bool
	}{
		{"SCMP_CMP_EQ", big, 0, big, true},
		{"SCMP_CMP_EQ", big, 0, 5, false},
		{"SCMP_CMP_NE", big, 0, 5, true},
		{"SCMP_CMP_NE", big, 0, big, false},
		{"SCMP_CMP_NE", big, 0, big + 1<<32, true},
		{"SCMP_CMP_GT", big, 0, big + 1, true},
		{"SCMP_CMP_GT", big, 0, big, false},
		{"SCMP_CMP_GT", big, 0, 6, false},
		{"SCMP_CMP_GT", big, 0, 2 << 32, true},
		{"SCMP_CMP_GE", big, 0, big, true},
		{"SCMP_CMP_GE", big, 0, big - 1, false},
		{"SCMP_CMP_LT", big, 0, big - 1, true},
		{"SCMP_CMP_LT", big, 0, 7, true},
		{"SCMP_CMP_LT", big, 0, big, false},
		{"SCMP_CMP_LT", big, 0, 1 << 33, false},
		{"SCMP_CMP_LE", big, 0, big, true},
		{"SCMP_CMP_LE", big, 0, big + 1, false},
		{"SCMP_CMP_MASKED_EQ", 0xf0 | 1<<40, 0x30 | 1<<40, 0x3f | 1<<40, true},
		{"SCMP_CMP_MASKED_EQ", 0xf0 | 1<<40, 0x30 | 1<<40, 0x3f, false},
		{"SCMP_CMP_MASKED_EQ", 0xf0, 0, 0x0f, true},
		{"SCMP_CMP_MASKED_EQ", 0xf0, 0, 0x1f, false},
	}
	for _, c := range cases {
		f := newFilterVM(t, profile(c.op, c.v, c.v2), Target{GOARCH: "amd64"})
		got := f.call("read", 0, c.in) == RetAllow
		if got != c.want {
			t.Errorf("%s(%#x, %#x) on %#x: %v; want %v", c.op, c.v, c.v2, c.in, got, c.want)
		}
		if v := f.call("write", 0, c.in); v != RetErrno|uint32(syscall.EPERM) {
			t.Errorf("an unnamed call under a default ERRNO without errnoRet: %s; want EPERM", verdict(v))
		}
	}
}

// TestCompileRules: the parts of containers/common's format beyond podrun's
// own profile: capability and architecture includes and excludes, a
// minimum kernel, two comparisons of one argument (each a rule, as runc
// reads them), overlapping rules (the denial wins) and refused actions.
func TestCompileRules(t *testing.T) {
	profile := []byte(`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
		{"names":["read"],"action":"SCMP_ACT_ALLOW"},
		{"name":"write","action":"SCMP_ACT_ALLOW"},
		{"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
		{"names":["umount2"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_SYS_ADMIN"]}},
		{"names":["arch_prctl"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["amd64"]}},
		{"names":["getpid"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["amd64"]}},
		{"names":["membarrier"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4.14"}},
		{"names":["pidfd_open"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"5.10"}},
		{"names":["kill"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":9,"op":"SCMP_CMP_EQ"},{"index":1,"value":15,"op":"SCMP_CMP_EQ"}]},
		{"names":["tkill"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":15,"op":"SCMP_CMP_EQ"}]},
		{"names":["dup"],"action":"SCMP_ACT_ALLOW"},
		{"names":["dup"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":0,"value":7,"op":"SCMP_CMP_EQ"}]},
		{"names":["no_such_call_anywhere"],"action":"SCMP_ACT_ALLOW"}]}`)
	f := newFilterVM(t, profile, Target{GOARCH: "amd64", Kernel: "5.4.0-150-generic"})
	enosys := RetErrno | uint32(syscall.ENOSYS)
	cases := []struct {
		call string
		args []uint64
		want uint32
	}{
		{"read", nil, RetAllow},
		{"write", nil, RetAllow},
		{"mount", nil, enosys},
		{"umount2", nil, RetAllow},
		{"arch_prctl", nil, RetAllow},
		{"getpid", nil, enosys},
		{"membarrier", nil, RetAllow},
		{"pidfd_open", nil, enosys},
		{"kill", []uint64{1, 9}, RetAllow},
		{"kill", []uint64{1, 15}, RetAllow},
		{"kill", []uint64{1, 2}, enosys},
		{"tkill", []uint64{1, 15}, RetAllow},
		{"tkill", []uint64{2, 15}, enosys},
		{"dup", []uint64{3}, RetAllow},
		{"dup", []uint64{7}, RetErrno | 13},
	}
	for _, c := range cases {
		if got := f.call(c.call, c.args...); got != c.want {
			t.Errorf("%s(%v): %s; want %s", c.call, c.args, verdict(got), verdict(c.want))
		}
	}
	for _, bad := range []string{
		`{"defaultAction":"SCMP_ACT_NOTIFY"}`,
		`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_TRACE"}]}`,
		`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}`,
		`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_SOMETIMES"}]}]}`,
		`not json`,
	} {
		if _, err := Compile([]byte(bad), Target{GOARCH: "amd64"}); err == nil {
			t.Errorf("Compile(%s) succeeded; want an error", bad)
		}
	}
	if _, err := Compile(JSON(), Target{GOARCH: "s390x"}); err == nil {
		t.Error("Compile for s390x succeeded; want an error (no call table)")
	}
}

// TestCompilePodmanDefault: Podman's own default profile, a profile an
// operator may configure, compiles; a container may read, and bpf answers
// EPERM without CAP_SYS_ADMIN (a rule that excludes the capability) and is
// allowed with it (one that includes it).
func TestCompilePodmanDefault(t *testing.T) {
	b, err := os.ReadFile("testdata/podman-4.3-default.json")
	if err != nil {
		t.Fatal(err)
	}
	f := newFilterVM(t, b, Target{GOARCH: "amd64"})
	if got := f.call("read"); got != RetAllow {
		t.Errorf("read: %s; want allow", verdict(got))
	}
	if got := f.call("bpf"); got != RetErrno|uint32(syscall.EPERM) {
		t.Errorf("bpf without CAP_SYS_ADMIN: %s; want EPERM", verdict(got))
	}
	admin := newFilterVM(t, b, Target{GOARCH: "amd64", Caps: []string{"CAP_SYS_ADMIN"}})
	if got := admin.call("bpf"); got != RetAllow {
		t.Errorf("bpf with CAP_SYS_ADMIN: %s; want allow", verdict(got))
	}
}
