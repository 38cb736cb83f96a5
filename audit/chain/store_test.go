package chain_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

type storeUnderTest interface {
	chain.Store
	chain.CheckpointStore
}

var quietLog = slog.New(slog.DiscardHandler)

func storeKinds(t *testing.T) map[string]func(t *testing.T) storeUnderTest {
	return map[string]func(t *testing.T) storeUnderTest{
		"memory": func(t *testing.T) storeUnderTest { return chain.NewMemoryStore() },
		"file": func(t *testing.T) storeUnderTest {
			s, err := chain.OpenFileStore(t.TempDir(), chain.WithFsync(false), chain.WithFileLogger(quietLog))
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// appendAll appends a chain through the Store contract.
func appendAll(t testing.TB, s chain.Store, recs []canonical.Object) {
	t.Helper()
	ctx := context.Background()
	for _, r := range recs {
		tenant := r["tenant_id"].(string)
		h, _, err := s.Head(ctx, tenant)
		require.NoError(t, err)
		require.NoError(t, s.Append(ctx, tenant, h, r))
	}
}

func seqs(t testing.TB, recs []canonical.Object) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = seqOf(t, r)
	}
	return out
}

func TestStoreContract(t *testing.T) {
	for name, open := range storeKinds(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			a := buildChain(t, "a", 10)
			b := buildChain(t, "b", 3)
			_, ok, err := s.Head(ctx, "a")
			require.NoError(t, err)
			assert.False(t, ok)

			// A chain must start at a genesis with a zero expectation.
			assert.ErrorIs(t, s.Append(ctx, "a", chain.Head{}, a[1]), chain.ErrBadAppend)
			require.NoError(t, s.Append(ctx, "a", chain.Head{}, a[0]))
			assert.ErrorIs(t, s.Append(ctx, "a", chain.Head{}, a[0]), chain.ErrHeadMoved)
			h0, ok, err := s.Head(ctx, "a")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, int64(0), h0.Sequence)
			assert.Equal(t, a[0]["record_hash"], h0.Hash)
			assert.Equal(t, a[0]["timestamp"], h0.Timestamp)
			// A record that does not extend the expected head is refused.
			assert.ErrorIs(t, s.Append(ctx, "a", h0, a[2]), chain.ErrBadAppend)
			tampered := clone(a[1])
			tampered["severity"] = "critical"
			assert.ErrorIs(t, s.Append(ctx, "a", h0, tampered), chain.ErrBadAppend)
			assert.ErrorIs(t, s.Append(ctx, "b", chain.Head{}, a[0]), chain.ErrBadAppend, "other tenant")
			appendAll(t, s, a[1:])
			appendAll(t, s, b)
			// A stale expectation (another writer appended) is a conflict.
			assert.ErrorIs(t, s.Append(ctx, "a", h0, a[1]), chain.ErrHeadMoved)

			tenants, err := s.Tenants(ctx)
			require.NoError(t, err)
			assert.Equal(t, []string{"a", "b"}, tenants)

			all, err := s.Range(ctx, "a", 0, -1)
			require.NoError(t, err)
			assert.Equal(t, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, seqs(t, all))
			assert.True(t, chain.Verify(all, chain.VerifyStrict(), chain.VerifyFromGenesis()).Valid, "stored whole, re-verifies")
			for i := range all {
				assert.Equal(t, a[i], all[i])
			}
			part, _ := s.Range(ctx, "a", 3, 5)
			assert.Equal(t, []int64{3, 4, 5}, seqs(t, part))
			part, _ = s.Range(ctx, "a", 8, 100)
			assert.Equal(t, []int64{8, 9}, seqs(t, part))
			part, _ = s.Range(ctx, "a", 6, 2)
			assert.Empty(t, part)
			part, _ = s.Range(ctx, "nobody", 0, -1)
			assert.Empty(t, part)

			recent, _ := s.Recent(ctx, "a", 3)
			assert.Equal(t, []int64{7, 8, 9}, seqs(t, recent))
			recent, _ = s.Recent(ctx, "b", 30)
			assert.Equal(t, []int64{0, 1, 2}, seqs(t, recent))

			sample, _ := s.Sample(ctx, "a", 4)
			got := seqs(t, sample)
			assert.Len(t, got, 4)
			assert.IsIncreasing(t, got)
			sample, _ = s.Sample(ctx, "a", 40)
			assert.Len(t, sample, 10)

			inv, _ := s.ByInvestigation(ctx, "a", "inv-1")
			assert.Equal(t, []int64{1, 4, 7}, seqs(t, inv))

			// What a caller does with returned records does not reach the
			// store.
			all[4]["severity"] = "critical"
			again, _ := s.Range(ctx, "a", 4, 4)
			assert.Equal(t, "info", again[0]["severity"])

			// Checkpoints come back in sequence order.
			_, priv := newKey(t)
			for _, i := range []int{5, 2, 9} {
				require.NoError(t, s.AppendCheckpoint(ctx, checkpointAt(t, priv, a[i])))
			}
			cps, err := s.Checkpoints(ctx, "a")
			require.NoError(t, err)
			require.Len(t, cps, 3)
			assert.Equal(t, []int64{2, 5, 9}, []int64{cps[0].Sequence, cps[1].Sequence, cps[2].Sequence})
			none, _ := s.Checkpoints(ctx, "b")
			assert.Empty(t, none)

			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			_, _, err = s.Head(cancelled, "a")
			assert.ErrorIs(t, err, context.Canceled)
			_, err = s.Range(cancelled, "a", 0, -1)
			assert.ErrorIs(t, err, context.Canceled)
			assert.ErrorIs(t, s.Append(cancelled, "a", chain.Head{}, a[0]), context.Canceled)
		})
	}
}

