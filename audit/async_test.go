package audit

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asyncSink is an AsyncWriter whose batches are acknowledged only when the
// test releases them, so the pipeline depth can be observed.
type asyncSink struct {
	mu       sync.Mutex
	started  [][]uint64 // seqs per WriteAsync, in call order
	written  [][]uint64 // seqs per synchronous Write (retries)
	release  chan struct{}
	failIdx  map[int][]int // WriteAsync call number → failed indexes
	panicAt  int           // WriteAsync call number that panics (1-based; 0 none)
	startedC chan int      // receives the call number of each WriteAsync
}

func newAsyncSink() *asyncSink {
	return &asyncSink{release: make(chan struct{}), failIdx: map[int][]int{}, startedC: make(chan int, 100)}
}

func seqs(batch []Message) []uint64 {
	out := make([]uint64, len(batch))
	for i, m := range batch {
		out[i] = m.Seq
	}
	return out
}

func (s *asyncSink) Write(_ context.Context, batch []Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written = append(s.written, seqs(batch))
	return nil
}

func (s *asyncSink) WriteAsync(ctx context.Context, batch []Message) func() error {
	s.mu.Lock()
	s.started = append(s.started, seqs(batch))
	n := len(s.started)
	fail := s.failIdx[n]
	panicNow := n == s.panicAt
	s.mu.Unlock()
	s.startedC <- n
	if panicNow {
		panic("async sink bug")
	}
	return func() error {
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
		var errs *multierror.Error
		for _, i := range fail {
			errs = multierror.Append(errs, &RecordError{Index: i, Err: errors.New("rejected")})
		}
		return errs.ErrorOrNil()
	}
}

// Up to WithMaxInFlight batches are started before the first is
// acknowledged, in order; all are then delivered.
func TestAsyncWriterKeepsBatchesInFlight(t *testing.T) {
	sink := newAsyncSink()
	e, err := New(sink, WithLogger(quietLogger), WithBatchSize(10), WithLinger(time.Hour), WithMaxInFlight(3))
	require.NoError(t, err)
	for range 50 {
		e.Emit(validEvent())
	}
	for want := 1; want <= 3; want++ {
		select {
		case n := <-sink.startedC:
			assert.Equal(t, want, n)
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("batch %d not started; stats %+v wakeAt %d ring %d\n%s", want, e.Stats(), e.wakeAt.Load(), e.ring.Len(), buf[:n])
		}
	}
	select {
	case n := <-sink.startedC:
		t.Fatalf("batch %d started beyond the in-flight limit", n)
	case <-time.After(50 * time.Millisecond):
	}
	assert.Zero(t, e.Stats().Delivered)
	close(sink.release)
	closeEmitter(t, e)
	st := e.Stats()
	assert.Equal(t, uint64(50), st.Delivered)
	var all []uint64
	for _, b := range sink.started {
		all = append(all, b...)
	}
	for i, s := range all {
		assert.Equal(t, uint64(i+1), s, "batches start in ring order")
	}
	assert.Empty(t, sink.written)
}

// A failure reported by wait is retried with Write, only for the failed
// messages; a panic in WriteAsync fails the whole batch, which is retried.
func TestAsyncWriterFailuresAreRetried(t *testing.T) {
	sink := newAsyncSink()
	sink.failIdx[1] = []int{2}
	sink.panicAt = 2
	close(sink.release)
	e, err := New(sink, WithLogger(quietLogger), WithBatchSize(5), WithLinger(time.Hour), fastRetry)
	require.NoError(t, err)
	for range 10 {
		e.Emit(validEvent())
	}
	closeEmitter(t, e)
	st := e.Stats()
	assert.Equal(t, uint64(10), st.Delivered)
	assert.Zero(t, st.Failed)
	assert.Equal(t, uint64(2), st.Retries)
	assert.ElementsMatch(t, [][]uint64{{3}, {6, 7, 8, 9, 10}}, sink.written)
}

// With one batch in flight the Emitter uses plain Write.
func TestMaxInFlightOneUsesWrite(t *testing.T) {
	sink := newAsyncSink()
	e, err := New(sink, WithLogger(quietLogger), WithMaxInFlight(1))
	require.NoError(t, err)
	e.Emit(validEvent())
	closeEmitter(t, e)
	assert.Empty(t, sink.started)
	assert.Len(t, sink.written, 1)
}

// Close's deadline cuts off batches whose acknowledgement never comes.
func TestAsyncWriterCloseDeadline(t *testing.T) {
	sink := newAsyncSink() // never released
	e, err := New(sink, WithLogger(quietLogger), WithBatchSize(5), WithLinger(0))
	require.NoError(t, err)
	for range 20 {
		e.Emit(validEvent())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, e.Close(ctx), context.DeadlineExceeded)
	st := e.Stats()
	assert.Equal(t, st.Emitted, st.Delivered+st.Failed)
	assert.Zero(t, st.Queued)
}
