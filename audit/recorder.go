package audit

import (
	"context"
	"slices"
	"sync"

	"github.com/socwarden/warden/taxonomy"
)

// Recorder is an in-memory Sink for tests: it keeps every message it is given,
// decodes them on demand, and can fail or stall on request to exercise the
// Emitter's retry, overflow and deadline paths. Safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	msgs     []Message     // guarded by mu
	changed  chan struct{} // guarded by mu; closed and replaced on every append
	failNext int           // guarded by mu
	failErr  error         // guarded by mu
	paused   chan struct{} // guarded by mu; non-nil while paused, closed by Resume
	closed   bool          // guarded by mu
}

var (
	_ Sink   = (*Recorder)(nil)
	_ Closer = (*Recorder)(nil)
)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// Write records batch. It blocks while the Recorder is paused (until Resume or
// ctx ends) and fails the whole batch if FailNext asked it to.
func (r *Recorder) Write(ctx context.Context, batch []Message) error {
	r.mu.Lock()
	for r.paused != nil {
		p := r.paused
		r.mu.Unlock()
		select {
		case <-p:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	if r.failNext > 0 {
		r.failNext--
		return r.failErr
	}
	r.msgs = append(r.msgs, batch...)
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// Close marks the Recorder closed (see Closed); recorded messages stay.
func (r *Recorder) Close(context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// Closed reports whether Close was called.
func (r *Recorder) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Messages returns a copy of the recorded messages in delivery order.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Records returns the recorded messages decoded. A message that does not
// decode (never the case for an Emitter's output) is skipped.
func (r *Recorder) Records() []Record {
	msgs := r.Messages()
	out := make([]Record, 0, len(msgs))
	for _, m := range msgs {
		if rec, err := DecodeRecord(m.Value); err == nil {
			out = append(out, rec)
		}
	}
	return out
}

// ByType returns the decoded records of one event type, in delivery order.
func (r *Recorder) ByType(t taxonomy.EventType) []Record {
	var out []Record
	for _, rec := range r.Records() {
		if rec.EventType == t {
			out = append(out, rec)
		}
	}
	return out
}

// Len returns the number of recorded messages.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// Reset forgets every recorded message.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.msgs = nil
	r.mu.Unlock()
}

// WaitFor blocks until at least n messages are recorded or ctx ends.
func (r *Recorder) WaitFor(ctx context.Context, n int) error {
	for {
		r.mu.Lock()
		have, ch := len(r.msgs), r.changed
		r.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// FailNext makes the next n calls to Write fail as a whole with err.
func (r *Recorder) FailNext(n int, err error) {
	r.mu.Lock()
	r.failNext, r.failErr = n, err
	r.mu.Unlock()
}

// Pause makes Write block until Resume (or its context ends).
func (r *Recorder) Pause() {
	r.mu.Lock()
	if r.paused == nil {
		r.paused = make(chan struct{})
	}
	r.mu.Unlock()
}

// Resume releases writes blocked by Pause.
func (r *Recorder) Resume() {
	r.mu.Lock()
	if r.paused != nil {
		close(r.paused)
		r.paused = nil
	}
	r.mu.Unlock()
}
