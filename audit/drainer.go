package audit

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/hashicorp/go-multierror"
)

// drain is the single goroutine that owns dequeueing, batching and every
// call to Sink.Write. It parks when the ring is empty and is woken by the
// bell (an Emit reaching wakeAt), by Flush or Close, by the linger deadline
// of a partial batch, or by the idle max-wait.
func (e *Emitter) drain() {
	defer close(e.done)
	batch := make([]Message, 0, e.cfg.batchSize)
	batchBytes := 0
	var firstAt time.Time
	timer := time.NewTimer(idleWake)
	defer timer.Stop()

	for {
		for len(batch) < e.cfg.batchSize && batchBytes < e.cfg.batchBytes {
			m, ok := e.ring.Pop()
			if !ok {
				break
			}
			if len(batch) == 0 {
				firstAt = time.Now()
			}
			batch = append(batch, m)
			batchBytes += len(m.Value)
		}
		stopping := isClosed(e.stopped)
		if len(batch) > 0 {
			full := len(batch) >= e.cfg.batchSize || batchBytes >= e.cfg.batchBytes
			if full || stopping || e.flushes.Load() > 0 || time.Since(firstAt) >= e.cfg.linger {
				if !e.write(batch) {
					return // abandoned by Close
				}
				clear(batch)
				batch, batchBytes = batch[:0], 0
				e.warnLosses()
				continue
			}
		}
		if e.ring.Len() > 0 {
			if len(batch) == 0 || stopping {
				// A producer has claimed a slot and is about to publish it.
				runtime.Gosched()
				continue
			}
		} else if stopping && len(batch) == 0 {
			return // everything accepted has been settled
		}
		e.warnLosses()

		// Park. While a partial batch lingers, ask to be woken only when
		// the ring could fill the batch, not by every event.
		wait, threshold := idleWake, uint64(1)
		if len(batch) > 0 {
			wait = e.cfg.linger - time.Since(firstAt)
			threshold = uint64(e.cfg.batchSize - len(batch))
		}
		e.wakeAt.Store(threshold)
		if uint64(e.ring.Len()) >= threshold {
			e.wakeAt.Store(0)
			continue
		}
		timer.Reset(wait)
		select {
		case <-e.bell:
		case <-e.kick:
		case <-timer.C:
		}
		e.wakeAt.Store(0)
	}
}

// write offers batch to the sink until every message is delivered or has used
// its attempts. It returns false if Close abandoned the drainer.
func (e *Emitter) write(batch []Message) bool {
	pending := batch
	backoff := e.cfg.retryBackoff
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			e.retries.Add(1)
		}
		err := e.callSink(pending)
		if err == nil {
			return e.settle(len(pending), 0, nil)
		}
		failedIdx := recordFailures(err, len(pending))
		if failedIdx != nil {
			if ok := e.settle(len(pending)-len(failedIdx), 0, nil); !ok {
				return false
			}
			next := make([]Message, 0, len(failedIdx))
			for _, i := range failedIdx {
				next = append(next, pending[i])
			}
			pending = next
		}
		if attempt >= e.cfg.maxAttempts {
			return e.settle(0, len(pending), err)
		}
		if !e.sleep(backoff) {
			// Close's deadline passed during the backoff.
			return e.settle(0, len(pending), err)
		}
		backoff = min(backoff*2, e.cfg.maxBackoff)
	}
}

// callSink calls Sink.Write, turning a panic into an error for the batch.
func (e *Emitter) callSink(batch []Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("audit: sink panicked: %v", r)
		}
	}()
	return e.sink.Write(e.writeCtx, batch)
}

// recordFailures returns the sorted, distinct indexes named by a partial
// failure, or nil if err fails the whole batch (anything but a multierror
// made only of in-range *RecordError entries).
func recordFailures(err error, n int) []int {
	var me *multierror.Error
	if !errors.As(err, &me) || len(me.Errors) == 0 {
		return nil
	}
	seen := make([]bool, n)
	for _, inner := range me.Errors {
		var re *RecordError
		if !errors.As(inner, &re) || re.Index < 0 || re.Index >= n {
			return nil
		}
		seen[re.Index] = true
	}
	var idx []int
	for i, s := range seen {
		if s {
			idx = append(idx, i)
		}
	}
	return idx
}

// settle counts delivered and failed messages. It returns false, counting
// nothing, once Close has abandoned the drainer (Close counted them).
func (e *Emitter) settle(delivered, failed int, err error) bool {
	e.acctMu.Lock()
	if e.abandoned {
		e.acctMu.Unlock()
		return false
	}
	if delivered > 0 {
		e.delivered.Add(uint64(delivered))
		e.batches.Add(1)
	}
	if failed > 0 {
		mark := e.failed.Add(uint64(failed))
		if len(e.failures) == maxFailureLog {
			e.failures = append(e.failures[:0], e.failures[1:]...)
		}
		e.failures = append(e.failures, failEntry{mark: mark, err: err})
	}
	e.acctMu.Unlock()
	e.notifyProgress()
	return true
}

// sleep waits d, or less if Close's deadline passes; it reports whether the
// full wait elapsed.
func (e *Emitter) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.deadline:
		return false
	}
}

// Kinds of loss that are logged, rate limited per kind.
const (
	lossDropped = iota
	lossInvalid
	lossSanitized
	lossFailed
)

// warnLosses logs at most one warning per kind per warnInterval, with the
// count since the previous warning. Only the drainer calls it: Emit never
// logs.
func (e *Emitter) warnLosses() {
	now := time.Now()
	counts := [4]uint64{e.dropped.Load(), e.invalid.Load(), e.sanitized.Load(), e.failed.Load()}
	names := [4]string{"dropped (ring full)", "invalid", "sanitized", "failed (sink)"}
	for k, c := range counts {
		if c > e.warned[k] && now.Sub(e.warnedAt[k]) >= warnInterval {
			e.cfg.logger.Warn("audit: events "+names[k],
				"count", c-e.warned[k], "total", c, "producer_id", e.producerID)
			e.warned[k], e.warnedAt[k] = c, now
		}
	}
}
