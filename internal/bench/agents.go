package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// labelRun is the label of every agent the bench creates through the API, so
// cleanup finds them on any podrun (their containers carry it too).
const labelRun = "bench-run"

// labelScenario names the scenario that created an agent.
const labelScenario = "bench-scenario"

// deploy creates a `cat` function of the run with the bench's limits and returns its name.
func (b *bench) deploy(ctx context.Context, kind string, warm, maxConcurrency int) (string, error) {
	name := b.runID + "-" + kind
	f := api.FunctionRequest{
		Image: b.opt.image, Command: []string{"cat"}, Warm: &warm, MaxConcurrency: &maxConcurrency,
		Timeout: "60s", Limits: b.limitsRequest(),
	}
	b.functions = append(b.functions, name)
	if _, _, err := b.api.PutFunction(ctx, name, f); err != nil {
		return "", err
	}
	return name, nil
}

// undeploy deletes a function (and so its warm pool), even when ctx has ended.
func (b *bench) undeploy(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.deleteFunction(ctx, name); err != nil {
		b.logf("delete function %s: %v", name, err)
	}
}

// limitsRequest asks for the bench's limits, as --memory, --cpus and --pids say.
func (b *bench) limitsRequest() api.LimitsRequest {
	pids := int64(b.opt.pids)
	return api.LimitsRequest{Memory: api.Size(b.opt.memory), CPUs: &b.opt.cpus, PIDs: &pids}
}

// agentRequest is a POST /v1/agents body for command, labelled with the run and the scenario.
func (b *bench) agentRequest(scenario, ttl string, command ...string) api.AgentRequest {
	return api.AgentRequest{
		Image: b.opt.image, Command: command, TTL: ttl, Limits: b.limitsRequest(),
		Labels: map[string]string{labelRun: b.runID, labelScenario: scenario},
	}
}

// await polls the agent every 10 ms until ok says so, ctx ends or timeout passes.
func (b *bench) await(ctx context.Context, id string, timeout time.Duration, ok func(api.Agent) bool) (api.Agent, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		a, err := b.api.Agent(ctx, id)
		if err == nil && ok(a) {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return a, fmt.Errorf("agent %s is %s (%s) after %v: %w", id, a.State, a.Reason, timeout, errors.Join(err, ctx.Err()))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func running(a api.Agent) bool { return a.State != api.StatePending }

func finalAndRemoved(a api.Agent) bool {
	return !a.State.Live() && (a.ContainerRemoved || a.ContainerID == "")
}

// startSleepers creates n `sleep 600` agents, workers at a time, each waited for
// until it runs; the machine sets the pace. It returns the agents it started.
func (b *bench) startSleepers(ctx context.Context, scenario string, n, workers int, ttl string) ([]api.Agent, error) {
	var mu sync.Mutex
	var out []api.Agent
	err := b.parallel(ctx, n, workers, func(ctx context.Context, _ int) error {
		a, err := b.api.CreateAgent(ctx, b.agentRequest(scenario, ttl, "sleep", "600"))
		if err != nil {
			return err
		}
		mu.Lock()
		out = append(out, a)
		mu.Unlock()
		a, err = b.await(ctx, a.ID, 2*time.Minute, running)
		if err == nil && a.State != api.StateRunning {
			err = fmt.Errorf("agent %s is %s (%s), not running", a.ID, a.State, a.Reason)
		}
		return err
	})
	return out, err
}

// parallel runs f for i in [0, n) with workers goroutines and returns the first error.
func (b *bench) parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// countAgents counts the agents in podrun's table (all of them, any state).
func (b *bench) countAgents(ctx context.Context) (int, error) {
	all, err := b.list(ctx, api.ListOptions{})
	return len(all), err
}

// fillTable adds agents until the table holds want. Each runs `true` and is
// deleted as soon as it is created: podrun creates its container and removes
// it, mostly before it starts, the cheapest way to add rows through the API.
func (b *bench) fillTable(ctx context.Context, want int) (added int, took time.Duration, err error) {
	have, err := b.countAgents(ctx)
	if err != nil || have >= want {
		return 0, 0, err
	}
	start := time.Now()
	b.logf("adding %d agents (the table holds %d, want %d)", want-have, have, want)
	var n atomic.Int64
	err = b.parallel(ctx, want-have, b.opt.createWorkers, func(ctx context.Context, _ int) error {
		a, err := b.api.CreateAgent(ctx, b.agentRequest("filler", "1m", "true"))
		if err != nil {
			return err
		}
		n.Add(1)
		if _, err := b.deleteAgent(ctx, a.ID); err != nil {
			return err
		}
		_, err = b.await(ctx, a.ID, time.Minute, finalAndRemoved)
		return err
	})
	return int(n.Load()), time.Since(start), err
}

// expireAll makes the reaper kill the given live agents now and waits until their containers are gone.
func (b *bench) expireAll(ctx context.Context, agents []api.Agent) error {
	for _, a := range agents {
		if err := b.expireNow(ctx, a.ID); err != nil {
			return err
		}
	}
	return b.parallel(ctx, len(agents), 8, func(ctx context.Context, i int) error {
		_, err := b.await(ctx, agents[i].ID, time.Minute, finalAndRemoved)
		return err
	})
}

// cleanup deletes the run's functions and ends every agent of the run until
// none is live or keeps a container, then waits for podrun (in-process) to
// remove its own containers and removes the baselines' leftovers.
func (b *bench) cleanup(ctx context.Context) error {
	for _, fn := range b.functions {
		b.undeploy(fn)
	}
	queries := []api.ListOptions{{Labels: map[string]string{labelRun: b.runID}}}
	for _, fn := range b.functions {
		queries = append(queries, api.ListOptions{Function: fn})
	}
	for {
		busy := 0
		for _, q := range queries {
			agents, err := b.list(ctx, q)
			if err != nil {
				return fmt.Errorf("list the run's agents: %w", err)
			}
			for _, a := range agents {
				switch {
				case a.State == api.StatePending || a.State == api.StateRunning:
					busy++
					_ = b.expireNow(ctx, a.ID)
				case a.State == api.StateTerminating:
					busy++
				case !a.ContainerRemoved && a.ContainerID != "":
					busy++
					_, _ = b.deleteAgent(ctx, a.ID)
				}
			}
		}
		if busy == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d agents of the run still live or holding a container: %w", busy, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		cs, err := b.sb.List(ctx, map[string]string{runner.LabelInstance: b.runID})
		if err != nil {
			return err
		}
		own := 0 // podrun's: warm containers being discarded in the background
		for _, c := range cs {
			if c.Labels[labelBaseline] != "" {
				_ = b.sb.Remove(ctx, c.ID)
			} else {
				own++
			}
		}
		if own == 0 || b.daemon == nil || time.Now().After(deadline) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// removeLabelled force-removes whatever still carries the run's label and says how many there were.
func (b *bench) removeLabelled(ctx context.Context) int {
	cs, err := b.sb.List(ctx, map[string]string{runner.LabelInstance: b.runID})
	if err != nil {
		b.logf("list leftovers: %v", err)
		return 0
	}
	for _, c := range cs {
		b.leaked = append(b.leaked, fmt.Sprintf("%s %s (%s, labels %v)", c.ID[:12], c.Name, c.State, c.Labels))
		if err := b.sb.Remove(ctx, c.ID); err != nil && !errors.Is(err, runner.ErrNoContainer) {
			b.logf("remove %s: %v", c.ID[:12], err)
		}
	}
	return len(cs)
}
