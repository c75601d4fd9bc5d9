package runner_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

func TestFunctionSecretsAreMountedInEveryContainer(t *testing.T) {
	h := newHarness(t, withFunctions)
	ctx := context.Background()
	// A function may not name a secret the store lacks.
	_, _, err := h.r.PutFunction(ctx, "fn", runner.FunctionRequest{Image: "localhost/podrun/busybox:latest", Secrets: []string{"api-key"}})
	var fe *runner.FieldError
	if !errors.As(err, &fe) || fe.Field != "secrets[0]" {
		t.Fatalf("put with a missing secret = %v, want a FieldError on secrets[0]", err)
	}
	if err := h.r.PutSecret(ctx, "api-key", []byte("v1"), false); err != nil {
		t.Fatal(err)
	}
	if err := h.r.PutSecret(ctx, "api-key", []byte("v1"), false); !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("second create = %v, want ErrConflict", err)
	}
	warm := 1
	h.putFunction(t, "fn", runner.FunctionRequest{Command: []string{"cat"}, Secrets: []string{"api-key"}, Warm: &warm})
	h.putFunction(t, "plain", runner.FunctionRequest{Command: []string{"cat"}})
	res, _ := h.invoke(t, ctx, "fn", "", nil)
	if got := h.fake.ContainerSecrets(res.Agent.ContainerID); !slices.Equal(got, []string{"api-key"}) {
		t.Fatalf("%s container mounts %v", res.Agent.Start, got)
	}
	scale := 0
	h.putFunction(t, "fn", runner.FunctionRequest{Command: []string{"cat"}, Secrets: []string{"api-key"}, Warm: &scale})
	res, _ = h.invoke(t, ctx, "fn", "", nil)
	if res.Agent.Start != runner.StartCold || !slices.Equal(h.fake.ContainerSecrets(res.Agent.ContainerID), []string{"api-key"}) {
		t.Fatalf("cold container mounts %v", h.fake.ContainerSecrets(res.Agent.ContainerID))
	}
	res, _ = h.invoke(t, ctx, "plain", "", nil)
	if got := h.fake.ContainerSecrets(res.Agent.ContainerID); len(got) != 0 {
		t.Fatalf("a function naming no secret mounts %v", got)
	}
	if err := h.r.DeleteSecret(ctx, "api-key"); !errors.Is(err, runner.ErrConflict) {
		t.Fatalf("delete of a secret in use = %v, want ErrConflict", err)
	}
	if err := h.r.DeleteFunction(ctx, "fn"); err != nil {
		t.Fatal(err)
	}
	if err := h.r.DeleteSecret(ctx, "api-key"); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.r.Secrets(ctx); len(got) != 0 {
		t.Fatalf("secrets after delete = %v", got)
	}
}

func TestScaleFunctionFillsThePoolUpToMaxWarm(t *testing.T) {
	h := newHarness(t, withFunctions)
	ctx := context.Background()
	h.putFunction(t, "fn", runner.FunctionRequest{Command: []string{"cat"}})
	f, err := h.r.ScaleFunction(ctx, "fn", 2)
	if err != nil || f.Warm != 2 {
		t.Fatalf("scale to 2 = %d, %v", f.Warm, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.r.WarmReady("fn") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("pool holds %d, want 2", h.r.WarmReady("fn"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if stored, _ := h.r.Function(ctx, "fn"); stored.Warm != 2 {
		t.Fatalf("stored warm = %d", stored.Warm)
	}
	if f, err = h.r.ScaleFunction(ctx, "fn", 1000); err != nil || f.Warm != h.cfg.FunctionPolicy.MaxWarm {
		t.Fatalf("scale to 1000 = %d, %v; want the cap %d", f.Warm, err, h.cfg.FunctionPolicy.MaxWarm)
	}
	if _, err = h.r.ScaleFunction(ctx, "nope", 1); !errors.Is(err, runner.ErrNotFound) {
		t.Fatalf("scale of an unknown function = %v", err)
	}
	if f, err = h.r.ScaleFunction(ctx, "fn", 0); err != nil || f.Warm != 0 {
		t.Fatalf("scale to 0 = %d, %v", f.Warm, err)
	}
}
