package batch

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/taxonomy"
)

// recordingVS wraps a MemoryVectorStore and records calls and upsert times.
type recordingVS struct {
	*MemoryVectorStore
	clk        *fakeClock
	mu         sync.Mutex
	queries    [][3]string
	upserts    []Point
	upsertTime []time.Time
	failAt     int // 1-based upsert that fails; 0 never
}

func (r *recordingVS) PointsByModel(ctx context.Context, col, model, after string) ([]Point, error) {
	r.mu.Lock()
	r.queries = append(r.queries, [3]string{col, model, after})
	r.mu.Unlock()
	return r.MemoryVectorStore.PointsByModel(ctx, col, model, after)
}

func (r *recordingVS) UpsertPoint(ctx context.Context, col string, p Point) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAt > 0 && len(r.upserts)+1 == r.failAt {
		return errBoom
	}
	r.upserts = append(r.upserts, p)
	if r.clk != nil {
		r.upsertTime = append(r.upsertTime, r.clk.Now())
	}
	return r.MemoryVectorStore.UpsertPoint(ctx, col, p)
}

func seed(t *testing.T, n int) *recordingVS {
	t.Helper()
	vs := &recordingVS{MemoryVectorStore: NewMemoryVectorStore()}
	for i := 1; i <= n; i++ {
		require.NoError(t, vs.MemoryVectorStore.UpsertPoint(bg, DefaultCollection,
			Point{ID: fmt.Sprintf("p%03d", i), Vector: []float32{0}, Payload: map[string]any{PayloadEmbeddingModelID: "old-model", "n": i}}))
	}
	return vs
}

func newTestMigrator(t *testing.T, vs VectorStore, cs CheckpointStore, embed Embedder, opts ...Option) *Migrator {
	t.Helper()
	m, err := NewMigrator(vs, cs, embed, "old-model", "new-model", append([]Option{WithLogger(quiet), WithRateLimit(0)}, opts...)...)
	require.NoError(t, err)
	return m
}

// Checklist 100 and 101.
func TestMigratorCheckpoints(t *testing.T) {
	cs := NewMemoryCheckpointStore()
	m := newTestMigrator(t, seed(t, 0), cs, constEmbedder)
	_, ok, err := m.LastCheckpoint(bg)
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, m.Checkpoint(bg, "point-50", 50))
	got := cs.Checkpoints()
	require.Len(t, got, 1)
	assert.Equal(t, "point-50", got[0].LastPointID)
	assert.Equal(t, 50, got[0].PointsMigrated)
	assert.Equal(t, "old-model", got[0].OldModel)
	assert.Equal(t, "new-model", got[0].NewModel)
	assert.Equal(t, "incident_embeddings", got[0].Collection)
	require.NoError(t, m.Checkpoint(bg, "point-42", 42))
	last, ok, err := m.LastCheckpoint(bg)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "point-42", last)
}

// Checklist 102 and 119 (no event for 0 points).
func TestMigratorNoPoints(t *testing.T) {
	rec := &recorder{}
	cs := NewMemoryCheckpointStore()
	res, err := newTestMigrator(t, seed(t, 0), cs, constEmbedder, WithAuditProducer(rec)).Run(bg, "")
	require.NoError(t, err)
	assert.Equal(t, 0, res.PointsMigrated)
	assert.Equal(t, "completed", res.Status)
	assert.Empty(t, cs.Checkpoints())
	assert.Empty(t, rec.all())
}

// Checklist 103.
func TestMigratorRun(t *testing.T) {
	vs := seed(t, 2)
	clk := newClock()
	m := newTestMigrator(t, vs, NewMemoryCheckpointStore(), constEmbedder, WithRateLimit(1000), WithClock(clk.Now), WithSleeper(clk.Sleep))
	res, err := m.Run(bg, "")
	require.NoError(t, err)
	assert.Equal(t, MigrationResult{OldModel: "old-model", NewModel: "new-model", Collection: DefaultCollection,
		PointsMigrated: 2, LastPointID: "p002", Status: "completed"}, res)
	require.Len(t, vs.upserts, 2)
	for _, p := range vs.upserts {
		assert.Equal(t, "new-model", p.Payload[PayloadEmbeddingModelID])
		assert.Equal(t, "2025-06", p.Payload[PayloadEmbeddingVersion])
		assert.Equal(t, []float32{1, 2}, p.Vector)
	}
	assert.Equal(t, 1, vs.upserts[0].Payload["n"], "the rest of the payload is kept")
	pr := m.Progress()
	assert.Equal(t, "completed", pr.Status)
	assert.Equal(t, 2, pr.PointsMigrated)
	assert.Equal(t, 2, pr.PointsTotal)
}

