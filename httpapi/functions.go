package httpapi

import (
	"net/http"

	"github.com/podrun/podrun/api"
)

// putFunction creates or replaces a function; PUT because the client names it.
func (s *Server) putFunction(w http.ResponseWriter, r *http.Request) {
	name, ok := functionName(w, r)
	if !ok {
		return
	}
	var in api.FunctionRequest
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	req, err := functionRequestIn(in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f, created, err := s.svc.PutFunction(r.Context(), name, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/functions/"+f.Name)
	}
	writeJSON(w, r, status, functionOut(f))
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) {
	fs, err := s.svc.Functions(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, functionListOut(fs))
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) {
	name, ok := functionName(w, r)
	if !ok {
		return
	}
	f, err := s.svc.Function(r.Context(), name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, functionOut(f))
}

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request) {
	name, ok := functionName(w, r)
	if !ok {
		return
	}
	if err := s.svc.DeleteFunction(r.Context(), name); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
