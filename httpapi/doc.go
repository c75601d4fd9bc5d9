// Package httpapi serves podrun's HTTP API: JSON over httprouter, with request
// ids, access logs, metrics, panic recovery and bearer-token auth as middleware.
//
// It depends on the runner only through its domain types and the Service
// interface declared here, so it can be tested against a small fake.
package httpapi
