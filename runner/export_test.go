package runner

// HeldSlots reports how many slots l has handed out and not yet got back.
func HeldSlots(l *Limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running
}
