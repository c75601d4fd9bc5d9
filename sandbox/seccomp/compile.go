package seccomp

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"

	arches "github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
)

// Return values of a seccomp filter (linux/seccomp.h): the action in the
// high 16 bits, its data (an errno) in the low 16.
const (
	RetKillProcess = 0x80000000
	RetKillThread  = 0x00000000
	RetTrap        = 0x00030000
	RetErrno       = 0x00050000
	RetLog         = 0x7ffc0000
	RetAllow       = 0x7fff0000
)

// Offsets in struct seccomp_data, which a filter reads: the call's number,
// the audit architecture, and six 64-bit arguments (little-endian halves on
// the architectures Compile supports).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// source is a containers/common profile as Compile reads it: what podrun's
// own profile uses, and what Podman's default adds (the old single name,
// capability and architecture includes and excludes, minimum kernels).
type source struct {
	DefaultAction   string       `json:"defaultAction"`
	DefaultErrnoRet *uint        `json:"defaultErrnoRet"`
	Syscalls        []sourceRule `json:"syscalls"`
}

type sourceRule struct {
	Name     string   `json:"name"`
	Names    []string `json:"names"`
	Action   string   `json:"action"`
	ErrnoRet *uint    `json:"errnoRet"`
	Args     []arg    `json:"args"`
	Includes filter   `json:"includes"`
	Excludes filter   `json:"excludes"`
}

type filter struct {
	Arches    []string `json:"arches"`
	Caps      []string `json:"caps"`
	MinKernel string   `json:"minKernel"`
}

// Target is what Compile builds a filter for: the architecture of the
// processes it will filter (Go's name, as runtime.GOARCH), the kernel
// version rules with a minKernel are held against (as uname -r; "" takes
// every such rule) and the capabilities the processes hold (podrun's hold none).
type Target struct {
	GOARCH string
	Kernel string
	Caps   []string
}

// Compile turns a profile in containers/common's JSON (podrun's own, or any
// the sandbox is configured with) into a classic BPF seccomp program for one
// architecture, as Podman and libseccomp would apply it to a container with
// t's capabilities: the rules whose includes and excludes fit t, the others
// dropped; names the architecture does not know dropped, as libseccomp
// does; a rule's argument comparisons ANDed, unless two compare the same
// argument, when each is a rule of its own (runc's reading). Where rules for
// one call overlap, an errno or kill wins over allow, as the kernel ranks
// actions. Calls of another architecture (a 32-bit program, x32) get
// SECCOMP_RET_KILL_PROCESS: the filter is for native programs only.
func Compile(profile []byte, t Target) ([]bpf.RawInstruction, error) {
	var src source
	if err := json.Unmarshal(profile, &src); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	info, err := arches.GetInfo(t.GOARCH)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if t.GOARCH != "amd64" && t.GOARCH != "arm64" {
		return nil, fmt.Errorf("seccomp profile: architecture %s: only amd64 and arm64 are supported", t.GOARCH)
	}
	def, err := action(src.DefaultAction, src.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: default: %w", err)
	}
	calls := map[int][]compiled{}
	for i, r := range src.Syscalls {
		ok, err := applies(r, t)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile: rule %d: %w", i, err)
		}
		if !ok {
			continue
		}
		ret, err := action(r.Action, r.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile: rule %d (%s): %w", i, strings.Join(r.names(), ","), err)
		}
		for _, conds := range conditions(r.Args) {
			for _, a := range conds {
				if a.Index > 5 {
					return nil, fmt.Errorf("seccomp profile: rule %d: argument index %d: want 0 to 5", i, a.Index)
				}
				if _, err := compare(a); err != nil {
					return nil, fmt.Errorf("seccomp profile: rule %d: %w", i, err)
				}
			}
			for _, name := range r.names() {
				nr, known := info.SyscallNames[name]
				if !known {
					continue
				}
				calls[nr] = append(calls[nr], compiled{ret: ret, args: conds})
			}
		}
	}
	var a asm
	a.load(offArch)
	a.jumpIf(bpf.JumpEqual, uint32(info.ID), "native", "")
	a.ret(RetKillProcess)
	a.label("native")
	a.load(offNr)
	if info.SeccompMask != 0 { // x32 calls on x86-64 share its audit arch
		a.jumpIf(bpf.JumpBitsSet, uint32(info.SeccompMask), "", "ours")
		a.ret(RetKillProcess)
		a.label("ours")
	}
	nrs := make([]int, 0, len(calls))
	for nr := range calls {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	a.tree(nrs, calls, def)
	return a.assemble()
}

