package runnertest

import (
	"context"
	"errors"
	"testing"

	"github.com/podrun/podrun/runner"
)

func TestFakeContract(t *testing.T) {
	fake := &Fake{}
	RunSandboxContract(t, func(*testing.T) runner.Sandbox { return fake }, map[string]string{"podrun.instance": "fake"})
	if left := fake.Containers(); len(left) != 0 {
		t.Errorf("%d containers left behind", len(left))
	}
}

func TestFakeHooks(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	fake := &Fake{}
	fake.Set(func(f *Fake) { f.FailCreate = boom })
	if _, err := fake.Create(ctx, Spec(nil, "true")); !errors.Is(err, boom) {
		t.Errorf("Create with FailCreate = %v, want boom", err)
	}
	fake.Set(func(f *Fake) { f.FailCreate, f.FailStart = nil, boom })
	id := Create(t, fake, Spec(nil, "true"))
	if err := fake.Start(ctx, id); !errors.Is(err, boom) {
		t.Errorf("Start with FailStart = %v, want boom", err)
	}
	if n := len(fake.Containers()); n != 0 {
		t.Errorf("a failed Start left %d containers", n)
	}
	fake.Set(func(f *Fake) { f.FailStart = nil })
	out := Run(t, fake, Spec(nil, "oom"), nil)
	if out.Exit.Code != 137 || !out.Exit.OOMKilled {
		t.Errorf("oom = %+v, want 137 with OOMKilled (the kernel's count, as the sandbox reads it)", out.Exit)
	}
	out = Run(t, fake, Spec(nil, "nosuch"), nil)
	if out.Exit.Code != 127 || out.Stderr != "sh: nosuch: not found\n" {
		t.Errorf("unknown program = %+v", out)
	}
	out = Run(t, fake, Spec(nil, "sh", "-c", "echo 'a  b'; false"), nil)
	if out.Exit.Code != 1 || out.Stdout != "a  b\n" {
		t.Errorf("quoted echo; false = %+v", out)
	}
	want := runner.Host{Version: "5.0", CgroupVersion: "v1"}
	fake.Set(func(f *Fake) { f.HostInfo = want })
	if h, _ := fake.Probe(ctx); h.Version != want.Version {
		t.Errorf("Probe = %+v, want %+v", h, want)
	}
}
