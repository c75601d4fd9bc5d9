package sqlite

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/runner"
)

// testFunction returns a function with every field set, created and updated at t0.
func testFunction(name string, edits ...func(*runner.Function)) runner.Function {
	f := runner.Function{
		Name:           name,
		Image:          "localhost/podrun/busybox:latest",
		Command:        []string{"sh", "-c", "cat"},
		Env:            map[string]string{"A": "1", "B": "two words"},
		Limits:         runner.Limits{Memory: 128 << 20, CPUs: 1.5, PIDs: 32},
		Timeout:        30*time.Second + time.Nanosecond, // odd nanoseconds catch a lossy conversion
		Warm:           2,
		MaxConcurrency: 8,
		MaxOutput:      6 << 20,
		Labels:         map[string]string{"com.openfaas.scale.min": "1"},
		Annotations:    map[string]string{"topic": "a b"},
		Secrets:        []string{"api-key", "db.password"},
		EnvProcess:     "sh -c cat",
		Requests:       runner.Limits{Memory: 64 << 20, CPUs: 0.25},
		Isolation:      runner.IsolationGVisor,
		Egress:         []string{"api.example.com:443", "*.example.org", "10.1.2.0/24:5432"},
		CreatedAt:      t0,
		UpdatedAt:      t0,
	}
	for _, edit := range edits {
		edit(&f)
	}
	return f
}

func mustPutFunction(t *testing.T, s *Store, f runner.Function, wantCreated bool) {
	t.Helper()
	created, err := s.PutFunction(context.Background(), f)
	if err != nil {
		t.Fatalf("PutFunction %s: %v", f.Name, err)
	}
	if created != wantCreated {
		t.Fatalf("PutFunction %s: created = %v, want %v", f.Name, created, wantCreated)
	}
}

func mustFunction(t *testing.T, s *Store, name string) runner.Function {
	t.Helper()
	f, err := s.Function(context.Background(), name)
	if err != nil {
		t.Fatalf("Function %s: %v", name, err)
	}
	return f
}

func TestFunctionRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   runner.Function
		want func(runner.Function) runner.Function
	}{
		{"every field", testFunction("every"), func(f runner.Function) runner.Function { return f }},
		{
			name: "nil collections come back empty",
			in:   testFunction("empty", func(f *runner.Function) { f.Command, f.Env = nil, nil }),
			want: func(f runner.Function) runner.Function {
				f.Command, f.Env = []string{}, map[string]string{}
				return f
			},
		},
		{
			name: "local times come back in UTC",
			in: testFunction("local", func(f *runner.Function) {
				zone := time.FixedZone("X", -7200)
				f.CreatedAt, f.UpdatedAt = f.CreatedAt.In(zone), f.UpdatedAt.Add(time.Second).In(zone)
			}),
			want: func(f runner.Function) runner.Function {
				f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
				return f
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			mustPutFunction(t, s, tt.in, true)
			got, want := mustFunction(t, s, tt.in.Name), tt.want(tt.in)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestPutFunctionReplaceKeepsCreatedAt(t *testing.T) {
	s := newStore(t)
	mustPutFunction(t, s, testFunction("fn"), true)
	later := t0.Add(time.Hour)
	replacement := testFunction("fn", func(f *runner.Function) {
		f.Image = "localhost/podrun/other:1"
		f.Command, f.Env = []string{"true"}, map[string]string{"C": "3"}
		f.Limits = runner.Limits{Memory: 1 << 30, CPUs: 0.25, PIDs: 5}
		f.Timeout, f.Warm, f.MaxConcurrency, f.MaxOutput = time.Minute, 0, 1, 1024
		f.CreatedAt, f.UpdatedAt = later, later // CreatedAt must be ignored on replace
	})
	mustPutFunction(t, s, replacement, false)

	got, want := mustFunction(t, s, "fn"), replacement
	want.CreatedAt = t0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after replace got  %+v\nwant %+v", got, want)
	}
	functions, err := s.Functions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(functions) != 1 {
		t.Errorf("replace left %d functions, want 1", len(functions))
	}
}

func TestPutFunctionRequiresName(t *testing.T) {
	_, err := newStore(t).PutFunction(context.Background(), testFunction(""))
	wantErr(t, err, runner.ErrInvalid)
}

func TestFunctionsOrderedByName(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	functions, err := s.Functions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if functions == nil || len(functions) != 0 {
		t.Fatalf("empty store: Functions = %#v, want an empty, non-nil slice", functions)
	}
	for _, name := range []string{"b", "a-1", "c", "a"} {
		mustPutFunction(t, s, testFunction(name), true)
	}
	functions, err = s.Functions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range functions {
		got = append(got, f.Name)
	}
	if want := []string{"a", "a-1", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Functions = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(functions[0], testFunction("a")) {
		t.Errorf("Functions[0] = %+v, want every field of %+v", functions[0], testFunction("a"))
	}
}

func TestDeleteFunction(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	wantErr(t, s.DeleteFunction(ctx, "none"), runner.ErrNotFound)

	mustPutFunction(t, s, testFunction("fn"), true)
	mustPutFunction(t, s, testFunction("other"), true)
	a := mustCreate(t, s, testAgent(1, func(a *runner.Agent) { a.Function = "fn" }))
	if err := s.DeleteFunction(ctx, "fn"); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err := s.Function(ctx, "fn")
	wantErr(t, err, runner.ErrNotFound)
	wantErr(t, s.DeleteFunction(ctx, "fn"), runner.ErrNotFound)
	mustFunction(t, s, "other")
	if got := mustAgent(t, s, a.ID); got.Function != "fn" {
		t.Errorf("agent of the deleted function: Function = %q, want fn", got.Function)
	}
	// Putting the name again is a new function, with a new creation time.
	mustPutFunction(t, s, testFunction("fn", func(f *runner.Function) { f.CreatedAt = t0.Add(time.Hour) }), true)
	if got := mustFunction(t, s, "fn"); !got.CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("recreated function: CreatedAt = %v, want %v", got.CreatedAt, t0.Add(time.Hour))
	}
}
