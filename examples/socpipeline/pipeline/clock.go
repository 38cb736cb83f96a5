package pipeline

import (
	"sync"
	"time"
)

// Clock is the pipeline's injected clock. The demo's clock stands still
// until Advance moves it (NewClock), so an approval window of hours or a
// breaker's recovery timeout passes in microseconds of real time, and two
// runs from the same start see the same times (which is what makes their
// business results comparable). A host serving real traffic uses the wall
// clock (NewWallClock). Every service, and the audit Emitter, reads it.
type Clock struct {
	mu     sync.Mutex // guards offset
	wall   bool       // read time.Now (plus offset) instead of standing still
	start  time.Time
	offset time.Duration
}

// NewClock returns a clock standing at start (in UTC).
func NewClock(start time.Time) *Clock { return &Clock{start: start.UTC()} }

// NewWallClock returns a clock that follows the wall clock.
func NewWallClock() *Clock { return &Clock{wall: true} }

// Now returns the clock's time; it is the func() time.Time every
// WithClock option takes.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	off := c.offset
	c.mu.Unlock()
	if c.wall {
		return time.Now().UTC().Add(off)
	}
	return c.start.Add(off)
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return c.Now()
}

// Frozen reports whether the clock stands still between Advances.
func (c *Clock) Frozen() bool { return !c.wall }
