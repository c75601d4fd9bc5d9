package httpapi

import (
	"net/http"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// Secrets live in the sandbox's secret store (Podman's). These handlers pass
// a value from the request body to the store and nowhere else: no answer,
// log line or database row carries it.

func (s *Server) systemListSecrets(w http.ResponseWriter, r *http.Request) {
	if err := checkNamespace(r.URL.Query().Get("namespace")); err != nil {
		writeError(w, r, err)
		return
	}
	list, err := s.svc.Secrets(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]api.Secret, 0, len(list))
	for _, sec := range list {
		out = append(out, api.Secret{Name: sec.Name, Namespace: api.OpenFaaSNamespace})
	}
	writeJSON(w, r, http.StatusOK, out)
}

// systemCreateSecret answers 201, or 409 if the name is taken.
func (s *Server) systemCreateSecret(w http.ResponseWriter, r *http.Request) {
	s.putSecret(w, r, false)
}

// systemUpdateSecret answers 202, or 404 if there is no such secret; warm
// containers of the functions naming it are replaced.
func (s *Server) systemUpdateSecret(w http.ResponseWriter, r *http.Request) {
	s.putSecret(w, r, true)
}

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request, replace bool) {
	var in api.Secret
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if err := checkNamespace(in.Namespace); err != nil {
		writeError(w, r, err)
		return
	}
	value := in.RawValue
	switch {
	case in.Value != "" && len(in.RawValue) > 0:
		writeError(w, r, &runner.FieldError{Field: "rawValue", Message: "give value or rawValue, not both"})
		return
	case in.Value != "":
		value = []byte(in.Value)
	}
	if err := s.svc.PutSecret(r.Context(), in.Name, value, replace); err != nil {
		writeError(w, r, err)
		return
	}
	if replace {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// systemDeleteSecret answers 202, 404 if there is no such secret, or 409
// while a function names it.
func (s *Server) systemDeleteSecret(w http.ResponseWriter, r *http.Request) {
	var in api.Secret
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if err := checkNamespace(in.Namespace); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteSecret(r.Context(), in.Name); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
