package runner

import (
	"slices"
	"time"
)

// transitions is the one table of legal state changes: from each state, the
// states it may move to. The store's compare-and-set moves an agent only
// along it (see Change), so no code path can invent a transition.
//
//	pending     -> running | failed | expired | terminating
//	running     -> paused | succeeded | failed | expired | terminating
//	paused      -> running | succeeded | failed | expired | terminating
//	terminating -> terminated
//	succeeded, failed, expired, terminated: final, never left
var transitions = map[State][]State{
	StatePending: {StateRunning, StateFailed, StateExpired, StateTerminating},
	StateRunning: {StatePaused, StateSucceeded, StateFailed, StateExpired, StateTerminating},
	// A paused agent resumes, or ends: its TTL, a DELETE, or a kill from
	// outside (SIGKILL reaches a frozen process) end it like a running one.
	StatePaused:      {StateRunning, StateSucceeded, StateFailed, StateExpired, StateTerminating},
	StateTerminating: {StateTerminated},
}

// sources inverts transitions: for each state, the states that may move to
// it, in lifecycle order. Computed once; TransitionSources hands out copies.
var sources = func() map[State][]State {
	m := map[State][]State{}
	for _, from := range States {
		for _, to := range transitions[from] {
			m[to] = append(m[to], from)
		}
	}
	return m
}()

// CanTransition reports whether the transition table lets an agent move from one state to another.
func CanTransition(from, to State) bool { return slices.Contains(transitions[from], to) }

// TransitionSources lists the states from which an agent may move to `to`, in
// lifecycle order; it is empty for pending (only creation makes an agent
// pending) and for an unknown state. A store's Transition moves an agent
// only if its current state is one of them.
func TransitionSources(to State) []State { return slices.Clone(sources[to]) }

// Change is one state transition, applied by Store.Transition as a
// compare-and-set: the agent moves to To only if the transition table allows
// it from the agent's current state (see TransitionSources).
type Change struct {
	To       State
	Reason   string    // set when non-empty
	Message  string    // the agent's message; set when non-empty
	ExitCode *int      // set when non-nil
	At       time.Time // started_at for running; finished_at for final states
	Detail   string    // the event's detail
	// IdleDue, when set, makes the change happen only if the agent's idle
	// deadline is set and at or before it: an idle expiry loses to activity
	// that moved the deadline since the reaper read it.
	IdleDue time.Time
}
