// Package httpapi serves podrun's HTTP API: JSON over httprouter, with request
// ids, access logs, metrics, panic recovery and bearer-token auth as middleware.
//
// Besides agents it stores functions and invokes them: synchronously with the
// process's output as the answer (see invokeWriter for when the status is
// decided), on OpenFaaS-compatible routes, or asynchronously with the result
// kept by the runner and POSTed to a callback URL by Callbacks.
//
// It depends on the runner only through its domain types and the Service
// interface declared here, so it can be tested against a small fake.
package httpapi
