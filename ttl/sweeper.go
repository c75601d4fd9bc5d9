package ttl

import (
	"context"
	"log/slog"
	"time"
)

// Cleaner is what the sweeper needs from the runner.
type Cleaner interface {
	// Sweep reconciles, removes containers past their grace and prunes old rows.
	Sweep(ctx context.Context) error
}

// Sweeper runs the cleaner every Interval; a zero Interval disables the loop.
type Sweeper struct {
	c        Cleaner
	log      *slog.Logger
	Interval time.Duration

	loop every
}

// NewSweeper returns a sweeper for c; Open starts it.
func NewSweeper(c Cleaner, interval time.Duration, log *slog.Logger) *Sweeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{c: c, log: log, Interval: interval}
}

// Step runs one pass.
func (s *Sweeper) Step(ctx context.Context) error { return s.c.Sweep(ctx) }

// Open starts the loop unless Interval is zero.
func (s *Sweeper) Open() {
	s.loop.start(s.Interval, func(ctx context.Context) {
		if err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sweeper pass failed", "err", err)
		}
	})
}

// Close stops the loop and waits for the pass in progress.
func (s *Sweeper) Close() { s.loop.stop() }
