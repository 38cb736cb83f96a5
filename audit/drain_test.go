package audit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var fastRetry = WithRetryBackoff(time.Millisecond, 4*time.Millisecond)

// Checklist 18: a paused sink fills the ring; Emit keeps returning.
func TestEmitNeverBlocksOnFullRing(t *testing.T) {
	e, rec := newTestEmitter(t, WithRingSize(8), WithLinger(0))
	rec.Pause()
	// Let the drainer take one batch and block inside the paused Write, so
	// the ring state is deterministic: first get one event into the sink.
	_, ok := e.Emit(validEvent())
	require.True(t, ok)
	waitFor(t, func() bool { return e.ring.Len() == 0 })
	results := make([]bool, 0, 20)
	for range 20 {
		_, ok := e.Emit(validEvent())
		results = append(results, ok)
	}
	st := e.Stats()
	assert.Equal(t, uint64(1+8), st.Emitted)
	assert.Equal(t, uint64(12), st.Dropped)
	assert.Equal(t, uint64(21), st.LastSeq)
	for i, ok := range results {
		assert.Equal(t, i < 8, ok, "event %d", i)
	}
	rec.Resume()
	closeEmitter(t, e)
	st = e.Stats()
	assert.Equal(t, uint64(9), st.Delivered)
	assert.Equal(t, 9, rec.Len())

	// Checklist 33: the drops are a visible gap.
	tr := NewSeqTracker()
	for _, m := range rec.Messages() {
		tr.ObserveRecord(m.Value)
	}
	tr.Observe(e.ProducerID(), st.LastSeq+1) // a later event closes the tail gap
	assert.Equal(t, []SeqRange{{10, 21}}, tr.Missing(e.ProducerID()))
	assert.Equal(t, st.Dropped, tr.MissingCount(e.ProducerID()))
}

// The spec's own wording of checklist 18: 8 emitted, 12 dropped, with the
// drainer never having taken anything (it is blocked before the first pop).
func TestEmitRingSizeEightTwentyEvents(t *testing.T) {
	block := newBlockingSink()
	e, err := New(block, WithLogger(quietLogger), WithRingSize(8))
	require.NoError(t, err)
	// Occupy the drainer with a first write that blocks...
	_, ok := e.Emit(validEvent())
	require.True(t, ok)
	<-block.entered
	before := e.Stats()
	for range 20 {
		e.Emit(validEvent())
	}
	st := e.Stats()
	assert.Equal(t, uint64(8), st.Emitted-before.Emitted)
	assert.Equal(t, uint64(12), st.Dropped)
	assert.Equal(t, uint64(21), st.LastSeq)
	close(block.release)
	closeEmitter(t, e)
}

// blockingSink signals when a Write starts and blocks it until release.
type blockingSink struct {
	inner   *Recorder
	entered chan struct{} // one slot
	release chan struct{}
}

func newBlockingSink() *blockingSink {
	return &blockingSink{inner: NewRecorder(), entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (b *blockingSink) Write(ctx context.Context, batch []Message) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.inner.Write(ctx, batch)
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

// Checklist 19: 64 goroutines × 10,000 events against a sink paused for the
// whole run; every goroutine finishes before Resume.
func TestEmitStressPausedSink(t *testing.T) {
	e, rec := newTestEmitter(t, WithRingSize(1024))
	rec.Pause()
	const goroutines, each = 64, 10_000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				e.Emit(validEvent())
			}
		}()
	}
	wg.Wait() // all returned while the sink was still paused
	st := e.Stats()
	assert.Equal(t, uint64(goroutines*each), st.calls())
	assert.Equal(t, st.Emitted+st.Dropped, st.LastSeq)
	assert.LessOrEqual(t, st.Emitted, uint64(1024+DefaultBatchSize), "ring plus the batch held by the drainer")
	rec.Resume()
	closeEmitter(t, e)
	st = e.Stats()
	assert.Equal(t, st.Emitted, st.Delivered+st.Failed)
	assert.Equal(t, int(st.Delivered), rec.Len())
}