// Encode lays a program out as the kernel's struct sock_filter array, in the
// running machine's byte order (little-endian on every architecture Compile supports).
func Encode(prog []bpf.RawInstruction) []byte {
	out := make([]byte, 0, 8*len(prog))
	for _, ins := range prog {
		out = binary.LittleEndian.AppendUint16(out, ins.Op)
		out = append(out, ins.Jt, ins.Jf)
		out = binary.LittleEndian.AppendUint32(out, ins.K)
	}
	return out
}

// Decode is Encode's inverse; it fails on a length that is not a whole number of instructions.
func Decode(b []byte) ([]bpf.RawInstruction, error) {
	if len(b) == 0 || len(b)%8 != 0 {
		return nil, fmt.Errorf("seccomp filter of %d bytes: want a non-empty multiple of 8", len(b))
	}
	out := make([]bpf.RawInstruction, 0, len(b)/8)
	for i := 0; i < len(b); i += 8 {
		out = append(out, bpf.RawInstruction{
			Op: binary.LittleEndian.Uint16(b[i:]), Jt: b[i+2], Jf: b[i+3], K: binary.LittleEndian.Uint32(b[i+4:]),
		})
	}
	return out, nil
}

// compiled is one rule of one call: its return value if all args match.
type compiled struct {
	ret  uint32
	args []arg
}

func (r sourceRule) names() []string {
	if r.Name != "" {
		return append(slices.Clip(r.Names), r.Name)
	}
	return r.Names
}

// applies reports whether a rule is part of the filter for t.
func applies(r sourceRule, t Target) (bool, error) {
	if len(r.Includes.Arches) > 0 && !slices.Contains(r.Includes.Arches, t.GOARCH) {
		return false, nil
	}
	if slices.Contains(r.Excludes.Arches, t.GOARCH) {
		return false, nil
	}
	for _, c := range r.Includes.Caps {
		if !slices.Contains(t.Caps, c) {
			return false, nil
		}
	}
	for _, c := range r.Excludes.Caps {
		if slices.Contains(t.Caps, c) {
			return false, nil
		}
	}
	if r.Includes.MinKernel != "" && t.Kernel != "" {
		ok, err := kernelAtLeast(t.Kernel, r.Includes.MinKernel)
		if err != nil || !ok {
			return false, err
		}
	}
	if r.Excludes.MinKernel != "" && t.Kernel != "" {
		ok, err := kernelAtLeast(t.Kernel, r.Excludes.MinKernel)
		if err != nil || ok {
			return false, err
		}
	}
	return true, nil
}

// kernelAtLeast compares the major and minor numbers of two kernel versions.
func kernelAtLeast(have, want string) (bool, error) {
	h, err := majorMinor(have)
	if err != nil {
		return false, err
	}
	w, err := majorMinor(want)
	if err != nil {
		return false, err
	}
	return h[0] > w[0] || h[0] == w[0] && h[1] >= w[1], nil
}

func majorMinor(v string) ([2]int, error) {
	parts := strings.SplitN(v, ".", 3)
	var out [2]int
	if len(parts) < 2 {
		return out, fmt.Errorf("kernel version %q: want MAJOR.MINOR", v)
	}
	for i := range out {
		digits := strings.TrimRightFunc(parts[i], func(r rune) bool { return r < '0' || r > '9' })
		n, err := strconv.Atoi(digits)
		if err != nil {
			return out, fmt.Errorf("kernel version %q: %w", v, err)
		}
		out[i] = n
	}
	return out, nil
}

// action is a rule's return value.
func action(name string, errno *uint) (uint32, error) {
	switch name {
	case "SCMP_ACT_ALLOW":
		return RetAllow, nil
	case "SCMP_ACT_ERRNO":
		e := uint(syscall.EPERM) // libseccomp's default, as containers/common sets it
		if errno != nil {
			e = *errno
		}
		if e > 0xffff {
			return 0, fmt.Errorf("errnoRet %d: want at most 65535", e)
		}
		return RetErrno | uint32(e), nil
	case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD":
		return RetKillThread, nil
	case "SCMP_ACT_KILL_PROCESS":
		return RetKillProcess, nil
	case "SCMP_ACT_TRAP":
		return RetTrap, nil
	case "SCMP_ACT_LOG":
		return RetLog, nil
	}
	return 0, fmt.Errorf("action %q: podrun compiles ALLOW, ERRNO, KILL, KILL_THREAD, KILL_PROCESS, TRAP and LOG (not TRACE or NOTIFY, which need a tracer or agent)", name)
}

// conditions are the sets of comparisons a rule stands for, each set ANDed:
// one set, or one per comparison if two compare the same argument.
func conditions(args []arg) [][]arg {
	seen := map[uint]bool{}
	for _, a := range args {
		if seen[a.Index] {
			out := make([][]arg, len(args))
			for i, a := range args {
				out[i] = []arg{a}
			}
			return out
		}
		seen[a.Index] = true
	}
	return [][]arg{args}
}
