package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/podrun/podrun/api"
)

// openAPIDocument is the OpenAPI 3.1 description of the whole API, written by hand next to the
// handlers. Tests keep it honest: every route of routeTable is in it and nothing else, and every
// request and answer the handler tests make validates against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// serveOpenAPI answers GET /openapi.json, which needs no token: the document holds no data.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", api.ContentTypeJSON)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
}
