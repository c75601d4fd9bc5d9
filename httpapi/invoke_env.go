package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// invocationEnv maps the request's metadata to the variables OpenFaaS's classic
// watchdog gives a function, so functions written for it run unchanged:
//
//	Http_Method          the request method
//	Http_Path            on /function and /async-function routes the path below the
//	                     function's name ("/" when there is none); "/" on /v1/functions/:name/invoke
//	Http_Query           the raw query string without '?'; absent when there is none
//	Http_Content_Length  the body's length, when the client declared one
//	Http_<Header>        one per request header: Go's canonical name with '-' turned
//	                     into '_' (X-Request-Id gives Http_X_Request_Id, Content-Type
//	                     gives Http_Content_Type); several values are joined with ", "
//
// Authorization is left out when podrun has a token, because then it carries
// podrun's secret rather than the function's; Cookie and every other header pass.
// Headers whose name would not make a portable variable name (letters, digits,
// '_') are left out. The fixed variables are set last, so a header named
// "Method" or "Path" cannot forge them.
//
// A value that is not valid UTF-8 (HTTP lets header values, and Go lets the
// path and query, carry any byte) is refused with a FieldError naming it
// ("headers.X-Name", "path", "query"): the shim's header is JSON, which would
// change it silently.
func (s *Server) invocationEnv(r *http.Request, path string) (map[string]string, error) {
	env := make(map[string]string, len(r.Header)+4)
	for name, values := range r.Header {
		if s.hasToken && name == "Authorization" {
			continue
		}
		key := "Http_" + strings.ReplaceAll(name, "-", "_")
		if !portableEnvName(key) {
			continue
		}
		v := strings.Join(values, ", ")
		if !utf8.ValidString(v) {
			return nil, &runner.FieldError{Field: "headers." + name, Message: "must be valid UTF-8"}
		}
		env[key] = v
	}
	if !utf8.ValidString(path) {
		return nil, &runner.FieldError{Field: "path", Message: "must be valid UTF-8 once unescaped"}
	}
	if !utf8.ValidString(r.URL.RawQuery) {
		return nil, &runner.FieldError{Field: "query", Message: "must be valid UTF-8"}
	}
	env["Http_Method"] = r.Method
	env["Http_Path"] = path
	delete(env, "Http_Query")
	if r.URL.RawQuery != "" {
		env["Http_Query"] = r.URL.RawQuery
	}
	delete(env, "Http_Content_Length")
	if r.ContentLength >= 0 {
		env["Http_Content_Length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	return env, nil
}

// portableEnvName reports whether name uses only letters, digits and '_', which every shell accepts.
func portableEnvName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '_' && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') {
			return false
		}
	}
	return name != ""
}

// callbackHeader names the header an asynchronous caller puts its callback URL in, as OpenFaaS does.
const callbackHeader = api.HeaderCallbackURL

// callbackURL returns the request's callback URL, "" when it names none.
func callbackURL(r *http.Request) (string, error) {
	raw := r.Header.Get(callbackHeader)
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", &runner.FieldError{Field: callbackHeader, Message: "must be an absolute http or https URL"}
	}
	return u.String(), nil
}

// prefersAsync reports whether the client asked for a 202 with Prefer: respond-async (RFC 7240).
func prefersAsync(r *http.Request) bool {
	for _, v := range r.Header.Values(api.HeaderPrefer) {
		for pref := range strings.SplitSeq(v, ",") {
			token, _, _ := strings.Cut(pref, ";")
			if strings.EqualFold(strings.TrimSpace(token), api.PreferAsync) {
				return true
			}
		}
	}
	return false
}
