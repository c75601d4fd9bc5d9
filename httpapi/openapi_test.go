package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/julienschmidt/httprouter"

	"github.com/podrun/podrun/api"
)

// The OpenAPI document (openapi.json) is checked three ways: it is a valid OpenAPI 3.1 document;
// its paths and methods are exactly the routes of routeTable; and every request and answer the
// handler tests make through newHarness is validated against it (recordExchanges), so a handler
// that answers a status, a header or a shape the document does not describe fails its own test.
//
// kin-openapi loads OpenAPI 3.1 documents and, for them, openapi3filter validates bodies and
// parameters with a JSON Schema 2020-12 validator (type arrays such as ["integer","null"],
// const, and the keywords next to a $ref all apply).

var openAPI struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

// openAPIDoc loads and validates the embedded document once per test binary.
func openAPIDoc(t testing.TB) *openapi3.T {
	t.Helper()
	openAPI.once.Do(func() {
		// NDJSON: each line of a logs answer is validated on its own as one JSON value.
		openapi3filter.RegisterBodyDecoder(api.ContentTypeNDJSON, openapi3filter.JSONBodyDecoder)
		// The dashboard's files and the event stream are text the schema only says is a string.
		for _, ct := range []string{"text/html", "text/css", "text/javascript", api.MediaEventStream} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(openAPIDocument)
		if err != nil {
			openAPI.err = fmt.Errorf("load openapi.json: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			openAPI.err = fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		openAPI.doc = doc
	})
	if openAPI.err != nil {
		t.Fatal(openAPI.err)
	}
	return openAPI.doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := openAPIDoc(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
}

// openAPIPath turns an httprouter pattern into an OpenAPI path: /v1/agents/:id into
// /v1/agents/{id}, and the catch-all /function/:name/*path into /function/{name}/{path}.
func openAPIPath(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// TestOpenAPICoversEveryRoute: every route the router serves is a path and method of the
// document, and the document describes no other.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := openAPIDoc(t)
	served := map[string]bool{}
	for _, rt := range newServer(t, newFake(), Options{}).routeTable() {
		served[rt.method+" "+openAPIPath(rt.pattern)] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, r := range slices.Sorted(maps.Keys(served)) {
		if !documented[r] {
			t.Errorf("%s is served but not in openapi.json", r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(documented)) {
		if !served[r] {
			t.Errorf("%s is in openapi.json but not served", r)
		}
	}
	if len(served) < 40 {
		t.Errorf("only %d routes served; the route table is not what this test thinks", len(served))
	}
	// What the middleware adds to every route is in every operation: 500 (a panic), 400 (a query
	// that is not UTF-8, on routes that read their query), and on guarded routes the token: the
	// bearer scheme and 401; open routes need none.
	for _, rt := range newServer(t, newFake(), Options{}).routeTable() {
		path := openAPIPath(rt.pattern)
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(rt.method) == nil {
			continue // reported above
		}
		op := item.GetOperation(rt.method)
		name := rt.method + " " + path
		if op.Responses.Status(http.StatusInternalServerError) == nil || op.Responses.Status(http.StatusBadRequest) == nil {
			t.Errorf("%s does not document 400 and 500", name)
		}
		guarded := op.Responses.Status(http.StatusUnauthorized) != nil && (op.Security == nil || len(*op.Security) > 0)
		open := op.Responses.Status(http.StatusUnauthorized) == nil && op.Security != nil && len(*op.Security) == 0
		if isGuarded(rt.pattern) && !guarded || !isGuarded(rt.pattern) && !open {
			t.Errorf("%s: guarded %v, but 401 documented %v and security %v", name, isGuarded(rt.pattern),
				op.Responses.Status(http.StatusUnauthorized) != nil, op.Security)
		}
	}
}

func TestOpenAPIServedWithoutToken(t *testing.T) {
	h := newHarness(t, Options{Token: testToken})
	rec := h.do(t, http.MethodGet, "/openapi.json", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != api.ContentTypeJSON || !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Errorf("GET /openapi.json = %d %q, %d bytes; want 200 and the document", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
}

// exchange is one request and its answer, as a client saw them.
type exchange struct {
	method, target string
	reqHeader      http.Header
	reqBody        []byte
	status         int
	header         http.Header // at the time the status was written, with the trailers added
	body           []byte
}

// exchangeLog collects a harness's exchanges; handlers may run on a server's goroutines.
type exchangeLog struct {
	mu   sync.Mutex
	list []*exchange
}

func (l *exchangeLog) add(e *exchange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, e)
}

func (l *exchangeLog) all() []*exchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

// recordExchanges wraps the server's handler so that every exchange through it is validated
// against openapi.json when the test ends; a mismatch fails the test.
func recordExchanges(t testing.TB, srv *Server, token string) http.Handler {
	t.Helper()
	doc := openAPIDoc(t)
	log := &exchangeLog{}
	t.Cleanup(func() {
		v := newValidator(doc, srv, token)
		for _, e := range log.all() {
			if err := v.validate(e); err != nil {
				t.Errorf("%s %s answered %d, which openapi.json does not describe:\n%v\nrequest body: %.300s\nanswer: %v %.300s",
					e.method, e.target, e.status, err, e.reqBody, e.header, e.body)
			}
		}
	})
	next := srv.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := &exchange{method: r.Method, target: r.URL.RequestURI(), reqHeader: r.Header.Clone()}
		body := &teeBody{r: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		rw := &recordingWriter{ResponseWriter: w, e: e}
		defer func() {
			rw.finish()
			e.reqBody = body.bytes()
			log.add(e)
		}()
		next.ServeHTTP(rw, r)
	})
}

// teeBody keeps what the handler read of the request body.
type teeBody struct {
	mu  sync.Mutex
	r   io.ReadCloser
	buf bytes.Buffer
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.mu.Lock()
	b.buf.Write(p[:n])
	b.mu.Unlock()
	return n, err
}

func (b *teeBody) Close() error { return b.r.Close() }

func (b *teeBody) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// recordingWriter records the status, the header as sent, the body and the trailers. It lets
// http.ResponseController reach the writer beneath (flushes, deadlines, full duplex).
type recordingWriter struct {
	http.ResponseWriter
	mu sync.Mutex
	e  *exchange
}

func (w *recordingWriter) WriteHeader(code int) {
	w.mu.Lock()
	w.sent(code)
	w.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

// sent notes the status and the header as they go out; later calls change nothing.
func (w *recordingWriter) sent(code int) {
	if w.e.status == 0 && code >= 200 {
		w.e.status, w.e.header = code, w.ResponseWriter.Header().Clone()
	}
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.sent(http.StatusOK)
	w.e.body = append(w.e.body, p...)
	w.mu.Unlock()
	return w.ResponseWriter.Write(p)
}

func (w *recordingWriter) FlushError() error {
	w.mu.Lock()
	w.sent(http.StatusOK)
	w.mu.Unlock()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish adds the trailers the answer declared, as a client reads them once the body has ended.
func (w *recordingWriter) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent(http.StatusOK) // a handler that wrote nothing answered 200
	final := w.ResponseWriter.Header()
	for _, v := range w.e.header.Values("Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			if vs := final.Values(name); len(vs) > 0 {
				w.e.header[name] = slices.Clone(vs)
			}
		}
	}
}

// validator checks exchanges against the document, finding each one's operation the way the
// server's router finds its route.
type validator struct {
	doc    *openapi3.T
	lookup *httprouter.Router
	token  string
}

func newValidator(doc *openapi3.T, srv *Server, token string) *validator {
	v := &validator{doc: doc, lookup: httprouter.New(), token: token}
	v.lookup.RedirectTrailingSlash, v.lookup.RedirectFixedPath = false, false
	for _, rt := range srv.routeTable() {
		path := openAPIPath(rt.pattern)
		v.lookup.Handle(rt.method, rt.pattern, func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
			w.Header().Set("Path", path)
		})
	}
	return v
}

// route finds an exchange's operation and path parameters; ok is false when no route matched.
func (v *validator) route(req *http.Request) (*routers.Route, map[string]string, bool) {
	handle, params, _ := v.lookup.Lookup(req.Method, req.URL.Path)
	if handle == nil {
		return nil, nil, false
	}
	rec := httptest.NewRecorder()
	handle(rec, req, params)
	path := rec.Header().Get("Path")
	item := v.doc.Paths.Value(path)
	if item == nil || item.GetOperation(req.Method) == nil {
		return nil, nil, false
	}
	pathParams := map[string]string{}
	for _, p := range params {
		// httprouter's catch-all keeps its leading slash; OpenAPI's {path} is the rest.
		pathParams[p.Key] = strings.TrimPrefix(p.Value, "/")
	}
	if sub, ok := pathParams["path"]; ok && sub == "" {
		// /function/fn/ is /function/fn (the function sees Http_Path "/" both ways); OpenAPI
		// has no empty path parameter, so it is the operation without {path}.
		path = strings.TrimSuffix(path, "/{path}")
		item = v.doc.Paths.Value(path)
		delete(pathParams, "path")
	}
	return &routers.Route{Spec: v.doc, Path: path, PathItem: item, Method: req.Method, Operation: item.GetOperation(req.Method)}, pathParams, true
}

func (v *validator) validate(e *exchange) error {
	if e.status == statusClientClosed {
		return nil // the client was gone: nothing reached it
	}
	req := httptest.NewRequest(e.method, e.target, bytes.NewReader(e.reqBody))
	req.Header = e.reqHeader.Clone()
	route, params, ok := v.route(req)
	if !ok {
		// No operation: the router's own 404 or 405 (or 401 before them), an ErrorResponse.
		if e.status != http.StatusNotFound && e.status != http.StatusMethodNotAllowed && e.status != http.StatusUnauthorized {
			return fmt.Errorf("no operation matches, yet the status is %d", e.status)
		}
		return v.errorBody(e)
	}
	if route.Operation.RequestBody != nil && route.Operation.RequestBody.Value.Content.Get(api.ContentTypeJSON) != nil &&
		req.Header.Get("Content-Type") == "" && len(e.reqBody) > 0 {
		// The server reads a body without Content-Type as JSON, as the document says.
		req.Header.Set("Content-Type", api.ContentTypeJSON)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: v.authenticate}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if e.status < 300 {
		// The server accepted it, so the document must accept it too. Refused requests are
		// often refused on purpose (the tests of bad input), so only their answers are checked.
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return fmt.Errorf("request: %w", err)
		}
	}
	if mt, _, _ := mime.ParseMediaType(e.header.Get("Content-Type")); mt == api.ContentTypeNDJSON {
		return v.ndjson(in, e)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: e.status, Header: e.header, Options: opts}
	out.SetBodyBytes(e.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	return nil
}

// ndjson validates each line of an NDJSON answer as the answer's schema.
func (v *validator) ndjson(in *openapi3filter.RequestValidationInput, e *exchange) error {
	headersOnly := &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: e.status, Header: e.header, Options: headersOnly}
	out.SetBodyBytes(nil)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	for line := range bytes.Lines(e.body) {
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: e.status, Header: e.header, Options: in.Options}
		out.SetBodyBytes(line)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			return fmt.Errorf("answer line %q: %w", line, err)
		}
	}
	return nil
}

// errorBody validates an answer no operation describes against ErrorResponse.
func (v *validator) errorBody(e *exchange) error {
	if mt, _, _ := mime.ParseMediaType(e.header.Get("Content-Type")); mt != api.ContentTypeJSON {
		return fmt.Errorf("Content-Type %q, want %s", e.header.Get("Content-Type"), api.ContentTypeJSON)
	}
	value, err := decodeAny(e.body)
	if err != nil {
		return err
	}
	return v.doc.Components.Schemas["ErrorResponse"].Value.VisitJSON(value, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse())
}

func decodeAny(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("body %q is not JSON: %w", b, err)
	}
	return v, nil
}

// authenticate checks the document's bearer and basic schemes: a server with a token accepted the
// request, so it carried that token (as the bearer token or the Basic auth password).
func (v *validator) authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "bearerAuth":
		scheme, token, _ := strings.Cut(req.Header.Get("Authorization"), " ")
		if v.token != "" && (!strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) != v.token) {
			return errors.New("accepted without the bearer token")
		}
	case "basicAuth":
		if _, password, ok := req.BasicAuth(); v.token != "" && (!ok || password != v.token) {
			return errors.New("accepted without the token as Basic auth password")
		}
	default:
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	return nil
}
