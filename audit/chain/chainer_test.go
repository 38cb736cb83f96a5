package chain_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/taxonomy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var fixedNow = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

func newChainer(t testing.TB, s chain.Store, opts ...chain.Option) *chain.Chainer {
	t.Helper()
	c, err := chain.New(s, append([]chain.Option{chain.WithLogger(quietLog), chain.WithClock(fixedClock)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func eventBytes(t testing.TB, tenant string, i int) []byte {
	t.Helper()
	return eventJSON(t, event(tenant, fixedNow.Add(time.Duration(i)*time.Millisecond), i))
}

func TestChainerConfig(t *testing.T) {
	_, err := chain.New(nil)
	assert.ErrorIs(t, err, chain.ErrInvalidConfig)
	s := chain.NewMemoryStore()
	for name, opt := range map[string]chain.Option{
		"clock": chain.WithClock(nil), "id": chain.WithIDFunc(nil), "dedup": chain.WithDedupWindow(-1),
		"retries": chain.WithConflictRetries(-1), "signer": chain.WithCheckpointSigner(nil),
		"cps": chain.WithCheckpointStore(nil), "every": chain.WithCheckpointEvery(0),
		"interval": chain.WithCheckpointInterval(-time.Second),
	} {
		_, err := chain.New(s, opt)
		assert.ErrorIs(t, err, chain.ErrInvalidConfig, name)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = chain.New(s, chain.WithCheckpointSigner(ec))
	assert.ErrorIs(t, err, chain.ErrSignerKey)
	// A signer needs somewhere to put checkpoints.
	_, priv := newKey(t)
	_, err = chain.New(storeOnly{s}, chain.WithCheckpointSigner(priv))
	assert.ErrorIs(t, err, chain.ErrInvalidConfig)
	c, err := chain.New(s)
	require.NoError(t, err)
	assert.ErrorIs(t, c.CheckpointNow(context.Background()), chain.ErrInvalidConfig)
	require.NoError(t, c.Close(context.Background()))
}

// storeOnly hides a store's CheckpointStore methods.
type storeOnly struct{ chain.Store }

// Checklist 55: an empty store, one event: genesis (0) and the event (1).
func TestChainerGenesisThenEvent(t *testing.T) {
	ctx := context.Background()
	s := chain.NewMemoryStore()
	c := newChainer(t, s, chain.WithIDFunc(func(time.Time) string { return "genesis-id" }))
	rec, err := c.Ingest(ctx, eventBytes(t, "t1", 1))
	require.NoError(t, err)
	all, err := s.Range(ctx, "t1", 0, -1)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "system.genesis", all[0]["event_type"])
	assert.Equal(t, "genesis-id", all[0]["audit_id"])
	assert.Equal(t, "2026-03-02T08:00:00.000Z", all[0]["ingested_at"])
	assert.Equal(t, all[0]["record_hash"], all[1]["previous_hash"])
	assert.Equal(t, rec, all[1])
	assert.True(t, chain.Verify(all, chain.VerifyStrict(), chain.VerifyFromGenesis()).Valid)
	st := c.Stats()
	assert.Equal(t, uint64(1), st.Chained)
	assert.Equal(t, uint64(1), st.Geneses)
}

// Checklists 56, 57: sequences per tenant.
func TestChainerSequences(t *testing.T) {
	ctx := context.Background()
	s := chain.NewMemoryStore()
	c := newChainer(t, s)
	for i := 1; i <= 100; i++ {
		_, err := c.Ingest(ctx, eventBytes(t, "t1", i))
		require.NoError(t, err)
	}
	all, _ := s.Range(ctx, "t1", 0, -1)
	require.Len(t, all, 101)
	for i, r := range all {
		assert.Equal(t, int64(i), seqOf(t, r))
	}
	assert.True(t, chain.Verify(all).Valid)

	s2 := chain.NewMemoryStore()
	c2 := newChainer(t, s2)
	var got []int64
	for i, tn := range []string{"tenant-a", "tenant-b", "tenant-a"} {
		rec, err := c2.Ingest(ctx, eventBytes(t, tn, i))
		require.NoError(t, err)
		got = append(got, seqOf(t, rec))
	}
	assert.Equal(t, []int64{1, 1, 2}, got)
}

// Checklist 60: the same event twice is chained once.
func TestChainerDedup(t *testing.T) {
	ctx := context.Background()
	s := chain.NewMemoryStore()
	c := newChainer(t, s)
	ev := eventBytes(t, "t1", 1)
	r1, err := c.Ingest(ctx, ev)
	require.NoError(t, err)
	require.NotNil(t, r1)
	r2, err := c.Ingest(ctx, ev)
	require.NoError(t, err)
	assert.Nil(t, r2)
	assert.Equal(t, uint64(1), c.Stats().Duplicates)
	all, _ := s.Range(ctx, "t1", 0, -1)
	assert.Len(t, all, 2)

	// The window survives a restart (it is reloaded from the store) ...
	c2 := newChainer(t, s)
	r3, err := c2.Ingest(ctx, ev)
	require.NoError(t, err)
	assert.Nil(t, r3)
	// ... is bounded ...
	c3 := newChainer(t, s, chain.WithDedupWindow(2))
	for i := 2; i <= 4; i++ {
		_, err := c3.Ingest(ctx, eventBytes(t, "t1", i))
		require.NoError(t, err)
	}
	r4, err := c3.Ingest(ctx, ev)
	require.NoError(t, err)
	assert.NotNil(t, r4, "outside the window of 2")
	// ... and can be switched off.
	s5 := chain.NewMemoryStore()
	c5 := newChainer(t, s5, chain.WithDedupWindow(0))
	for range 2 {
		r, err := c5.Ingest(ctx, ev)
		require.NoError(t, err)
		assert.NotNil(t, r)
	}
}

// Checklist 61: malformed events are refused and nothing is written.
func TestChainerMalformed(t *testing.T) {
	ctx := context.Background()
	s := chain.NewMemoryStore()
	c := newChainer(t, s)
	for _, raw := range []string{`[1]`, `"x"`, `{"tenant_id":`, `{"tenant_id":5}`, `{"a":NaN}`, "{\"tenant_id\":\"\xff\"}"} {
		_, err := c.Ingest(ctx, []byte(raw))
		var me *chain.MalformedEventError
		assert.ErrorAs(t, err, &me, raw)
	}
	_, err := c.IngestObject(ctx, canonical.Object{"tenant_id": "t", "x": make(chan int)})
	var me *chain.MalformedEventError
	assert.ErrorAs(t, err, &me)
	tenants, _ := s.Tenants(ctx)
	assert.Equal(t, []string{"t"}, tenants, "only the genesis of t, whose event was unhashable")
	assert.Equal(t, uint64(7), c.Stats().Malformed)
	// An absent tenant_id chains under "" as in the reference.
	_, err = c.Ingest(ctx, []byte(`{"audit_id":"x"}`))
	require.NoError(t, err)
	h, ok, _ := s.Head(ctx, "")
	assert.True(t, ok)
	assert.Equal(t, int64(1), h.Sequence)
}

// Checklist 58: 50 goroutines × 100 events over 5 tenants, one Chainer:
// each tenant has a gap-free valid chain (stress, -race).
func TestChainerConcurrentStress(t *testing.T) {
	for name, open := range storeKinds(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			c := newChainer(t, s)
			var wg sync.WaitGroup
			for g := range 50 {
				wg.Go(func() {
					for i := range 100 {
						tn := fmt.Sprintf("tenant-%d", (g+i)%5)
						_, err := c.Ingest(ctx, eventBytes(t, tn, g*1000+i))
						assert.NoError(t, err)
					}
				})
			}
			wg.Wait()
			checkStoreChains(t, s, 5, 5000)
			assert.Equal(t, uint64(5000), c.Stats().Chained)
		})
	}
}

// checkStoreChains verifies every tenant's chain and counts records.
func checkStoreChains(t *testing.T, s chain.Store, tenants, events int) {
	t.Helper()
	ctx := context.Background()
	ids, err := s.Tenants(ctx)
	require.NoError(t, err)
	require.Len(t, ids, tenants)
	total := 0
	for _, tn := range ids {
		all, err := s.Range(ctx, tn, 0, -1)
		require.NoError(t, err)
		res := chain.Verify(all, chain.VerifyFromGenesis())
		require.True(t, res.Valid, "%s: %v", tn, res.Errors)
		seen := map[string]bool{}
		for i, r := range all {
			require.Equal(t, int64(i), seqOf(t, r))
			id := r["audit_id"].(string)
			require.False(t, seen[id], "duplicate %s", id)
			seen[id] = true
		}
		total += len(all) - 1
	}
	assert.Equal(t, events, total)
}

// Checklist 59: two Chainers sharing a store and tenants never use a
// sequence twice; conflicts happen and are retried.
func TestTwoChainersShareStore(t *testing.T) {
	for name, open := range storeKinds(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			c1 := newChainer(t, s, chain.WithConflictRetries(1000))
			c2 := newChainer(t, s, chain.WithConflictRetries(1000))
			var wg sync.WaitGroup
			for g := range 16 {
				c := []*chain.Chainer{c1, c2}[g%2]
				wg.Go(func() {
					for i := range 60 {
						tn := fmt.Sprintf("tenant-%d", i%2)
						_, err := c.Ingest(ctx, eventBytes(t, tn, g*1000+i))
						assert.NoError(t, err)
					}
				})
			}
			wg.Wait()
			checkStoreChains(t, s, 2, 16*60)
			assert.Equal(t, uint64(16*60), c1.Stats().Chained+c2.Stats().Chained)
			assert.Positive(t, c1.Stats().Conflicts+c2.Stats().Conflicts, "the two writers raced")
		})
	}
}

