package httpapi

import (
	"errors"
	"net/http"
	"runtime"
	"strings"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/internal/buildinfo"
	"github.com/podrun/podrun/runner"
)

// The OpenFaaS provider API, as faas-cli and the OpenFaaS gateway's clients
// call it, over podrun's own functions: a function deployed here is the
// function /v1/functions shows, and the other way round.

// openFaaSRoutes are the /system routes; routeTable lists them with the rest.
func (s *Server) openFaaSRoutes() []route {
	return []route{
		{http.MethodGet, "/system/info", s.systemInfo},
		{http.MethodGet, "/system/functions", s.systemListFunctions},
		{http.MethodPost, "/system/functions", s.systemDeploy},
		{http.MethodPut, "/system/functions", s.systemUpdate},
		{http.MethodDelete, "/system/functions", s.systemDelete},
		{http.MethodGet, "/system/function/:name", s.systemGetFunction},
		{http.MethodPost, "/system/scale-function/:name", s.systemScale},
		{http.MethodGet, "/system/namespaces", s.systemNamespaces},
		{http.MethodGet, "/system/secrets", s.systemListSecrets},
		{http.MethodPost, "/system/secrets", s.systemCreateSecret},
		{http.MethodPut, "/system/secrets", s.systemUpdateSecret},
		{http.MethodDelete, "/system/secrets", s.systemDeleteSecret},
		{http.MethodGet, "/system/logs", s.systemLogs},
	}
}

// systemInfo names the provider and its build, as faas-cli version shows it.
func (s *Server) systemInfo(w http.ResponseWriter, r *http.Request) {
	b := buildinfo.Get()
	v := &api.ProviderVersionInfo{SHA: b.Commit, Release: b.Version}
	writeJSON(w, r, http.StatusOK, api.SystemInfo{
		Provider: &api.ProviderInfo{Provider: "podrun", Orchestration: "podman", Version: v},
		Version:  v, Arch: runtime.GOARCH,
	})
}

// systemNamespaces lists the one namespace.
func (s *Server) systemNamespaces(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, []string{api.OpenFaaSNamespace})
}

func (s *Server) systemListFunctions(w http.ResponseWriter, r *http.Request) {
	if err := checkNamespace(r.URL.Query().Get("namespace")); err != nil {
		writeError(w, r, err)
		return
	}
	fs, err := s.svc.Functions(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]api.FunctionStatus, 0, len(fs))
	for _, f := range fs {
		out = append(out, s.functionStatus(f))
	}
	writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) systemGetFunction(w http.ResponseWriter, r *http.Request) {
	name, ok := functionName(w, r)
	if !ok {
		return
	}
	if err := checkNamespace(r.URL.Query().Get("namespace")); err != nil {
		writeError(w, r, err)
		return
	}
	f, err := s.svc.Function(r.Context(), name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, s.functionStatus(f))
}

// functionStatus adds the live counts to a stored function.
func (s *Server) functionStatus(f runner.Function) api.FunctionStatus {
	return functionStatusOut(f, s.metrics.FunctionCalls(f.Name), s.svc.WarmReady(f.Name))
}

// systemDeploy creates a function: 409 if one of that name exists (faas-cli then updates it).
func (s *Server) systemDeploy(w http.ResponseWriter, r *http.Request) {
	s.deploy(w, r, false)
}

// systemUpdate replaces a function: 404 if there is none (faas-cli then deploys it).
func (s *Server) systemUpdate(w http.ResponseWriter, r *http.Request) {
	s.deploy(w, r, true)
}

// deploy answers 202 Accepted, as OpenFaaS providers do, with the function as now stored.
func (s *Server) deploy(w http.ResponseWriter, r *http.Request, update bool) {
	var in api.FunctionDeployment
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if !runner.ValidFunctionName(in.Service) {
		writeError(w, r, &runner.FieldError{Field: "service", Message: "must match [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"})
		return
	}
	old, err := s.svc.Function(r.Context(), in.Service)
	switch {
	case err != nil && !errors.Is(err, runner.ErrNotFound):
		writeError(w, r, err)
		return
	case err == nil && !update:
		writeError(w, r, apiErr(http.StatusConflict, api.CodeConflict, "function "+in.Service+" already exists: update it with PUT"))
		return
	case err != nil && update:
		writeError(w, r, apiErr(http.StatusNotFound, api.CodeNotFound, "no function "+in.Service+" to update: deploy it with POST"))
		return
	}
	var keep *runner.Function
	if update {
		keep = &old
	}
	req, err := deploymentIn(in, keep)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f, _, err := s.svc.PutFunction(r.Context(), in.Service, req)
	if err != nil {
		writeError(w, r, deploymentField(err))
		return
	}
	writeJSON(w, r, http.StatusAccepted, s.functionStatus(f))
}

// systemDelete removes the function named in the body; its warm containers go with it.
func (s *Server) systemDelete(w http.ResponseWriter, r *http.Request) {
	var in api.DeleteFunctionRequest
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if err := checkNamespace(in.Namespace); err != nil {
		writeError(w, r, err)
		return
	}
	name, ok := splitNamespace(in.FunctionName)
	if !ok || !runner.ValidFunctionName(name) {
		writeError(w, r, apiErr(http.StatusNotFound, api.CodeNotFound, "no function "+in.FunctionName))
		return
	}
	if err := s.svc.DeleteFunction(r.Context(), name); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// systemScale sets the warm pool size: replicas 0 empties it, and more than
// invoke.max_warm is capped there. The function still serves every request
// whatever its pool holds.
func (s *Server) systemScale(w http.ResponseWriter, r *http.Request) {
	name, ok := functionName(w, r)
	if !ok {
		return
	}
	var in api.ScaleServiceRequest
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	ns := in.Namespace
	if q := r.URL.Query().Get("namespace"); q != "" {
		ns = q
	}
	if err := checkNamespace(ns); err != nil {
		writeError(w, r, err)
		return
	}
	if svc, _ := splitNamespace(in.ServiceName); in.ServiceName != "" && svc != name {
		writeError(w, r, &runner.FieldError{Field: "serviceName", Message: "must be the function the path names, or left out"})
		return
	}
	replicas := int(min(in.Replicas, 1<<20)) // a larger count is capped by max_warm anyway
	if _, err := s.svc.ScaleFunction(r.Context(), name, replicas); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// deploymentFields maps the field names of podrun's function request to those of the OpenFaaS
// deployment the client sent, so a 400 names what the client wrote.
var deploymentFields = []struct{ podrun, openfaas string }{
	{"env", "envVars"}, {"command", "envProcess"}, {"limits.cpus", "limits.cpu"}, {"requests.cpus", "requests.cpu"},
}

// deploymentField renames the field of a *runner.FieldError for an OpenFaaS client.
func deploymentField(err error) error {
	var fe *runner.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	for _, m := range deploymentFields {
		if fe.Field == m.podrun || strings.HasPrefix(fe.Field, m.podrun+".") || strings.HasPrefix(fe.Field, m.podrun+"[") {
			return &runner.FieldError{Field: m.openfaas + strings.TrimPrefix(fe.Field, m.podrun), Message: fe.Message}
		}
	}
	return err
}
