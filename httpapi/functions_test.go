package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestFunctionCRUD(t *testing.T) {
	h := newHarness(t, Options{})
	body := `{"image":"busybox","command":["cat"],"timeout":"10s","warm":1,"max_output":"1Mi"}`

	rec := h.do(t, http.MethodPut, "/v1/functions/echo", body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("first PUT = %d, want 201; body %s", rec.Code, rec.Body)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/functions/echo" {
		t.Errorf("Location = %q", loc)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["name"] != "echo" || got["timeout"] != "10s" || got["warm"] != float64(1) || got["max_output"] != float64(1<<20) {
		t.Errorf("function = %v", got)
	}

	if rec := h.do(t, http.MethodPut, "/v1/functions/echo", body); rec.Code != http.StatusOK {
		t.Errorf("second PUT = %d, want 200 (replaced); body %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, http.MethodGet, "/v1/functions/echo", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"echo"`) {
		t.Errorf("GET = %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, http.MethodGet, "/v1/functions", "")
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), `{"functions":[{"name":"echo"`) {
		t.Errorf("list = %d %s", rec.Code, rec.Body)
	}

	rec = h.do(t, http.MethodDelete, "/v1/functions/echo", "")
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Errorf("DELETE = %d %q, want 204 and no body", rec.Code, rec.Body)
	}
	if rec := h.do(t, http.MethodGet, "/v1/functions/echo", ""); rec.Code != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d, want 404", rec.Code)
	}
	if rec := h.do(t, http.MethodDelete, "/v1/functions/echo", ""); rec.Code != http.StatusNotFound {
		t.Errorf("second DELETE = %d, want 404", rec.Code)
	}
	if got, want := h.do(t, http.MethodGet, "/v1/functions", "").Body.String(), "{\"functions\":[]}\n"; got != want {
		t.Errorf("empty list = %q, want %q", got, want)
	}
}

func TestPutFunctionInvalid(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		body, field string
	}{
		{`{"image":"busybox","warm":99}`, "warm"},
		{`{"image":"busybox","timeout":"1h"}`, "timeout"},
		{`{"image":"busybox","nope":1}`, "nope"},
		// Every size names the field it came in, whatever is wrong with it.
		{`{"image":"busybox","max_output":"lots"}`, "max_output"},
		{`{"image":"busybox","max_output":1.5}`, "max_output"},
		{`{"image":"busybox","max_output":true}`, "max_output"},
		{`{"image":"busybox","max_output":0}`, "max_output"},
		{`{"image":"busybox","limits":{"memory":"lots"}}`, "limits.memory"},
		{`{"image":"busybox","limits":{"memory":[1]}}`, "limits.memory"},
	}
	for _, tt := range tests {
		rec := h.do(t, http.MethodPut, "/v1/functions/f", tt.body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status = %d, want 400", tt.body, rec.Code)
			continue
		}
		if got := apiErrorOf(t, rec); got.Field != tt.field {
			t.Errorf("%s: field = %q, want %q", tt.body, got.Field, tt.field)
		}
	}
}

func TestBadFunctionNames(t *testing.T) {
	h := newHarness(t, Options{})
	names := []string{"UPPER", "-x", "x-", "a_b", strings.Repeat("a", 64)}
	for _, name := range names {
		for _, route := range []struct{ method, path string }{
			{http.MethodPut, "/v1/functions/" + name},
			{http.MethodGet, "/v1/functions/" + name},
			{http.MethodDelete, "/v1/functions/" + name},
			{http.MethodPost, "/v1/functions/" + name + "/invoke"},
			{http.MethodGet, "/function/" + name},
			{http.MethodPost, "/function/" + name + "/a/b"},
			{http.MethodPost, "/async-function/" + name},
		} {
			rec := h.do(t, route.method, route.path, `{"image":"busybox"}`)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s %s: status = %d, want 400", route.method, route.path, rec.Code)
				continue
			}
			if got := apiErrorOf(t, rec); got.Field != "name" {
				t.Errorf("%s %s: field = %q, want name", route.method, route.path, got.Field)
			}
		}
	}
	for _, m := range []string{"PutFunction", "Function", "DeleteFunction", "Invoke"} {
		if n := h.fake.called(m); n != 0 {
			t.Errorf("%s called %d times for bad names", m, n)
		}
	}
	// The longest valid name still passes.
	if rec := h.do(t, http.MethodPut, "/v1/functions/"+strings.Repeat("a", 63), `{"image":"busybox"}`); rec.Code != http.StatusCreated {
		t.Errorf("63-character name: status = %d, want 201; body %s", rec.Code, rec.Body)
	}
}
