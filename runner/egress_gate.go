package runner

import (
	"context"
	"fmt"
)

// EgressGate opens the way out for containers with an egress allow list:
// one proxy listener per container, in a host directory the sandbox mounts
// into it (Spec.EgressDir). Package egress implements it.
type EgressGate interface {
	// Open starts the listener key (an agent's ID, or a warm container's
	// name) applying allow, speaking for agent ("" until Bind), and returns
	// its host directory. Opening an open key replaces its listener in the
	// same directory, so a container that runs on sees the new one.
	Open(key, agent string, allow []string) (dir string, err error)
	// Bind names the agent an open listener speaks for from now on.
	Bind(key, agent string) bool
	// Close stops the listener; a key not open is fine.
	Close(key string)
}

// EventEgress is the Type of an agent's history entry for one egress
// decision: Name is EgressAllowed or EgressDenied, Detail the destination
// and, for an allowed one, the bytes each way.
const EventEgress = "egress"

// Egress decisions, the Name of EventEgress events.
const (
	EgressAllowed = "allowed"
	EgressDenied  = "denied"
)

// RecordEgress adds one egress decision to an agent's history.
func (r *Runner) RecordEgress(ctx context.Context, agent string, allowed bool, detail string) error {
	name := EgressDenied
	if allowed {
		name = EgressAllowed
	}
	if err := r.journal.append(ctx, Event{AgentID: agent, Type: EventEgress, Name: name, Detail: detail}); err != nil {
		return fmt.Errorf("record egress of agent %s: %w", agent, err)
	}
	return nil
}

// openEgress opens the listener of a container with an allow list and
// returns the directory to mount; "" without one.
func openEgress(g EgressGate, key, agent string, allow []string) (string, error) {
	if len(allow) == 0 {
		return "", nil
	}
	if g == nil {
		return "", fmt.Errorf("egress allow list without an egress proxy: %w", ErrInvalid)
	}
	dir, err := g.Open(key, agent, allow)
	if err != nil {
		return "", fmt.Errorf("open egress proxy: %w", err)
	}
	return dir, nil
}

// closeEgress closes key's listener, if there is a gate.
func closeEgress(g EgressGate, key string) {
	if g != nil && key != "" {
		g.Close(key)
	}
}