// After the retry budget a conflict is returned as ErrHeadMoved.
func TestChainerConflictBudget(t *testing.T) {
	ctx := context.Background()
	s := &movingStore{MemoryStore: chain.NewMemoryStore()}
	c := newChainer(t, s, chain.WithConflictRetries(2))
	_, err := c.Ingest(ctx, eventBytes(t, "t1", 1))
	require.NoError(t, err)
	s.alwaysMoved.Store(true)
	_, err = c.Ingest(ctx, eventBytes(t, "t1", 2))
	assert.ErrorIs(t, err, chain.ErrHeadMoved)
	assert.Equal(t, uint64(3), c.Stats().Conflicts)
}

type movingStore struct {
	*chain.MemoryStore
	alwaysMoved atomic.Bool
}

func (m *movingStore) Append(ctx context.Context, tenant string, expect chain.Head, rec canonical.Object) error {
	if m.alwaysMoved.Load() {
		return chain.ErrHeadMoved
	}
	return m.MemoryStore.Append(ctx, tenant, expect, rec)
}

// Checklist 62: an Emitter whose sink is a Chainer chains in process.
func TestEmitterIntoChainer(t *testing.T) {
	ctx := context.Background()
	s := chain.NewMemoryStore()
	c := newChainer(t, s)
	em, err := audit.New(c, audit.WithLogger(quietLog), audit.WithBatchSize(16))
	require.NoError(t, err)
	for i := range 200 {
		_, ok := em.Emit(audit.Event{TenantID: []string{"a", "b", "system"}[i%3], Type: taxonomy.AlertClassified,
			ActorType: taxonomy.ActorAgent, ActorID: "triage", Context: audit.Fields{"i": i, "f": 0.5}})
		require.True(t, ok)
	}
	require.NoError(t, em.Close(ctx))
	st := em.Stats()
	assert.Equal(t, uint64(200), st.Delivered)
	checkStoreChains(t, s, 3, 200)
	// Every producer_seq arrived.
	var lines [][]byte
	for _, tn := range []string{"a", "b", "system"} {
		all, _ := s.Range(ctx, tn, 0, -1)
		for _, r := range all {
			b, _ := canonical.Marshal(r)
			lines = append(lines, b)
		}
	}
	sv := chain.NewStreamVerifier(chain.VerifyFromGenesis())
	for _, l := range lines {
		sv.AddJSON(l)
	}
	rep := sv.Report()
	assert.Equal(t, chain.StatusValid, rep.Status)
	assert.Empty(t, rep.ProducerGaps)
	assert.Equal(t, 1, rep.Producers)
}

