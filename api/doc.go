// Package api is podrun's wire format: the request and response bodies of its HTTP API, the
// headers and query parameters it reads and writes, and the words (states, reasons, error codes)
// its answers use. The server, the Go client (package client), the CLI, the bench and the tests
// all speak through these types, so one change here is one change to the API.
//
// It imports only the standard library, so a program that talks to podrun does not build the
// server. It holds no behaviour beyond encoding: validation belongs to the server, which answers
// a bad request with 400 and an Error naming the field.
//
// Shapes, for every answer: times are RFC 3339 strings in UTC with up to nanoseconds; a time that
// is not set yet is null (a pointer here); sizes are JSON numbers of bytes; durations are Go
// duration strings like "30s"; optional fields are marked optional and left out when empty, and
// every other field is always present. Lists and maps in answers are [] and {} when empty, never
// null. The server's OpenAPI 3.1 document (GET /openapi.json, httpapi/openapi.json in the
// repository) describes the same shapes; tests hold it to the server.
package api

// DefaultAddr is where `podrun serve` listens unless told otherwise, and so where a client looks
// when given no address.
const DefaultAddr = "127.0.0.1:8080"
