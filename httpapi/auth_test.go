package httpapi

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

const testToken = "s3cr3t-t0ken-value"

func TestAuth(t *testing.T) {
	h := newHarness(t, Options{Token: testToken})
	id := h.fake.add()
	tests := []struct {
		name, method, path, auth string
		status                   int
	}{
		{"no header", http.MethodGet, "/v1/agents/" + id, "", 401},
		{"wrong token", http.MethodGet, "/v1/agents/" + id, "Bearer nope", 401},
		{"token prefix", http.MethodGet, "/v1/agents/" + id, "Bearer " + testToken[:5], 401},
		{"token with suffix", http.MethodGet, "/v1/agents/" + id, "Bearer " + testToken + "x", 401},
		{"basic scheme", http.MethodGet, "/v1/agents/" + id, "Basic " + testToken, 401},
		{"bare token", http.MethodGet, "/v1/agents/" + id, testToken, 401},
		{"no token on create", http.MethodPost, "/v1/agents", "", 401},
		{"unknown v1 route", http.MethodGet, "/v1/secret-route", "", 401},
		{"wrong method on v1", http.MethodPut, "/v1/agents", "", 401},
		{"basic, wrong user", http.MethodGet, "/v1/agents/" + id, basic("root", testToken), 401},
		{"basic, wrong password", http.MethodGet, "/v1/agents/" + id, basic("admin", testToken+"x"), 401},
		{"basic, empty password", http.MethodGet, "/v1/agents/" + id, basic("admin", ""), 401},
		{"system needs a token", http.MethodGet, "/system/functions", "", 401},
		{"basic, admin and token", http.MethodGet, "/v1/agents/" + id, basic("admin", testToken), 200},
		{"basic on system routes", http.MethodGet, "/system/functions", basic("admin", testToken), 200},
		{"bearer on system routes", http.MethodGet, "/system/info", "Bearer " + testToken, 200},
		{"right token", http.MethodGet, "/v1/agents/" + id, "Bearer " + testToken, 200},
		{"scheme is case-insensitive", http.MethodGet, "/v1/agents/" + id, "bearer " + testToken, 200},
		{"right token, unknown route", http.MethodGet, "/v1/secret-route", "Bearer " + testToken, 404},
		{"healthz is open", http.MethodGet, "/healthz", "", 200},
		{"readyz is open", http.MethodGet, "/readyz", "", 200},
		{"metrics are open", http.MethodGet, "/metrics", "", 200},
		{"unknown non-v1 route", http.MethodGet, "/nope", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == http.MethodPost {
				body = `{"image":"busybox"}`
			}
			rec := h.do(t, tt.method, tt.path, body, "Authorization", tt.auth)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 401 {
				if got := apiErrorOf(t, rec); got.Code != "unauthorized" {
					t.Errorf("code = %q, want unauthorized", got.Code)
				}
				// Bearer only: a Basic challenge opens a browser's login dialog over the dashboard.
				if got := rec.Header().Values("WWW-Authenticate"); len(got) != 1 || !strings.HasPrefix(got[0], "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want one Bearer challenge", got)
				}
			}
		})
	}
	if n := h.fake.called("CreateAgent"); n != 0 {
		t.Errorf("CreateAgent called %d times without a token", n)
	}
	if logs := h.logs.String(); strings.Contains(logs, testToken[:8]) || strings.Contains(logs, "Authorization") {
		t.Errorf("logs mention the token or the Authorization header:\n%s", logs)
	}
	if !strings.Contains(h.logs.String(), `"status":401`) {
		t.Errorf("401s are not in the access log:\n%s", h.logs)
	}
}

// basic is an Authorization header for Basic auth, as faas-cli login sends it.
func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestBasicAuthUserIsConfigurable(t *testing.T) {
	h := newHarness(t, Options{Token: testToken, BasicAuthUser: "faas"})
	for auth, want := range map[string]int{basic("faas", testToken): 200, basic("admin", testToken): 401} {
		if rec := h.do(t, http.MethodGet, "/v1/agents", "", "Authorization", auth); rec.Code != want {
			t.Errorf("%s: status %d, want %d", auth, rec.Code, want)
		}
	}
}

// TestPublicFunctionsOpenOnlyTheGatewayInvocations: with PublicFunctions, /function and
// /async-function answer without the token; podrun's own invoke route and the provider API
// still demand it.
func TestPublicFunctionsOpenOnlyTheGatewayInvocations(t *testing.T) {
	for _, public := range []bool{false, true} {
		h := newHarness(t, Options{Token: testToken, PublicFunctions: public})
		for path, open := range map[string]bool{
			"/function/echo": public, "/function/echo.openfaas-fn": public, "/async-function/echo": public,
			"/v1/functions/echo/invoke": false, "/system/functions": false, "/v1/agents": false,
		} {
			method := http.MethodPost
			if path == "/system/functions" || path == "/v1/agents" {
				method = http.MethodGet
			}
			rec := h.do(t, method, path, "")
			if got := rec.Code != http.StatusUnauthorized; got != open {
				t.Errorf("public_functions=%v: %s %s answered %d without a token; open = %v, want %v", public, method, path, rec.Code, got, open)
			}
		}
	}
}

func TestNoTokenMeansOpen(t *testing.T) {
	h := newHarness(t, Options{})
	if rec := h.do(t, http.MethodGet, "/v1/agents", ""); rec.Code != 200 {
		t.Errorf("status = %d, want 200 with no token configured", rec.Code)
	}
}