// The Sink side reports failing messages individually.
func TestChainerWritePartialFailure(t *testing.T) {
	s := chain.NewMemoryStore()
	c := newChainer(t, s)
	err := c.Write(context.Background(), []audit.Message{
		{TenantID: "a", Value: eventBytes(t, "a", 1)},
		{TenantID: "a", Value: []byte(`[not an object]`)},
		{TenantID: "a", Value: eventBytes(t, "a", 2)},
	})
	var re *audit.RecordError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Index)
	h, _, _ := s.Head(context.Background(), "a")
	assert.Equal(t, int64(2), h.Sequence)
}

// Signed checkpoints every N records, on a timer, and at Close; they verify
// and let the verifier catch a cut tail.
func TestChainerCheckpoints(t *testing.T) {
	ctx := context.Background()
	pub, priv := newKey(t)
	s := chain.NewMemoryStore()
	c := newChainer(t, s, chain.WithCheckpointSigner(priv), chain.WithCheckpointEvery(10), chain.WithCheckpointInterval(0))
	for i := range 24 {
		_, err := c.Ingest(ctx, eventBytes(t, "a", i))
		require.NoError(t, err)
	}
	cps, _ := s.Checkpoints(ctx, "a")
	require.Len(t, cps, 2) // genesis counts: after seq 9 and 19
	assert.Equal(t, []int64{9, 19}, []int64{cps[0].Sequence, cps[1].Sequence})
	require.NoError(t, c.Close(ctx))
	cps, _ = s.Checkpoints(ctx, "a")
	require.Len(t, cps, 3, "Close covers the tail")
	assert.Equal(t, int64(24), cps[2].Sequence)
	assert.Equal(t, uint64(3), c.Stats().Checkpoints)
	all, _ := s.Range(ctx, "a", 0, -1)
	res := chain.Verify(all, chain.WithCheckpoints(cps...), chain.WithPublicKeys(pub))
	assert.True(t, res.Valid, "%v", res.Errors)
	assert.Equal(t, 3, res.CheckpointsChecked)
	res = chain.Verify(all[:20], chain.WithCheckpoints(cps...), chain.WithPublicKeys(pub))
	assert.Equal(t, []chain.ErrorKind{chain.Truncated}, kinds(res))

	// A restarted Chainer continues the count from the stored checkpoints
	// and does not re-sign an unchanged head.
	c2 := newChainer(t, s, chain.WithCheckpointSigner(priv), chain.WithCheckpointEvery(10), chain.WithCheckpointInterval(0))
	for i := 100; i < 109; i++ {
		_, err := c2.Ingest(ctx, eventBytes(t, "a", i))
		require.NoError(t, err)
	}
	cps, _ = s.Checkpoints(ctx, "a")
	assert.Len(t, cps, 3)
	_, err := c2.Ingest(ctx, eventBytes(t, "a", 109))
	require.NoError(t, err)
	cps, _ = s.Checkpoints(ctx, "a")
	require.Len(t, cps, 4)
	assert.Equal(t, int64(34), cps[3].Sequence)
	require.NoError(t, c2.CheckpointNow(ctx))
	cps, _ = s.Checkpoints(ctx, "a")
	assert.Len(t, cps, 4, "head unchanged since the last checkpoint")
}

