package shimproto

// The shim's exec modes. podrun runs an exec's command as
// `SHIM ExecFlag TOKEN -- CMD [ARG...]`, and kills everything that exec
// started with another exec, `SHIM KillFlag TOKEN`; TOKEN is a random
// string that marks the first shim's command line.
const (
	ExecFlag = "--exec"
	KillFlag = "--kill"
)
