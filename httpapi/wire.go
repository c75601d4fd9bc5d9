package httpapi

import (
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// The API speaks package api's types; the service speaks runner's. The functions below are the
// one place one becomes the other: requests in, answers out. Answers never carry null for a list
// or a map: an empty one is [] or {}, whatever the service had.

// agentRequestIn turns a create request into the service's, parsing its sizes.
func agentRequestIn(in api.AgentRequest) (runner.AgentRequest, error) {
	limits, err := limitsRequestIn(in.Limits)
	if err != nil {
		return runner.AgentRequest{}, err
	}
	return runner.AgentRequest{
		Image: in.Image, Command: in.Command, Env: in.Env, Stdin: in.Stdin, TTL: in.TTL,
		Limits: limits, Labels: in.Labels, KeepAlive: in.KeepAlive,
		IdleTimeout: in.IdleTimeout, WebhookURL: in.WebhookURL,
		Isolation: in.Isolation, Egress: egressIn(in.Egress),
	}, nil
}

func limitsRequestIn(in api.LimitsRequest) (runner.LimitsRequest, error) {
	mem, err := sizeIn("limits.memory", in.Memory)
	if err != nil {
		return runner.LimitsRequest{}, err
	}
	return runner.LimitsRequest{Memory: mem, CPUs: in.CPUs, PIDs: in.PIDs}, nil
}

// functionRequestIn turns a PUT of a function into the service's request.
func functionRequestIn(in api.FunctionRequest) (runner.FunctionRequest, error) {
	limits, err := limitsRequestIn(in.Limits)
	if err != nil {
		return runner.FunctionRequest{}, err
	}
	maxOutput, err := sizeIn("max_output", in.MaxOutput)
	if err != nil {
		return runner.FunctionRequest{}, err
	}
	return runner.FunctionRequest{
		Image: in.Image, Command: in.Command, Env: in.Env, Limits: limits, Timeout: in.Timeout,
		Warm: in.Warm, MaxConcurrency: in.MaxConcurrency, MaxOutput: maxOutput,
		Secrets: in.Secrets, Labels: in.Labels, Annotations: in.Annotations,
		Isolation: in.Isolation, Egress: egressIn(in.Egress),
	}, nil
}

func execRequestIn(in api.ExecRequest) runner.ExecRequest {
	return runner.ExecRequest{Command: in.Command, Env: in.Env, Workdir: in.Workdir, Stdin: in.Stdin, Timeout: in.Timeout}
}

// sizeIn parses the size the client sent in field; nil when it sent none. The service judges the
// value (positive, within the maximum); only its syntax is checked here.
func sizeIn(field string, s api.Size) (*runner.ByteSize, error) {
	if s == "" {
		return nil, nil
	}
	v, err := runner.ParseByteSize(string(s))
	if err != nil {
		return nil, &runner.FieldError{Field: field, Message: `must be a whole number of bytes or a size like "64Mi"`}
	}
	return &v, nil
}

// agentOut is an agent as the API shows it: unset times are null and container_removed says
// whether its container is gone. Stdin is never shown.
func agentOut(a runner.Agent) api.Agent {
	return api.Agent{
		ID: a.ID, Function: a.Function, Image: a.Image, Command: orEmpty(a.Command), Env: orEmptyMap(a.Env),
		State: api.State(a.State), Reason: a.Reason, Message: a.Message, ExitCode: a.ExitCode, ContainerID: a.ContainerID,
		Limits: limitsOut(a.Limits), LimitsEnforced: a.LimitsEnforced, Labels: orEmptyMap(a.Labels),
		CreatedAt: api.Time(a.CreatedAt), Async: a.Async, CallbackURL: a.CallbackURL, Start: a.Start,
		StartedAt: api.TimeOf(a.StartedAt), FinishedAt: api.TimeOf(a.FinishedAt), ExpiresAt: api.TimeOf(a.ExpiresAt),
		ContainerRemoved: !a.RemovedAt.IsZero(), KeepAlive: a.KeepAlive,
		IdleTimeout: durationOut(a.IdleTimeout), IdleExpiresAt: api.TimeOf(a.IdleExpiresAt), WebhookURL: a.WebhookURL,
		Isolation: a.Isolation, Egress: egressOut(a.Egress), Usage: usageOut(a.Usage),
	}
}

func usageOut(u *runner.Usage) *api.Usage {
	if u == nil {
		return nil
	}
	return &api.Usage{
		SampledAt: api.Time(u.SampledAt), Samples: u.Samples, MemoryBytes: u.MemoryBytes, MemoryPeak: u.MemoryPeak,
		MemoryByteSeconds: u.MemoryByteSeconds, PIDs: u.PIDs, PIDsPeak: u.PIDsPeak, CPUPercent: u.CPUPercent,
		CPUSeconds: u.CPUSeconds, BlockRead: u.BlockRead, BlockWrite: u.BlockWrite, TmpUsed: u.TmpUsed, TmpSize: u.TmpSize,
		Alerts: orEmpty(u.Alerts),
	}
}

// durationOut is d as a Go duration, or "" for none.
func durationOut(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func agentPageOut(p runner.AgentPage) api.AgentPage {
	out := api.AgentPage{Agents: make([]api.Agent, len(p.Agents)), NextCursor: p.Next}
	for i, a := range p.Agents {
		out.Agents[i] = agentOut(a)
	}
	return out
}

func limitsOut(l runner.Limits) api.Limits {
	return api.Limits{Memory: l.Memory, CPUs: l.CPUs, PIDs: l.PIDs}
}

func functionOut(f runner.Function) api.Function {
	return api.Function{
		Name: f.Name, Image: f.Image, Command: orEmpty(f.Command), Env: orEmptyMap(f.Env), Limits: limitsOut(f.Limits),
		Timeout: f.Timeout.String(), Warm: f.Warm, MaxConcurrency: f.MaxConcurrency, MaxOutput: f.MaxOutput,
		Secrets: f.Secrets, Labels: emptyAsNil(f.Labels), Annotations: emptyAsNil(f.Annotations),
		CreatedAt: api.Time(f.CreatedAt), UpdatedAt: api.Time(f.UpdatedAt),
		Isolation: f.Isolation, Egress: egressOut(f.Egress),
	}
}

// emptyAsNil leaves an optional map out of an answer when it is empty.
func emptyAsNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func functionListOut(fs []runner.Function) api.FunctionList {
	out := api.FunctionList{Functions: make([]api.Function, len(fs))}
	for i, f := range fs {
		out.Functions[i] = functionOut(f)
	}
	return out
}

func eventListOut(events []runner.Event) api.EventList {
	out := api.EventList{Events: make([]api.Event, len(events))}
	for i, e := range events {
		out.Events[i] = api.Event{ID: e.ID, AgentID: e.AgentID, Time: api.Time(e.Time), Type: e.Type, Name: e.Name, Detail: e.Detail}
	}
	return out
}

func statsOut(s runner.Stats) api.Stats {
	return api.Stats{
		CPUPercent: s.CPUPercent, MemoryUsage: s.MemoryUsage, MemoryLimit: s.MemoryLimit, PIDs: s.PIDs,
		NetRx: s.NetRx, NetTx: s.NetTx, BlockRead: s.BlockRead, BlockWrite: s.BlockWrite,
	}
}

func execOut(r runner.ExecResult) api.ExecResult {
	return api.ExecResult{ExitCode: r.ExitCode, Stdout: r.Stdout, Stderr: r.Stderr, Truncated: r.Truncated}
}

func logLineOut(l runner.LogLine) api.LogLine {
	return api.LogLine{Seq: l.Seq, Time: api.Time(l.Time), Stream: l.Stream.String(), Text: l.Text, Partial: l.Partial, Cut: l.Cut}
}

// orEmpty is s, or [] for nil: answers never say null for a list.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// orEmptyMap is m, or {} for nil: answers never say null for a map.
func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// egressIn is a request's allow list; nil for none.
func egressIn(e *api.Egress) []string {
	if e == nil {
		return nil
	}
	return e.Allow
}

// egressOut shows an allow list, absent when there is none.
func egressOut(allow []string) *api.Egress {
	if len(allow) == 0 {
		return nil
	}
	return &api.Egress{Allow: allow}
}
