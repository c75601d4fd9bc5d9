// Package runner is podrun's core: the domain types (Agent, Function, State,
// Limits), the Runner service, and the small interfaces it needs from the
// outside (Sandbox, Store, Notifier, Observer). It imports only the standard
// library and its own wire format with the shim (runner/shimproto).
//
// # An agent's lifecycle
//
// Every state change passes one gate, the journal, and follows one table of
// legal transitions (transitions, CanTransition), which the store's
// compare-and-set applies too: the store refuses any other move.
//
//	 Runner.add (claim a supervisor, store, count, tell the reaper, launch)
//	   |
//	   |        start failed, client_gone, output_limit
//	   |     +-------------------------------------------+
//	   v     |                                           v
//	pending -+---- started ----> running ----------> failed     (exit != 0, OOM, killed,
//	   |                          |   |                          lost, client_gone, output_limit)
//	   |                          |   +--- exit 0 ---> succeeded
//	   +--------- TTL ------------+------------------> expired
//	   |                          |
//	   +-------- DELETE ----------+------------------> terminating --(container removed)--> terminated
//
// succeeded, failed, expired and terminated are final: an agent never leaves
// them. Podrun ends a live agent on purpose in one way, supervisors.end: the
// stop's transition (terminating, expired, or failed for client_gone and
// output_limit) races the process's own end in the store, and if it wins,
// the agent's supervisor is asked to stop the container. Nobody changes an
// agent's state to steer its supervisor; a supervisor reads the state only
// when it takes a container back after a restart, to learn of a stop that
// was requested before it.
//
// # Who owns what
//
// One agent's container has one owner, its supervisor, from launch or
// adoption to removal. supervisors is the registry that hands out that
// ownership (claim) and counts the goroutines; a supervisor runs one mode:
//
//   - launch: a new or relaunched pending agent: wait for an asynchronous
//     invocation's slot, create (or take a warm) container, start, watch, finish.
//   - adopt: a container that ran on while podrun was down: attach, watch, finish.
//   - recordExit: a container that exited while podrun was down: finish.
//   - cleanup: a container nobody watches: stop it if deleted, remove it.
//
// and, on the caller's goroutine, supervisors.with for short jobs (the
// sweeper's removals, marking an agent lost). The supervisor's goroutine is
// the only one that touches its fields; others call requestStop or wait on
// started.
//
// Goroutines, and who waits for them in Close:
//
//   - one per supervisor (supervisors.run), plus the helpers it forks: the
//     wait for its attachment's end, the watch for the end of its output,
//     DELETE's graceful stop, the wake-up of a queued asynchronous admission.
//     supervisors.g counts them; Close cancels their context and waits.
//     Their containers run on, and the next Open takes them back.
//   - one per stream writer that overflows max_output (supervisors.spawn).
//   - the warm pools (warmPools): one filler per function with warm > 0,
//     and the removals of warm containers; warmPools.Close stops, removes
//     and waits.
//   - callback deliveries (deliverer): one per result being delivered;
//     deliverer.Close cancels and waits, and the next Open resumes.
//
// The reaper and the sweeper are not the runner's: package ttl runs them,
// calling ExpireDue and Sweep.
//
// # Admission
//
// A Limiter admits invocations: synchronous ones queue (bounded, with a
// deadline) in Acquire; asynchronous ones, already accepted, Wait in a
// background line with neither. A released slot goes to the next waiter at
// once: nobody polls. Invocations taken back after a restart Hold their
// slots until they end.
package runner
