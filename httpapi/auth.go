package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/podrun/podrun/api"
)

// Only /v1, /system, /function and /async-function are guarded (the last two run code): /healthz, /readyz and /metrics stay open because
// orchestrator probes and Prometheus scrapers rarely carry bearer tokens, and
// they expose no agent data (counts per state at most).

// requireToken rejects requests without the configured bearer token; with no token configured it lets everything through.
func (s *Server) requireToken(next http.Handler) http.Handler {
	if !s.hasToken {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			// Bearer only: a Basic challenge makes browsers open their own login dialog over
			// the dashboard's fetch calls. Basic clients (faas-cli) send their credentials unasked.
			w.Header().Set("WWW-Authenticate", `Bearer realm="podrun"`)
			writeError(w, r, apiErr(http.StatusUnauthorized, api.CodeUnauthorized, "a valid bearer token (or Basic auth with the token as password) is required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// protectGuarded applies requireToken to guarded paths only; it guards the router's fallback handlers.
func (s *Server) protectGuarded(next http.Handler) http.Handler {
	guarded := s.requireToken(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isGuarded(r.URL.Path) {
			guarded.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorized compares hashes rather than the tokens themselves so the time
// taken reveals neither the content nor the length of the token.
// Basic auth (what faas-cli login sends) is accepted with the configured
// user name and the token as password.
func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return false
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		token = strings.TrimSpace(token)
	case strings.EqualFold(scheme, "Basic"):
		user, password, ok := r.BasicAuth()
		if !ok {
			return false
		}
		userSum := sha256.Sum256([]byte(user))
		// Both comparisons always run, so the time taken says nothing of which failed.
		userOK := subtle.ConstantTimeCompare(userSum[:], s.basicUserSum[:])
		sum := sha256.Sum256([]byte(password))
		return userOK&subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
	default:
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}
