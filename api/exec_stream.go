package api

// Streaming exec: GET /v1/agents/{id}/exec upgraded to a WebSocket, and POST
// /v1/agents/{id}/exec?stream=true for clients without one.
//
// The WebSocket protocol. Text messages are JSON ExecMessage objects, told
// apart by Type; binary messages are data, their first byte the stream
// (ExecStdin, ExecStdout, ExecStderr) and the rest the bytes:
//
//	client -> server  text    {"type":"start","command":["sh"],"tty":true,"rows":24,"cols":80,...}  first, once
//	client -> server  binary  0x00 + stdin bytes
//	client -> server  text    {"type":"resize","rows":50,"cols":132}   terminal only
//	client -> server  text    {"type":"eof"}                           closes the command's stdin
//	server -> client  binary  0x01 + stdout bytes, 0x02 + stderr bytes, as the command writes them
//	server -> client  text    {"type":"exit","exit_code":0}            last; then a normal close (1000)
//	server -> client  text    {"type":"error","error":{...}}           last; then a close (ExecClose*)
//
// With a terminal (tty) the command's stdout and stderr are one stream,
// sent as ExecStdout, and what the client types is echoed by the terminal.
// A client that closes the socket, or stops answering pings, has the
// command's whole process tree killed. The server answers the upgrade
// request itself with a JSON error (404, 409, ...) when the agent is not
// there or not running; errors after the upgrade (a bad first message, a
// timeout, the agent ending) come as an "error" message.
//
// With POST ...?stream=true the body is an ExecRequest and the answer (200)
// is ContentTypeMultiplexed: frames of an 8-byte header, the stream byte
// (ExecStdout or ExecStderr), three zero bytes and the big-endian uint32
// length of the data that follows, as Docker's attach and exec send them.
// The trailers HeaderExitCode and HeaderReason end it.

// ExecWebSocketSubprotocol is the WebSocket subprotocol of the streaming exec;
// a client may offer it, the server accepts it or none.
const ExecWebSocketSubprotocol = "podrun.exec.v1"

// Stream bytes opening every binary message of the exec WebSocket and every
// frame of a multiplexed answer.
const (
	ExecStdin  byte = 0
	ExecStdout byte = 1
	ExecStderr byte = 2
)

// ExecMessage types.
const (
	ExecStart  = "start"  // client: the command; the first message
	ExecResize = "resize" // client: the terminal's new size
	ExecEOF    = "eof"    // client: end of stdin
	ExecExit   = "exit"   // server: the command ended; the last message
	ExecError  = "error"  // server: the exec failed or was refused; the last message
)

// WebSocket close codes the server ends an exec with.
const (
	ExecCloseNormal   = 1000 // after an "exit" message
	ExecClosePolicy   = 1008 // after an "error" message about the client's messages (code CodeInvalid)
	ExecCloseInternal = 1011 // after any other "error" message
)

// ContentTypeMultiplexed is the Content-Type of a streamed exec answer: stdout and stderr in
// Docker's 8-byte-header frames.
const ContentTypeMultiplexed = "application/vnd.docker.multiplexed-stream"

// ExecMessage is one JSON control message of the exec WebSocket; which fields it may carry depends
// on Type (unknown fields are refused).
type ExecMessage struct {
	// Type is one of the Exec* message types; required.
	Type string `json:"type"`
	// Command is the program and its arguments ("start"; required).
	Command []string `json:"command,omitempty"`
	// Env is set over the container's environment ("start"; optional).
	Env map[string]string `json:"env,omitempty"`
	// Workdir is the absolute directory the command starts in ("start"; optional, the
	// container's own by default).
	Workdir string `json:"workdir,omitempty"`
	// TTY runs the command on a terminal ("start"; optional).
	TTY bool `json:"tty,omitempty"`
	// Timeout kills the command after this long, a Go duration ("start"; optional, at most 24h;
	// none by default: the client's presence and the agent's life bound it).
	Timeout string `json:"timeout,omitempty"`
	// Rows and Cols are the terminal's size in character cells ("start" with tty, optional;
	// "resize", required).
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
	// ExitCode is the command's exit status ("exit").
	ExitCode *int `json:"exit_code,omitempty"`
	// Error says why the exec failed or was refused ("error").
	Error *Error `json:"error,omitempty"`
}
