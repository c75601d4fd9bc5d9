package seccomp

import (
	"fmt"
	"slices"

	"golang.org/x/net/bpf"
)

// asm builds a BPF program with named forward jumps; assemble resolves them.
type asm struct {
	ins    []item
	labels map[string]int
	n      int // for fresh labels
}

// item is an instruction; a conditional jump names its targets ("" is the
// next instruction), an unconditional one its target in to.
type item struct {
	ins    bpf.Instruction
	jt, jf string
	to     string
}

func (a *asm) fresh() string {
	a.n++
	return fmt.Sprintf(".%d", a.n)
}

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.ins)
}

func (a *asm) emit(ins bpf.Instruction) { a.ins = append(a.ins, item{ins: ins}) }
func (a *asm) load(off uint32)          { a.emit(bpf.LoadAbsolute{Off: off, Size: 4}) }
func (a *asm) ret(v uint32)             { a.emit(bpf.RetConstant{Val: v}) }
func (a *asm) jump(to string)           { a.ins = append(a.ins, item{ins: bpf.Jump{}, to: to}) }

func (a *asm) jumpIf(cond bpf.JumpTest, val uint32, jt, jf string) {
	a.ins = append(a.ins, item{ins: bpf.JumpIf{Cond: cond, Val: val}, jt: jt, jf: jf})
}

// assemble resolves the jumps and encodes the program; a conditional jump
// farther than 255 instructions is an error (the tree keeps them short).
func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	prog := make([]bpf.Instruction, len(a.ins))
	for i, it := range a.ins {
		skip := func(l string) (uint32, error) {
			if l == "" {
				return 0, nil
			}
			at, ok := a.labels[l]
			if !ok || at <= i {
				return 0, fmt.Errorf("seccomp filter: jump to %q from %d: not a later label", l, i)
			}
			return uint32(at - i - 1), nil
		}
		switch ins := it.ins.(type) {
		case bpf.JumpIf:
			t, err := skip(it.jt)
			if err != nil {
				return nil, err
			}
			f, err := skip(it.jf)
			if err != nil {
				return nil, err
			}
			if t > 255 || f > 255 {
				return nil, fmt.Errorf("seccomp filter: conditional jump of %d or %d instructions at %d", t, f, i)
			}
			ins.SkipTrue, ins.SkipFalse = uint8(t), uint8(f)
			prog[i] = ins
		case bpf.Jump:
			s, err := skip(it.to)
			if err != nil {
				return nil, err
			}
			ins.Skip = s
			prog[i] = ins
		default:
			prog[i] = ins
		}
	}
	if len(prog) > 4096 { // BPF_MAXINSNS
		return nil, fmt.Errorf("seccomp filter: %d instructions, more than the kernel's 4096", len(prog))
	}
	return bpf.Assemble(prog)
}

// leafSize is how many calls a leaf of the search tree tests one by one.
const leafSize = 4

// tree emits a binary search over the sorted call numbers (the number is in
// the accumulator), each leaf testing its calls in turn, and def for a call
// no rule names.
func (a *asm) tree(nrs []int, calls map[int][]compiled, def uint32) {
	if len(nrs) <= leafSize {
		for _, nr := range nrs {
			next := a.fresh()
			a.jumpIf(bpf.JumpEqual, uint32(nr), "", next)
			a.call(calls[nr], def)
			a.label(next)
		}
		a.ret(def)
		return
	}
	mid := len(nrs) / 2
	left, right := a.fresh(), a.fresh()
	a.jumpIf(bpf.JumpGreaterOrEqual, uint32(nrs[mid]), "", left)
	a.jump(right) // a long jump: the left half can be longer than 255
	a.label(left)
	a.tree(nrs[:mid], calls, def)
	a.label(right)
	a.tree(nrs[mid:], calls, def)
}

// call emits one call's rules: those that deny (any return but allow or
// log) first, so that where rules overlap the stricter wins; then def.
// Argument loads overwrite the accumulator: every path ends in a return.
func (a *asm) call(rules []compiled, def uint32) {
	rules = slices.Clone(rules)
	slices.SortStableFunc(rules, func(x, y compiled) int { return rank(x.ret) - rank(y.ret) })
	for _, r := range rules {
		fail := a.fresh()
		for _, c := range r.args {
			emit, _ := compare(c) // Compile checked every comparison
			emit(a, fail)
		}
		a.ret(r.ret)
		a.label(fail)
		if len(r.args) == 0 {
			return // later rules are unreachable
		}
	}
	a.ret(def)
}

// rank orders returns: kills, trap and errno before log and allow.
func rank(ret uint32) int {
	switch ret &^ 0xffff {
	case RetAllow:
		return 2
	case RetLog:
		return 1
	}
	return 0
}

// compare returns the code for one comparison of a 64-bit argument, which
// falls through when it holds and jumps to fail when not.
func compare(c arg) (func(a *asm, fail string), error) {
	lo, hi := offArgs+8*uint32(c.Index), offArgs+8*uint32(c.Index)+4
	v1lo, v1hi := uint32(c.Value), uint32(c.Value>>32)
	v2lo, v2hi := uint32(c.ValueTwo), uint32(c.ValueTwo>>32)
	switch c.Op {
	case "SCMP_CMP_EQ":
		return func(a *asm, fail string) {
			a.load(hi)
			a.jumpIf(bpf.JumpEqual, v1hi, "", fail)
			a.load(lo)
			a.jumpIf(bpf.JumpEqual, v1lo, "", fail)
		}, nil
	case "SCMP_CMP_NE":
		return func(a *asm, fail string) {
			ok := a.fresh()
			a.load(hi)
			a.jumpIf(bpf.JumpEqual, v1hi, "", ok)
			a.load(lo)
			a.jumpIf(bpf.JumpEqual, v1lo, fail, "")
			a.label(ok)
		}, nil
	case "SCMP_CMP_MASKED_EQ": // (arg & Value) == ValueTwo
		return func(a *asm, fail string) {
			a.load(hi)
			a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: v1hi})
			a.jumpIf(bpf.JumpEqual, v2hi, "", fail)
			a.load(lo)
			a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: v1lo})
			a.jumpIf(bpf.JumpEqual, v2lo, "", fail)
		}, nil
	case "SCMP_CMP_GT", "SCMP_CMP_GE":
		low := bpf.JumpGreaterThan
		if c.Op == "SCMP_CMP_GE" {
			low = bpf.JumpGreaterOrEqual
		}
		return func(a *asm, fail string) {
			ok := a.fresh()
			a.load(hi)
			a.jumpIf(bpf.JumpGreaterThan, v1hi, ok, "")
			a.jumpIf(bpf.JumpEqual, v1hi, "", fail)
			a.load(lo)
			a.jumpIf(low, v1lo, "", fail)
			a.label(ok)
		}, nil
	case "SCMP_CMP_LT", "SCMP_CMP_LE":
		low := bpf.JumpGreaterOrEqual // lo >= v fails LT
		if c.Op == "SCMP_CMP_LE" {
			low = bpf.JumpGreaterThan
		}
		return func(a *asm, fail string) {
			ok := a.fresh()
			a.load(hi)
			a.jumpIf(bpf.JumpGreaterThan, v1hi, fail, "")
			a.jumpIf(bpf.JumpEqual, v1hi, "", ok)
			a.load(lo)
			a.jumpIf(low, v1lo, fail, "")
			a.label(ok)
		}, nil
	}
	return nil, fmt.Errorf("comparison %q: podrun compiles SCMP_CMP_EQ, NE, MASKED_EQ, GT, GE, LT and LE", c.Op)
}
