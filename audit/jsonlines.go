package audit

import (
	"context"
	"io"
	"sync"

	"github.com/hashicorp/go-multierror"
)

// JSONLines returns a Sink that writes each message's value followed by "\n"
// to w, in batch order: exactly the bytes Kafka would carry, one event per
// line. A write error fails the message it occurred on and every later one in
// the batch. If w has a Sync() error or Flush() error method, the sink's Flush
// calls it.
func JSONLines(w io.Writer) Sink { return &jsonLines{w: w} }

type jsonLines struct {
	mu  sync.Mutex // serialises writes and flushes to w
	w   io.Writer
	buf []byte // guarded by mu; one batch, written with a single Write call
}

var (
	_ Sink    = (*jsonLines)(nil)
	_ Flusher = (*jsonLines)(nil)
)

func (s *jsonLines) Write(_ context.Context, batch []Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// One Write per batch; on a short write, work out which lines made it.
	s.buf = s.buf[:0]
	for _, m := range batch {
		s.buf = append(s.buf, m.Value...)
		s.buf = append(s.buf, '\n')
	}
	n, err := s.w.Write(s.buf)
	if err == nil && n == len(s.buf) {
		return nil
	}
	if err == nil {
		err = io.ErrShortWrite
	}
	var errs *multierror.Error
	end := 0
	for i, m := range batch {
		end += len(m.Value) + 1
		if end > n {
			errs = multierror.Append(errs, &RecordError{Index: i, Err: err})
		}
	}
	return errs.ErrorOrNil()
}

func (s *jsonLines) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch w := s.w.(type) {
	case interface{ Sync() error }:
		return w.Sync()
	case interface{ Flush() error }:
		return w.Flush()
	}
	return nil
}