// Checklist 20.
func TestRetryThenDeliver(t *testing.T) {
	e, rec := newTestEmitter(t, fastRetry)
	rec.FailNext(2, errors.New("broker unavailable"))
	e.Emit(validEvent())
	flush(t, e)
	st := e.Stats()
	assert.Equal(t, uint64(1), st.Delivered)
	assert.Equal(t, uint64(2), st.Retries)
	assert.Zero(t, st.Failed)
}

// Checklist 21.
func TestRetryGivesUp(t *testing.T) {
	e, rec := newTestEmitter(t, fastRetry)
	sinkErr := errors.New("broker unavailable")
	rec.FailNext(100, sinkErr)
	e.Emit(validEvent())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Flush(ctx)
	require.ErrorIs(t, err, sinkErr)
	st := e.Stats()
	assert.Equal(t, uint64(1), st.Failed)
	assert.Equal(t, uint64(2), st.Retries, "3 attempts in total")
	assert.Zero(t, rec.Len())
}

// partialSink fails the messages at the given indexes of its first write.
type partialSink struct {
	mu     sync.Mutex
	fail   []int
	writes [][]uint64 // producer seqs per write
}

func (p *partialSink) Write(_ context.Context, batch []Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	seqs := make([]uint64, len(batch))
	for i, m := range batch {
		seqs[i] = m.Seq
	}
	p.writes = append(p.writes, seqs)
	if len(p.writes) > 1 {
		return nil
	}
	var errs *multierror.Error
	for _, i := range p.fail {
		errs = multierror.Append(errs, &RecordError{Index: i, Err: errors.New("record too large")})
	}
	return errs.ErrorOrNil()
}

// Checklist 22: only the named messages are retried.
func TestPartialFailureRetriesOnlyFailedMessages(t *testing.T) {
	sink := &partialSink{fail: []int{1}}
	e, err := New(sink, WithLogger(quietLogger), fastRetry, WithLinger(time.Hour))
	require.NoError(t, err)
	for range 3 {
		e.Emit(validEvent())
	}
	closeEmitter(t, e)
	require.Len(t, sink.writes, 2)
	assert.Equal(t, []uint64{1, 2, 3}, sink.writes[0])
	assert.Equal(t, []uint64{2}, sink.writes[1])
	st := e.Stats()
	assert.Equal(t, uint64(3), st.Delivered)
	assert.Equal(t, uint64(1), st.Retries)
}

// A multierror naming an index out of range is a whole-batch failure.
func TestRecordFailuresValidation(t *testing.T) {
	one := multierror.Append(nil, &RecordError{Index: 1, Err: errors.New("x")}, &RecordError{Index: 1, Err: errors.New("y")})
	assert.Equal(t, []int{1}, recordFailures(one, 3))
	out := multierror.Append(nil, &RecordError{Index: 3, Err: errors.New("x")})
	assert.Nil(t, recordFailures(out, 3))
	mixed := multierror.Append(nil, &RecordError{Index: 0, Err: errors.New("x")}, errors.New("other"))
	assert.Nil(t, recordFailures(mixed, 3))
	assert.Nil(t, recordFailures(errors.New("plain"), 3))
	wrapped := fmt.Errorf("produce: %w", multierror.Append(nil, &RecordError{Index: 2, Err: errors.New("x")}))
	assert.Equal(t, []int{2}, recordFailures(wrapped, 3))
}

type panicSink struct{ calls atomic.Int32 }

func (p *panicSink) Write(context.Context, []Message) error {
	if p.calls.Add(1) == 1 {
		panic("sink bug")
	}
	return nil
}

// Checklist 23.
func TestSinkPanicIsRecovered(t *testing.T) {
	sink := &panicSink{}
	e, err := New(sink, WithLogger(quietLogger), fastRetry)
	require.NoError(t, err)
	e.Emit(validEvent())
	flush(t, e)
	e.Emit(validEvent())
	closeEmitter(t, e)
	st := e.Stats()
	assert.Equal(t, uint64(2), st.Delivered)
	assert.Equal(t, uint64(1), st.Retries)
}