// Checklist 104: same single point run twice (a store that keeps returning
// it, like the reference's mock) → same count (idempotent upsert by id).
func TestMigratorRunTwice(t *testing.T) {
	vs := &fixedVS{points: []Point{{ID: "p1", Payload: map[string]any{}}}}
	cs := NewMemoryCheckpointStore()
	m := newTestMigrator(t, vs, cs, constEmbedder)
	a, err := m.Run(bg, "")
	require.NoError(t, err)
	b, err := m.Run(bg, "")
	require.NoError(t, err)
	assert.Equal(t, a.PointsMigrated, b.PointsMigrated)
	assert.Equal(t, 1, b.PointsMigrated)
}

type fixedVS struct {
	points []Point
	after  []string
}

func (f *fixedVS) PointsByModel(_ context.Context, _, _, after string) ([]Point, error) {
	f.after = append(f.after, after)
	return f.points, nil
}
func (f *fixedVS) UpsertPoint(context.Context, string, Point) error { return nil }

// Checklist 105.
func TestMigratorResumeFrom(t *testing.T) {
	vs := seed(t, 3)
	res, err := newTestMigrator(t, vs, NewMemoryCheckpointStore(), constEmbedder).Run(bg, "p002")
	require.NoError(t, err)
	assert.Equal(t, [][3]string{{"incident_embeddings", "old-model", "p002"}}, vs.queries)
	assert.Equal(t, 1, res.PointsMigrated)

	// Without resumeFrom the latest in_progress checkpoint is used.
	vs = seed(t, 3)
	cs := NewMemoryCheckpointStore()
	m := newTestMigrator(t, vs, cs, constEmbedder)
	require.NoError(t, m.Checkpoint(bg, "p001", 1))
	_, err = m.Run(bg, "")
	require.NoError(t, err)
	assert.Equal(t, "p001", vs.queries[0][2])
	// A finished migration leaves a completed checkpoint, so it is not resumed.
	_, ok, _ := m.LastCheckpoint(bg)
	assert.False(t, ok)
}

// Checklist 106 and 107.
func TestProgressDefaultsAndConstants(t *testing.T) {
	p := NewProgress("a", "b", "c")
	assert.Equal(t, "in_progress", p.Status)
	assert.Zero(t, p.PointsMigrated)
	assert.Equal(t, 100, DefaultCheckpointEvery)
	assert.Equal(t, 10.0, DefaultRateLimitRPS)
	assert.Equal(t, "incident_embeddings", DefaultCollection)
}

// Checklist 108.
func TestMigratorCheckpointEvery100(t *testing.T) {
	cs := NewMemoryCheckpointStore()
	_, err := newTestMigrator(t, seed(t, 250), cs, constEmbedder).Run(bg, "")
	require.NoError(t, err)
	var got []string
	for _, c := range cs.Checkpoints() {
		got = append(got, fmt.Sprintf("%s/%d/%s", c.LastPointID, c.PointsMigrated, c.Status))
	}
	assert.Equal(t, []string{"p100/100/in_progress", "p200/200/in_progress", "p250/250/completed"}, got)
}

// Checklist 109 and 119 (failure event).
func TestMigratorEmbedFailure(t *testing.T) {
	n := 0
	embed := func(context.Context, map[string]any) ([]float32, error) {
		n++
		if n == 3 {
			return nil, errBoom
		}
		return []float32{1}, nil
	}
	rec := &recorder{}
	cs := NewMemoryCheckpointStore()
	m := newTestMigrator(t, seed(t, 5), cs, embed, WithAuditProducer(rec))
	_, err := m.Run(bg, "")
	require.ErrorIs(t, err, errBoom)
	cps := cs.Checkpoints()
	require.Len(t, cps, 1)
	assert.Equal(t, "p002", cps[0].LastPointID)
	assert.Equal(t, 2, cps[0].PointsMigrated)
	assert.Equal(t, "in_progress", cps[0].Status, "a later run resumes from it")
	evs := rec.ofType(taxonomy.EmbeddingReindexed)
	require.Len(t, evs, 1)
	assert.Equal(t, "failed", evs[0].Outcome["outcome_status"])
	assert.Equal(t, taxonomy.SeverityWarning, evs[0].Severity)
	assert.Contains(t, evs[0].Outcome["error_details"], "boom")
	assert.Equal(t, 2, evs[0].Context["points_migrated"])

	// Resume: the next run continues after p002.
	n = 10
	res, err := m.Run(bg, "")
	require.NoError(t, err)
	assert.Equal(t, 3, res.PointsMigrated)
}

