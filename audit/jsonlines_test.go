package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/go-multierror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONLinesWritesCanonicalLines(t *testing.T) {
	var buf bytes.Buffer
	e, err := New(JSONLines(&buf), WithLogger(quietLogger))
	require.NoError(t, err)
	for range 3 {
		e.Emit(validEvent())
	}
	closeEmitter(t, e)
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	require.Len(t, lines, 3)
	for i, l := range lines {
		requireCanonical(t, l)
		r, err := DecodeRecord(l)
		require.NoError(t, err)
		assert.Equal(t, uint64(i+1), r.ProducerSeq)
	}
}

// shortWriter accepts only the first n bytes, then fails.
type shortWriter struct {
	n   int
	buf bytes.Buffer
}

func (w *shortWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return w.buf.Write(p)
	}
	k := w.n
	w.buf.Write(p[:k])
	w.n = 0
	return k, errors.New("disk full")
}

func TestJSONLinesShortWriteFailsTheRest(t *testing.T) {
	w := &shortWriter{n: 5}
	s := JSONLines(w)
	batch := []Message{{Value: []byte("abc")}, {Value: []byte("de")}, {Value: []byte("f")}}
	// "abc\n" fits (4 bytes), "de\n" does not: messages 1 and 2 fail.
	err := s.Write(context.Background(), batch)
	var me *multierror.Error
	require.ErrorAs(t, err, &me)
	assert.Equal(t, []int{1, 2}, recordFailures(err, 3))
}

type syncWriter struct {
	bytes.Buffer
	syncs int
}

func (s *syncWriter) Sync() error { s.syncs++; return nil }

func TestJSONLinesFlushSyncsOrFlushes(t *testing.T) {
	sw := &syncWriter{}
	require.NoError(t, JSONLines(sw).(Flusher).Flush(context.Background()))
	assert.Equal(t, 1, sw.syncs)
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	s := JSONLines(bw)
	require.NoError(t, s.Write(context.Background(), []Message{{Value: []byte("{}")}}))
	assert.Zero(t, out.Len())
	require.NoError(t, s.(Flusher).Flush(context.Background()))
	assert.Equal(t, "{}\n", out.String())
}