// Checklist 24.
func TestBatchSizeSplitsBatches(t *testing.T) {
	sink := &batchSizes{}
	e, err := New(sink, WithLogger(quietLogger), WithLinger(time.Hour))
	require.NoError(t, err)
	sink.gate = make(chan struct{})
	for range 300 {
		e.Emit(validEvent())
	}
	close(sink.gate)
	flush(t, e)
	closeEmitter(t, e)
	assert.Equal(t, []int{256, 44}, sink.sizes)
}

type batchSizes struct {
	mu    sync.Mutex
	gate  chan struct{}
	sizes []int
}

func (b *batchSizes) Write(_ context.Context, batch []Message) error {
	<-b.gate
	b.mu.Lock()
	b.sizes = append(b.sizes, len(batch))
	b.mu.Unlock()
	return nil
}

func TestBatchBytesSplitsBatches(t *testing.T) {
	sink := &batchSizes{gate: make(chan struct{})}
	close(sink.gate)
	e, err := New(sink, WithLogger(quietLogger), WithLinger(time.Hour), WithBatchBytes(1))
	require.NoError(t, err)
	for range 3 {
		e.Emit(validEvent())
	}
	flush(t, e)
	closeEmitter(t, e)
	assert.Equal(t, []int{1, 1, 1}, sink.sizes)
}

// Checklist 25: the linger timer alone delivers.
func TestLingerDelivers(t *testing.T) {
	e, rec := newTestEmitter(t, WithLinger(50*time.Millisecond))
	e.Emit(validEvent())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rec.WaitFor(ctx, 1))
	_ = e
}

// Checklist 26: Flush honours its deadline and drops nothing.
func TestFlushDeadline(t *testing.T) {
	e, rec := newTestEmitter(t)
	rec.Pause()
	for range 5 {
		e.Emit(validEvent())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.Flush(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	rec.Resume()
	flush(t, e)
	assert.Equal(t, 5, rec.Len())
	assert.Zero(t, e.Stats().Failed)
}

// Checklist 27.
func TestCloseDeliversQueued(t *testing.T) {
	e, rec := newTestEmitter(t, WithLinger(time.Hour))
	for range 100 {
		e.Emit(validEvent())
	}
	closeEmitter(t, e)
	st := e.Stats()
	assert.Equal(t, 100, rec.Len())
	assert.True(t, rec.Closed())
	assert.Zero(t, st.Queued)
	assert.Equal(t, st.Emitted, st.Delivered+st.Failed)
}

// Checklist 28: Close honours its deadline with a sink that does not return.
func TestCloseDeadlineCountsFailed(t *testing.T) {
	e, rec := newTestEmitter(t, WithLinger(0))
	rec.Pause()
	for range 10 {
		e.Emit(validEvent())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	st := e.Stats()
	assert.Equal(t, uint64(10), st.Failed)
	assert.Zero(t, st.Queued)
	assert.Equal(t, st.Emitted, st.Delivered+st.Failed)
	assert.Zero(t, rec.Len())
}

// stuckSink ignores its context: only Close returning by the deadline and
// the final accounting can be checked; its goroutine is released at the end.
type stuckSink struct{ release chan struct{} }

func (s *stuckSink) Write(context.Context, []Message) error { <-s.release; return nil }

func TestCloseDeadlineWithSinkIgnoringContext(t *testing.T) {
	sink := &stuckSink{release: make(chan struct{})}
	e, err := New(sink, WithLogger(quietLogger), WithLinger(0))
	require.NoError(t, err)
	for range 3 {
		e.Emit(validEvent())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, e.Close(ctx), context.DeadlineExceeded)
	st := e.Stats()
	assert.Equal(t, uint64(3), st.Failed)
	close(sink.release) // the late success must not be counted twice
	<-e.done
	st = e.Stats()
	assert.Equal(t, uint64(3), st.Failed)
	assert.Zero(t, st.Delivered)
}

// Checklist 29: concurrent Close, sink closed once, Emit afterwards is Closed.
func TestCloseIdempotentAndConcurrent(t *testing.T) {
	sink := &countingCloser{Recorder: NewRecorder()}
	e, err := New(sink, WithLogger(quietLogger))
	require.NoError(t, err)
	e.Emit(validEvent())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, e.Close(context.Background()))
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), sink.closes.Load())
	id, ok := e.Emit(validEvent())
	assert.False(t, ok)
	assert.Empty(t, id)
	assert.Equal(t, uint64(1), e.Stats().Closed)
	assert.NoError(t, e.Flush(context.Background()))
}

