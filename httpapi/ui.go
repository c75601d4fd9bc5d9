package httpapi

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/podrun/podrun/api"
)

// uiFiles is the web dashboard: static HTML, CSS and JavaScript written by
// hand, so a fresh checkout needs no JavaScript build step.
//
//go:embed ui
var uiFiles embed.FS

// uiHeaders keep the dashboard's own files the only code it runs and let no other site frame it.
var uiHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	"Cache-Control":          "no-cache",
}

// serveUI serves GET /ui (the page) and GET /ui/{file} (its scripts and styles). The files
// hold no data and so need no token; the page asks for one and sends it with every API call.
func (s *Server) serveUI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(httprouter.ParamsFromContext(r.Context()).ByName("file"), "/")
	if name == "" {
		name = "index.html"
	}
	body, err := fs.ReadFile(uiFiles, path.Join("ui", path.Clean("/"+name)))
	if err != nil {
		writeError(w, r, apiErr(http.StatusNotFound, api.CodeNotFound, "no such file of the dashboard"))
		return
	}
	h := w.Header()
	for k, v := range uiHeaders {
		h.Set(k, v)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	_, _ = w.Write(body)
}
