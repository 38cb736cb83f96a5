package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/taxonomy"
)

// newTestEmitter returns an Emitter over a fresh Recorder, closed at cleanup.
func newTestEmitter(t testing.TB, opts ...Option) (*Emitter, *Recorder) {
	t.Helper()
	rec := NewRecorder()
	e, err := New(rec, append([]Option{WithLogger(quietLogger)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		rec.Resume()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Close(ctx)
	})
	return e, rec
}

func validEvent() Event {
	return Event{TenantID: "tenant-alpha", Type: taxonomy.AlertClassified,
		ActorType: taxonomy.ActorAgent, ActorID: "orchestrator"}
}

func flush(t testing.TB, e *Emitter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.Flush(ctx))
}

func closeEmitter(t testing.TB, e *Emitter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.Close(ctx))
}

// decodeObj decodes one delivered value with literals preserved.
func decodeObj(t testing.TB, b []byte) canonical.Object {
	t.Helper()
	obj, err := canonical.DecodeObject(b)
	require.NoError(t, err, "value %s", b)
	return obj
}

// requireCanonical asserts that b is exactly the canonical form of itself.
func requireCanonical(t testing.TB, b []byte) {
	t.Helper()
	c, err := canonical.Canonicalize(b)
	require.NoError(t, err)
	require.Equal(t, string(c), string(b))
}

func fixedClock(ts string) func() time.Time {
	tm, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return tm }
}

func (s Stats) calls() uint64 { return s.Emitted + s.Dropped + s.Invalid + s.Closed }

func hmacHex(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return RedactedPrefix + hex.EncodeToString(m.Sum(nil))
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

var quietLogger = slog.New(slog.DiscardHandler)