func TestMemoryStoreJSONL(t *testing.T) {
	ctx := context.Background()
	s := chain.NewMemoryStore()
	appendAll(t, s, buildChain(t, "b", 4))
	appendAll(t, s, buildChain(t, "a", 3))
	_, priv := newKey(t)
	last, _ := s.Recent(ctx, "a", 1)
	require.NoError(t, s.AppendCheckpoint(ctx, checkpointAt(t, priv, last[0])))
	var buf bytes.Buffer
	require.NoError(t, s.WriteJSONL(&buf))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 8)
	for _, l := range lines {
		c, err := canonical.Canonicalize([]byte(l))
		require.NoError(t, err)
		assert.Equal(t, l, string(c), "one canonical record per line")
	}
	assert.Contains(t, lines[0], `"tenant_id":"a"`, "tenants sorted")
	assert.Contains(t, lines[7], `"checkpoint"`)

	back := chain.NewMemoryStore()
	require.NoError(t, back.ReadJSONL(&buf))
	var again bytes.Buffer
	require.NoError(t, back.WriteJSONL(&again))
	assert.Equal(t, strings.Join(lines, "\n")+"\n", again.String())

	// A line that does not extend its chain is refused with its number.
	bad := strings.Join([]string{lines[0], lines[2]}, "\n")
	err := chain.NewMemoryStore().ReadJSONL(strings.NewReader(bad))
	var je *chain.JSONLError
	require.ErrorAs(t, err, &je)
	assert.Equal(t, 2, je.Line)
	assert.ErrorIs(t, err, chain.ErrBadAppend)
	err = chain.NewMemoryStore().ReadJSONL(strings.NewReader(lines[0] + "\nnot json\n"))
	require.ErrorAs(t, err, &je)
	assert.Equal(t, 2, je.Line)
}

// Spec DESIGN §7: a restarted process loses nothing accepted.
func TestFileStoreReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := chain.OpenFileStore(dir, chain.WithFileLogger(quietLog))
	require.NoError(t, err)
	a := buildChain(t, "a", 6)
	appendAll(t, s, a[:4])
	_, priv := newKey(t)
	require.NoError(t, s.AppendCheckpoint(ctx, checkpointAt(t, priv, a[3])))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "idempotent")
	_, _, err = s.Head(ctx, "a")
	assert.ErrorIs(t, err, chain.ErrClosed)

	s, err = chain.OpenFileStore(dir, chain.WithFileLogger(quietLog))
	require.NoError(t, err)
	h, ok, err := s.Head(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(3), h.Sequence)
	appendAll(t, s, a[4:])
	cps, _ := s.Checkpoints(ctx, "a")
	assert.Len(t, cps, 1)
	inv, _ := s.ByInvestigation(ctx, "a", "inv-1")
	assert.Equal(t, []int64{1, 4}, seqs(t, inv))
	require.NoError(t, s.Close())

	// A crash mid-write leaves a partial line: it is truncated on open.
	f, err := os.OpenFile(filepath.Join(dir, chain.RecordsFile), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"audit_id":"019c`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	s, err = chain.OpenFileStore(dir, chain.WithFileLogger(quietLog))
	require.NoError(t, err)
	all, err := s.Range(ctx, "a", 0, -1)
	require.NoError(t, err)
	assert.Len(t, all, 6)
	assert.True(t, chain.Verify(all, chain.VerifyFromGenesis()).Valid)
	// and the next append lands after the last complete line.
	b := buildChain(t, "b", 2)
	appendAll(t, s, b)
	require.NoError(t, s.Close())
	s, err = chain.OpenFileStore(dir, chain.WithFileLogger(quietLog))
	require.NoError(t, err)
	tenants, _ := s.Tenants(ctx)
	assert.Equal(t, []string{"a", "b"}, tenants)
	require.NoError(t, s.Close())
}

func TestFileStoreRefusesCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s, err := chain.OpenFileStore(dir, chain.WithFsync(false))
	require.NoError(t, err)
	appendAll(t, s, buildChain(t, "a", 4))
	require.NoError(t, s.Close())
	path := filepath.Join(dir, chain.RecordsFile)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	// Drop line 3: line 4 no longer extends the chain.
	broken := bytes.Join([][]byte{lines[0], lines[1], lines[3]}, []byte("\n"))
	require.NoError(t, os.WriteFile(path, append(broken, '\n'), 0o600))
	_, err = chain.OpenFileStore(dir)
	var ce *chain.CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 3, ce.Line)
	assert.ErrorIs(t, err, chain.ErrBadAppend)
	require.NoError(t, os.WriteFile(path, []byte("{\"a\":1}\n\x00garbage\n"), 0o600))
	_, err = chain.OpenFileStore(dir)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 1, ce.Line)
	_, err = chain.OpenFileStore("")
	assert.Error(t, err)
	var notDir = filepath.Join(dir, chain.RecordsFile)
	_, err = chain.OpenFileStore(notDir)
	assert.True(t, err != nil && !errors.Is(err, chain.ErrClosed))
}
