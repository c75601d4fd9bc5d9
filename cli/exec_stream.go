package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/client"
)

// execStream runs an exec over the WebSocket: stdin is passed on as it is read (its end ends
// the command's stdin), output printed as it comes. With tty the command gets a terminal; when
// podrun's own stdin is a terminal it is put in raw mode for the session (so keys like ^C go to
// the command) and its size follows the window (SIGWINCH).
func (a *app) execStream(cmd *cobra.Command, cl *client.Client, id string, argv []string, tty bool, timeout string) error {
	ctx := cmd.Context()
	start := api.ExecMessage{Command: argv, TTY: tty, Timeout: timeout}
	local := -1 // podrun's stdin, when it is a terminal and a terminal was asked for
	if f, ok := a.env.Stdin.(*os.File); ok && tty && term.IsTerminal(int(f.Fd())) {
		local = int(f.Fd())
		if w, h, err := term.GetSize(local); err == nil && w > 0 && h > 0 {
			start.Rows, start.Cols = uint16(h), uint16(w)
		}
	}
	s, err := cl.ExecStream(ctx, id, start)
	if err != nil {
		return err
	}
	defer s.Close()
	if local >= 0 {
		old, err := term.MakeRaw(local)
		if err != nil {
			return fmt.Errorf("put the terminal in raw mode: %w", err)
		}
		defer term.Restore(local, old)
		stop := followWindow(ctx, s, local)
		defer stop()
	}
	go func() {
		// Errors end the copy: the session is over, or closing.
		if _, err := io.Copy(s, a.env.Stdin); err == nil {
			_ = s.CloseStdin(context.WithoutCancel(ctx))
		}
	}()
	code, err := s.Wait(ctx, a.env.Stdout, a.env.Stderr)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && ce.Code == api.CodeTimeout {
			return fmt.Errorf("exec: %s", ce.Message)
		}
		return err
	}
	return exitWith(code)
}

// followWindow resizes the session's terminal whenever the local one changes size; stop ends it.
func followWindow(ctx context.Context, s *client.ExecSession, fd int) (stop func()) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
					_ = s.Resize(ctx, uint16(h), uint16(w))
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
	}
}
