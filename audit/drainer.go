package audit

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/hashicorp/go-multierror"
)

// drain is the single goroutine that owns dequeueing, batching and every
// call to the sink. It parks when the ring is empty and is woken by the bell
// (an Emit reaching wakeAt), by Flush or Close, by the linger deadline of a
// partial batch, or by the idle max-wait.
func (e *Emitter) drain() {
	defer close(e.done)
	batch := e.newBatch()
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
				var ok bool
				if e.async != nil {
					ok = e.writeAsync(batch)
					batch = e.newBatch()
				} else {
					ok = e.write(batch)
					clear(batch)
					batch = batch[:0]
				}
				if !ok {
					return // abandoned by Close
				}
				batchBytes = 0
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
		}
		if !e.settleReady() {
			return
		}
		if stopping && len(batch) == 0 && e.ring.Len() == 0 {
			e.settleInFlight(0)
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
		var acked <-chan struct{} // the oldest in-flight batch settling
		if len(e.inFlight) > 0 {
			acked = e.inFlight[0].done
		}
		timer.Reset(wait)
		select {
		case <-e.bell:
		case <-e.kick:
		case <-timer.C:
		case <-acked:
		}
		e.wakeAt.Store(0)
	}
}

// inFlightBatch is a batch started with AsyncWriter.WriteAsync. A waiter
// goroutine calls its wait function and closes done, so that the drainer can
// park on the oldest batch's acknowledgement together with new events.
type inFlightBatch struct {
	batch []Message
	done  chan struct{}
	err   error // wait's result; written before done is closed
}

func (e *Emitter) newBatch() []Message {
	if n := len(e.spare); n > 0 {
		b := e.spare[n-1]
		e.spare = e.spare[:n-1]
		return b
	}
	return make([]Message, 0, e.cfg.batchSize)
}

// writeAsync starts batch on the AsyncWriter, first settling the oldest
// batch if the pipeline is full. It returns false if Close abandoned the
// drainer.
func (e *Emitter) writeAsync(batch []Message) bool {
	if len(e.inFlight) >= e.cfg.maxInFlight && !e.settleInFlight(e.cfg.maxInFlight-1) {
		return false
	}
	p := &inFlightBatch{batch: batch, done: make(chan struct{})}
	wait := e.callAsync(batch)
	go func() {
		p.err = callWait(wait)
		close(p.done)
	}()
	e.inFlight = append(e.inFlight, p)
	return true
}

// settleReady settles, oldest first, the in-flight batches that are already
// acknowledged, without waiting.
func (e *Emitter) settleReady() bool {
	for len(e.inFlight) > 0 && isClosed(e.inFlight[0].done) {
		if !e.settleOldest() {
			return false
		}
	}
	return true
}

// settleInFlight waits for the oldest in-flight batches until at most keep
// remain.
func (e *Emitter) settleInFlight(keep int) bool {
	for len(e.inFlight) > keep {
		<-e.inFlight[0].done
		if !e.settleOldest() {
			return false
		}
	}
	return true
}

// settleOldest counts the oldest in-flight batch, whose wait has returned,
// retrying its failed messages with Write.
func (e *Emitter) settleOldest() bool {
	p := e.inFlight[0]
	copy(e.inFlight, e.inFlight[1:])
	e.inFlight[len(e.inFlight)-1] = nil
	e.inFlight = e.inFlight[:len(e.inFlight)-1]
	defer func() {
		clear(p.batch)
		e.spare = append(e.spare, p.batch[:0])
	}()
	if p.err == nil {
		return e.settle(len(p.batch), 0, nil)
	}
	pending := p.batch
	if failedIdx := recordFailures(p.err, len(pending)); failedIdx != nil {
		if !e.settle(len(pending)-len(failedIdx), 0, nil) {
			return false
		}
		pending = pick(pending, failedIdx)
	}
	return e.deliver(pending, 2, p.err)
}

// callAsync starts a batch, turning a panic into a wait that fails it.
func (e *Emitter) callAsync(batch []Message) (wait func() error) {
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("audit: sink panicked: %v", r)
			wait = func() error { return err }
		}
	}()
	return e.async.WriteAsync(e.writeCtx, batch)
}

func callWait(wait func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("audit: sink panicked: %v", r)
		}
	}()
	return wait()
}

// write offers batch to the sink until every message is delivered or has
// used its attempts. It returns false if Close abandoned the drainer.
func (e *Emitter) write(batch []Message) bool { return e.deliver(batch, 1, nil) }

// deliver makes attempts from attempt on (lastErr is the error of the
// attempt before it), backing off before each retry.
func (e *Emitter) deliver(pending []Message, attempt int, lastErr error) bool {
	backoff := e.cfg.retryBackoff
	for i := 2; i < attempt; i++ {
		backoff = min(backoff*2, e.cfg.maxBackoff)
	}
	for ; ; attempt++ {
		if attempt > 1 {
			if attempt > e.cfg.maxAttempts || !e.sleep(backoff) {
				// Out of attempts, or Close's deadline passed in the backoff.
				return e.settle(0, len(pending), lastErr)
			}
			backoff = min(backoff*2, e.cfg.maxBackoff)
			e.retries.Add(1)
		}
		err := e.callSink(pending)
		if err == nil {
			return e.settle(len(pending), 0, nil)
		}
		lastErr = err
		if failedIdx := recordFailures(err, len(pending)); failedIdx != nil {
			if !e.settle(len(pending)-len(failedIdx), 0, nil) {
				return false
			}
			pending = pick(pending, failedIdx)
		}
	}
}

func pick(batch []Message, idx []int) []Message {
	out := make([]Message, 0, len(idx))
	for _, i := range idx {
		out = append(out, batch[i])
	}
	return out
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
