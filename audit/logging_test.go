package audit

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Losses are logged by the background goroutine, at most once per kind per
// interval, with counts; Emit itself never logs.
func TestLossWarningsAreRateLimited(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	rec := NewRecorder()
	e, err := New(rec, WithLogger(logger), WithRingSize(2))
	require.NoError(t, err)
	rec.Pause()
	for range 50 {
		e.Emit(validEvent())
		bad := validEvent()
		bad.TenantID = ""
		e.Emit(bad)
	}
	rec.Resume()
	flush(t, e)
	e.Emit(validEvent())
	flush(t, e)
	require.NoError(t, e.Close(context.Background()))
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, "events dropped"), out)
	assert.Equal(t, 1, strings.Count(out, "events invalid"), out)
	assert.Contains(t, out, "emitter closed with losses")
	assert.Contains(t, out, "invalid=50")
}