type countingCloser struct {
	*Recorder
	closes atomic.Int32
}

func (c *countingCloser) Close(ctx context.Context) error {
	c.closes.Add(1)
	return c.Recorder.Close(ctx)
}

// Close racing with many emitters: every call is counted exactly once and
// everything accepted is delivered.
func TestCloseRacesWithEmit(t *testing.T) {
	for range 5 {
		e, rec := newTestEmitter(t, WithRingSize(64))
		var wg sync.WaitGroup
		var calls atomic.Uint64
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2000 {
					e.Emit(validEvent())
					calls.Add(1)
				}
			}()
		}
		time.Sleep(time.Millisecond)
		closeEmitter(t, e)
		wg.Wait()
		st := e.Stats()
		assert.Equal(t, calls.Load(), st.calls())
		assert.Equal(t, st.Emitted, st.Delivered+st.Failed)
		assert.Equal(t, int(st.Delivered), rec.Len())
		assert.Zero(t, st.Failed)
	}
}

// Issue 2 reliability: ≥16 goroutines × 100k events under -race; the Stats
// invariants hold exactly, every delivered event decodes, no duplicates, and
// the SeqTracker's missing count equals Dropped + Failed.
func TestStressInvariantsAndGaps(t *testing.T) {
	const goroutines, each = 16, 100_000
	sink := &seqSink{tracker: NewSeqTracker()}
	e, err := New(sink, WithLogger(quietLogger), WithRingSize(4096), WithLinger(time.Millisecond))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := validEvent()
			ev.TenantID = fmt.Sprintf("tenant-%d", g%4)
			for i := range each {
				if i%1000 == 999 {
					ev.Type = "bogus" // a few invalid events in the mix
				} else {
					ev.Type = "alert.classified"
				}
				e.Emit(ev)
			}
		}()
	}
	wg.Wait()
	closeEmitter(t, e)
	st := e.Stats()
	assert.Equal(t, uint64(goroutines*each), st.calls())
	assert.Equal(t, uint64(goroutines*each/1000), st.Invalid)
	assert.Equal(t, st.Emitted+st.Dropped, st.LastSeq)
	assert.Equal(t, st.Emitted, st.Delivered+st.Failed)
	assert.Zero(t, st.Queued)
	assert.Equal(t, st.Delivered, sink.decoded.Load(), "every delivered event decodes")
	assert.Zero(t, sink.tracker.Duplicates())
	tr := sink.tracker
	tr.Observe(e.ProducerID(), st.LastSeq+1) // sentinel so a dropped tail counts as missing
	assert.Equal(t, st.Dropped+st.Failed, tr.MissingCount(e.ProducerID()))
	t.Logf("stats: %+v", st)
}

type seqSink struct {
	tracker *SeqTracker
	decoded atomic.Uint64
}

func (s *seqSink) Write(_ context.Context, batch []Message) error {
	for _, m := range batch {
		r, err := DecodeRecord(m.Value)
		if err != nil || r.ProducerSeq != m.Seq || r.AuditID != m.AuditID || r.TenantID != m.TenantID {
			continue
		}
		s.decoded.Add(1)
		s.tracker.Observe(r.ProducerID, r.ProducerSeq)
	}
	return nil
}
