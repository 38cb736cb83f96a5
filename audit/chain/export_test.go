package chain

import "time"

// SetSchedulerTimer replaces the scheduler's timer so tests decide when
// the next check fires.
func SetSchedulerTimer(s *Scheduler, after func(time.Duration) <-chan time.Time) { s.cfg.after = after }
