package runner

// validateKeepAlive refuses a keep-alive request that also names what to
// run: a keep-alive agent's PID 1 is the shim, and commands run through exec.
func (req AgentRequest) validateKeepAlive() error {
	if !req.KeepAlive {
		return nil
	}
	if len(req.Command) > 0 {
		return invalid("command", "must be empty with keep_alive: a keep-alive agent runs no command of its own; run commands with exec")
	}
	if req.Stdin != nil {
		return invalid("stdin", "must be empty with keep_alive: a keep-alive agent has no process to read it")
	}
	return nil
}