// notifyingCheckpoints signals every stored checkpoint.
type notifyingCheckpoints struct {
	*chain.MemoryStore
	stored chan chain.Checkpoint
	fail   atomic.Bool
}

func (n *notifyingCheckpoints) AppendCheckpoint(ctx context.Context, cp chain.Checkpoint) error {
	if n.fail.Load() {
		return errors.New("checkpoint store down")
	}
	if err := n.MemoryStore.AppendCheckpoint(ctx, cp); err != nil {
		return err
	}
	n.stored <- cp
	return nil
}

func TestChainerCheckpointTimer(t *testing.T) {
	ctx := context.Background()
	_, priv := newKey(t)
	s := chain.NewMemoryStore()
	cs := &notifyingCheckpoints{MemoryStore: s, stored: make(chan chain.Checkpoint, 16)}
	c := newChainer(t, s, chain.WithCheckpointSigner(priv), chain.WithCheckpointStore(cs),
		chain.WithCheckpointInterval(time.Millisecond))
	_, err := c.Ingest(ctx, eventBytes(t, "a", 1))
	require.NoError(t, err)
	select {
	case cp := <-cs.stored:
		assert.Equal(t, int64(1), cp.Sequence)
	case <-time.After(10 * time.Second):
		t.Fatal("the timer wrote no checkpoint")
	}
	require.NoError(t, c.Close(ctx))
	select {
	case cp := <-cs.stored:
		t.Fatalf("unexpected checkpoint %+v", cp)
	default:
	}
	// A failing checkpoint store is counted and never fails the record.
	cs.fail.Store(true)
	c2 := newChainer(t, chain.NewMemoryStore(), chain.WithCheckpointSigner(priv), chain.WithCheckpointStore(cs),
		chain.WithCheckpointEvery(1), chain.WithCheckpointInterval(0))
	_, err = c2.Ingest(ctx, eventBytes(t, "a", 1))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), c2.Stats().CheckpointErrors)
}

// A crypto.Signer other than ed25519.PrivateKey (as a KMS handle would be).
type kmsSigner struct{ crypto.Signer }

func TestChainerAcceptsSignerInterface(t *testing.T) {
	pub, priv := newKey(t)
	s := chain.NewMemoryStore()
	c := newChainer(t, s, chain.WithCheckpointSigner(kmsSigner{priv}), chain.WithCheckpointEvery(2))
	for i := range 3 {
		_, err := c.Ingest(context.Background(), eventBytes(t, "a", i))
		require.NoError(t, err)
	}
	cps, _ := s.Checkpoints(context.Background(), "a")
	require.Len(t, cps, 2)
	assert.NoError(t, cps[0].VerifySignature(pub))
}

// A FileStore-backed Chainer continues its chains after a restart.
func TestChainerFileStoreRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for round := range 3 {
		s, err := chain.OpenFileStore(dir, chain.WithFsync(false))
		require.NoError(t, err)
		c := newChainer(t, s)
		for i := range 10 {
			_, err := c.Ingest(ctx, eventBytes(t, "a", round*100+i))
			require.NoError(t, err)
		}
		require.NoError(t, c.Close(ctx))
		require.NoError(t, s.Close())
	}
	s, err := chain.OpenFileStore(dir)
	require.NoError(t, err)
	defer s.Close()
	checkStoreChains(t, s, 1, 30)
}
