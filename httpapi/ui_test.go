package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDashboardFilesAreServedWithoutTokenAndConfined(t *testing.T) {
	h := newHarness(t, Options{Token: "secret"})
	for _, tc := range []struct {
		target, contentType, contains string
	}{
		{"/ui", "text/html; charset=utf-8", `<script src="/ui/app.js"`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "text/event-stream"},
		{"/ui/style.css", "text/css; charset=utf-8", "tr.alert"},
	} {
		rec := h.do(t, http.MethodGet, tc.target, "")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != tc.contentType || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s = %d %s, want %s holding %q", tc.target, rec.Code, rec.Header().Get("Content-Type"), tc.contentType, tc.contains)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: CSP %q, X-Frame-Options %q", tc.target, csp, rec.Header().Get("X-Frame-Options"))
		}
	}
	for _, target := range []string{"/ui/nope.js", "/ui/../ui.go", "/ui/%2e%2e/ui.go", "/ui/ui/index.html"} {
		if rec := h.do(t, http.MethodGet, target, ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", target, rec.Code)
		}
	}
	// /ui/ is the page too (outside openapi.json, whose path parameters cannot be empty).
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<table id="agents">`) {
		t.Errorf("GET /ui/ = %d", rec.Code)
	}
	// The data the page shows still needs the token.
	if rec := h.do(t, http.MethodGet, "/v1/events", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /v1/events without the token = %d", rec.Code)
	}
}
