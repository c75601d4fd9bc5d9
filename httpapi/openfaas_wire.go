package httpapi

import (
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// checkNamespace accepts the one namespace podrun has, given or left out.
func checkNamespace(ns string) error {
	if ns == "" || ns == api.OpenFaaSNamespace {
		return nil
	}
	return apiErr(http.StatusNotFound, api.CodeNotFound, "namespace "+strconv.Quote(ns)+" not found: podrun has only "+api.OpenFaaSNamespace)
}

// splitNamespace turns "NAME.openfaas-fn" into NAME; ok is false for a name
// carrying any other namespace. A plain function name has no dot to cut.
func splitNamespace(name string) (string, bool) {
	fn, ns, found := strings.Cut(name, ".")
	if !found {
		return name, true
	}
	return fn, ns == api.OpenFaaSNamespace
}

// deploymentIn turns an OpenFaaS deployment into podrun's function request.
// On an update, old is the stored function: what OpenFaaS has no word for
// (timeout, warm pool, concurrency, output cap, pids) is kept from it.
func deploymentIn(in api.FunctionDeployment, old *runner.Function) (runner.FunctionRequest, error) {
	if err := checkNamespace(in.Namespace); err != nil {
		return runner.FunctionRequest{}, err
	}
	if len(in.Constraints) > 0 {
		return runner.FunctionRequest{}, &runner.FieldError{Field: "constraints",
			Message: "podrun runs every function on its one Podman host and cannot honour placement constraints"}
	}
	if in.ReadOnlyRootFilesystem != nil && !*in.ReadOnlyRootFilesystem {
		return runner.FunctionRequest{}, &runner.FieldError{Field: "readOnlyRootFilesystem",
			Message: "podrun's root filesystems are always read-only (write to /tmp); leave it out or set it true"}
	}
	req := runner.FunctionRequest{
		Image: in.Image, EnvProcess: in.EnvProcess, Env: in.EnvVars, Secrets: in.Secrets,
	}
	if in.Labels != nil {
		req.Labels = *in.Labels
	}
	if in.Annotations != nil {
		req.Annotations = *in.Annotations
	}
	var err error
	if req.Limits, err = resourcesIn("limits", in.Limits); err != nil {
		return runner.FunctionRequest{}, err
	}
	if req.Requests, err = resourcesIn("requests", in.Requests); err != nil {
		return runner.FunctionRequest{}, err
	}
	if old != nil {
		timeout, warm, conc, maxOut := old.Timeout.String(), old.Warm, old.MaxConcurrency, runner.ByteSize(old.MaxOutput)
		req.Timeout, req.Warm, req.MaxConcurrency, req.MaxOutput = timeout, &warm, &conc, &maxOut
		pids := old.Limits.PIDs
		req.Limits.PIDs = &pids
	}
	return req, nil
}

// resourcesIn parses OpenFaaS memory and cpu quantities; nil fields take podrun's defaults.
func resourcesIn(field string, in *api.FunctionResources) (runner.LimitsRequest, error) {
	var out runner.LimitsRequest
	if in == nil {
		return out, nil
	}
	if in.Memory != "" {
		mem, err := runner.ParseByteSize(in.Memory)
		if err != nil {
			return out, &runner.FieldError{Field: field + ".memory", Message: `must be a quantity like "128Mi", "1Gi" or "500M"`}
		}
		out.Memory = &mem
	}
	if in.CPU != "" {
		cpus, err := parseCPU(in.CPU)
		if err != nil {
			return out, &runner.FieldError{Field: field + ".cpu", Message: `must be cores like "0.5" or millicores like "500m"`}
		}
		out.CPUs = &cpus
	}
	return out, nil
}

// parseCPU reads a Kubernetes CPU quantity: cores ("1", "0.5") or millicores ("500m").
func parseCPU(s string) (float64, error) {
	if milli, ok := strings.CutSuffix(s, "m"); ok {
		n, err := strconv.ParseUint(milli, 10, 32)
		return float64(n) / 1000, err
	}
	return strconv.ParseFloat(s, 64)
}

// formatCPU writes cores as millicores, or whole cores when they are whole.
func formatCPU(cpus float64) string {
	milli := int64(cpus*1000 + 0.5)
	if milli%1000 == 0 {
		return strconv.FormatInt(milli/1000, 10)
	}
	return strconv.FormatInt(milli, 10) + "m"
}

// resourcesOut is l as OpenFaaS quantities; nil when nothing is set.
func resourcesOut(l runner.Limits) *api.FunctionResources {
	var out api.FunctionResources
	if l.Memory > 0 {
		out.Memory = runner.ByteSize(l.Memory).String()
	}
	if l.CPUs > 0 {
		out.CPU = formatCPU(l.CPUs)
	}
	if out == (api.FunctionResources{}) {
		return nil
	}
	return &out
}

// functionStatusOut is a function as OpenFaaS shows it. calls is its
// invocation count, ready how many warm containers wait for a request.
func functionStatusOut(f runner.Function, calls uint64, ready int) api.FunctionStatus {
	st := api.FunctionStatus{
		Name: f.Name, Image: f.Image, Namespace: api.OpenFaaSNamespace,
		EnvProcess: f.EnvProcess, EnvVars: f.Env, Secrets: f.Secrets,
		Limits: resourcesOut(f.Limits), Requests: resourcesOut(f.Requests),
		ReadOnlyRootFilesystem: true,
		InvocationCount:        float64(calls),
		Replicas:               uint64(f.Warm), AvailableReplicas: uint64(ready),
		CreatedAt: f.CreatedAt.UTC(),
	}
	if st.EnvProcess == "" {
		st.EnvProcess = strings.Join(f.Command, " ")
	}
	if len(f.Labels) > 0 {
		labels := maps.Clone(f.Labels)
		st.Labels = &labels
	}
	if len(f.Annotations) > 0 {
		annotations := maps.Clone(f.Annotations)
		st.Annotations = &annotations
	}
	return st
}