func TestMigratorUpsertFailure(t *testing.T) {
	vs := seed(t, 3)
	vs.failAt = 1
	rec := &recorder{}
	cs := NewMemoryCheckpointStore()
	_, err := newTestMigrator(t, vs, cs, constEmbedder, WithAuditProducer(rec)).Run(bg, "")
	require.ErrorIs(t, err, errBoom)
	assert.Empty(t, cs.Checkpoints(), "nothing migrated, nothing to checkpoint")
	assert.Empty(t, rec.all(), "no event for a run that moved nothing")
}

// Checklist 110.
func TestNewMigratorRequiresPorts(t *testing.T) {
	_, err := NewMigrator(NewMemoryVectorStore(), NewMemoryCheckpointStore(), nil, "a", "b")
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewMigrator(nil, NewMemoryCheckpointStore(), constEmbedder, "a", "b")
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewMigrator(NewMemoryVectorStore(), nil, constEmbedder, "a", "b")
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewMigrator(NewMemoryVectorStore(), NewMemoryCheckpointStore(), constEmbedder, "a", "a")
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewMigrator(NewMemoryVectorStore(), NewMemoryCheckpointStore(), constEmbedder, "a", "b", WithCountThreshold(3))
	require.ErrorIs(t, err, ErrInvalidConfig, "a scheduler option is refused")
}

// Checklist 111.
func TestMigratorRateLimit(t *testing.T) {
	clk := newClock()
	vs := seed(t, 5)
	vs.clk = clk
	_, err := newTestMigrator(t, vs, NewMemoryCheckpointStore(), constEmbedder, WithRateLimit(10),
		WithClock(clk.Now), WithSleeper(clk.Sleep)).Run(bg, "")
	require.NoError(t, err)
	require.Len(t, vs.upsertTime, 5)
	assert.Equal(t, t0, vs.upsertTime[0], "the first point is not delayed")
	for i := 1; i < 5; i++ {
		assert.GreaterOrEqual(t, vs.upsertTime[i].Sub(vs.upsertTime[i-1]), 100*time.Millisecond)
	}
}

func TestMigratorRateLimitHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	n := 0
	embed := func(context.Context, map[string]any) ([]float32, error) {
		n++
		if n == 1 {
			cancel()
		}
		return []float32{1}, nil
	}
	cs := NewMemoryCheckpointStore()
	_, err := newTestMigrator(t, seed(t, 5), cs, embed, WithRateLimit(0.001)).Run(ctx, "")
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, n)
	require.Len(t, cs.Checkpoints(), 1, "the migrated point is checkpointed")
}

// embedding.reindexed on success (checklist 119).
func TestReindexedEvent(t *testing.T) {
	rec := &recorder{}
	clk := newClock()
	_, err := newTestMigrator(t, seed(t, 2), NewMemoryCheckpointStore(), constEmbedder, WithAuditProducer(rec),
		WithRateLimit(1), WithClock(clk.Now), WithSleeper(clk.Sleep)).Run(bg, "")
	require.NoError(t, err)
	evs := rec.ofType(taxonomy.EmbeddingReindexed)
	require.Len(t, evs, 1)
	e := evs[0]
	assert.Equal(t, "system", e.TenantID)
	assert.Equal(t, taxonomy.ActorSystem, e.ActorType)
	assert.Equal(t, "batch-scheduler", e.ActorID)
	assert.Equal(t, taxonomy.SeverityInfo, e.Severity)
	assert.Equal(t, 2, e.Context["points_migrated"])
	assert.Equal(t, "p002", e.Context["last_point_id"])
	assert.Equal(t, "", e.Context["resumed_from"])
	assert.Equal(t, "incident_embeddings", e.Context["collection"])
	assert.Equal(t, "old-model", e.Context["old_model"])
	assert.Equal(t, "new-model", e.Context["new_model"])
	assert.Equal(t, "success", e.Outcome["outcome_status"])
	assert.Equal(t, "embedding_reindexed", e.Outcome["action_taken"])
	assert.Equal(t, int64(1000), e.Outcome["duration_ms"], "one second of pacing on the fake clock")
}

func TestMigratorPacingWaitIsInterruptible(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	sleeper := func(ctx context.Context, d time.Duration) error {
		assert.Equal(t, 1000*time.Second, d)
		cancel() // the host shuts down while the migrator waits
		<-ctx.Done()
		return ctx.Err()
	}
	_, err := newTestMigrator(t, seed(t, 3), NewMemoryCheckpointStore(), constEmbedder, WithRateLimit(0.001),
		WithSleeper(sleeper), WithClock(newClock().Now)).Run(ctx, "")
	require.ErrorIs(t, err, context.Canceled)
}
