package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// decode reads one JSON object from the body into dst. Its errors are ready
// for writeError: they name the offending field when there is one.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != api.ContentTypeJSON {
			return apiErr(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType, "Content-Type must be "+api.ContentTypeJSON)
		}
	}
	// MaxBytesReader wants the server's own writer so it can close the connection on overflow.
	// The body is read whole: its text is checked as sent, before decoding changes it.
	raw, err := io.ReadAll(http.MaxBytesReader(baseWriter(w), r.Body, s.maxBody))
	if err != nil {
		return decodeError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Exactly one value: trailing data usually means a client bug we should not paper over.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apiErr(http.StatusBadRequest, api.CodeInvalid, "request body must hold a single JSON object")
	}
	return invalidJSONText(raw)
}

// decodeError turns encoding/json's errors into client-facing ones.
func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		fe  *runner.FieldError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe), errors.As(err, &fe):
		return err
	case errors.Is(err, io.EOF):
		return apiErr(http.StatusBadRequest, api.CodeInvalid, "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apiErr(http.StatusBadRequest, api.CodeInvalid, "request body is truncated JSON")
	case errors.As(err, &syn):
		return apiErr(http.StatusBadRequest, api.CodeInvalid, fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apiErr(http.StatusBadRequest, api.CodeInvalid, "request body must be a JSON object")
		}
		return &runner.FieldError{Field: typ.Field, Message: fmt.Sprintf("must be %s, not a JSON %s", describeType(typ.Type), typ.Value)}
	}
	// encoding/json has no typed error for unknown fields, only this message.
	if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name, uerr := strconv.Unquote(rest); uerr == nil {
			return &runner.FieldError{Field: name, Message: "unknown field"}
		}
	}
	return apiErr(http.StatusBadRequest, api.CodeInvalid, "request body is not valid JSON")
}

// describeType names a Go type the way a JSON client thinks of it.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[api.Size]() {
		return `a number of bytes or a size like "64Mi"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}
