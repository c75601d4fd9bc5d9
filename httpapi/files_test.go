package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

func TestFileRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.fake.add()
	base := "/v1/agents/" + id + "/files?path="
	rec := h.doRaw(t, http.MethodPut, base+"/tmp/a/x.txt&mode=0600", "hello", "Content-Type", "application/octet-stream")
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	var e api.FileEntry
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Name != "x.txt" || e.Size != 5 {
		t.Errorf("PUT answered %+v, %v", e, err)
	}
	rec = h.doRaw(t, http.MethodGet, base+"/tmp/a/x.txt", "")
	if rec.Code != http.StatusOK || rec.Body.String() != "hello" || rec.Header().Get("Content-Length") != "5" || rec.Header().Get(api.HeaderFileMode) != "0644" {
		t.Errorf("GET file = %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	rec = h.doRaw(t, http.MethodGet, base+"/tmp/a/", "")
	var list api.FileList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK || list.Path != "/tmp/a" || len(list.Entries) != 1 || list.Entries[0].Name != "x.txt" {
		t.Errorf("GET dir = %d %s", rec.Code, rec.Body)
	}
	if rec = h.doRaw(t, http.MethodDelete, base+"/tmp/a/x.txt", ""); rec.Code != http.StatusNoContent {
		t.Errorf("DELETE = %d %s", rec.Code, rec.Body)
	}
	if rec = h.doRaw(t, http.MethodGet, base+"/tmp/a/x.txt", ""); rec.Code != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d %s", rec.Code, rec.Body)
	}
}

func TestFileRouteErrors(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.fake.add()
	base := "/v1/agents/" + id + "/files"
	tests := []struct {
		name, method, target, body, contentType string
		inject                                  error
		status                                  int
		field                                   string
	}{
		{"no path", http.MethodGet, base, "", "", nil, 400, "path"},
		{"relative path", http.MethodPut, base + "?path=tmp/x", "x", "", nil, 400, "path"},
		{"bad format", http.MethodGet, base + "?path=/tmp&format=zip", "", "", nil, 400, "format"},
		{"mode with tar", http.MethodPost, base + "?path=/tmp&mode=0644", "x", api.ContentTypeTar, nil, 400, "mode"},
		{"tar without its type", http.MethodPost, base + "?path=/tmp", "x", "application/octet-stream", nil, 415, ""},
		{"too large", http.MethodPut, base + "?path=/tmp/x", strings.Repeat("x", fakeMaxUpload+1), "", nil, 413, ""},
		{"full", http.MethodPut, base + "?path=/tmp/x", "x", "", runner.ErrNoSpace, 507, ""},
		{"read-only", http.MethodPut, base + "?path=/etc/x", "x", "", runner.ErrForbidden, 403, ""},
		{"not running", http.MethodGet, base + "?path=/tmp", "", "", runner.ErrConflict, 409, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := map[string]string{http.MethodPut: "WriteFile", http.MethodPost: "WriteFile", http.MethodGet: "ReadFile"}[tt.method]
			h.fake.mu.Lock()
			h.fake.errs[method] = tt.inject
			h.fake.mu.Unlock()
			rec := h.doRaw(t, tt.method, tt.target, tt.body, "Content-Type", tt.contentType)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if e := apiErrorOf(t, rec); e.Field != tt.field {
				t.Errorf("field = %q, want %q", e.Field, tt.field)
			}
		})
	}
}
