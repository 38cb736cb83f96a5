package batch

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Migration statuses.
const (
	MigrationInProgress = "in_progress"
	MigrationCompleted  = "completed"
)

// Payload keys the migrator writes.
const (
	PayloadEmbeddingModelID = "embedding_model_id"
	PayloadEmbeddingVersion = "embedding_version"
)

// Point is one vector of a collection.
type Point struct {
	ID      string         `json:"id"`
	Vector  []float32      `json:"vector"`
	Payload map[string]any `json:"payload"`
}

// Progress is a migration's live state.
type Progress struct {
	OldModel       string    `json:"old_model"`
	NewModel       string    `json:"new_model"`
	Collection     string    `json:"collection"`
	LastPointID    string    `json:"last_point_id"`
	PointsMigrated int       `json:"points_migrated"`
	PointsTotal    int       `json:"points_total"`
	Status         string    `json:"status"`
	StartedAt      time.Time `json:"started_at,omitzero"`
	CompletedAt    time.Time `json:"completed_at,omitzero"`
}

// NewProgress returns an in-progress Progress with nothing migrated.
func NewProgress(oldModel, newModel, collection string) Progress {
	return Progress{OldModel: oldModel, NewModel: newModel, Collection: collection, Status: MigrationInProgress}
}

// Checkpoint records how far a migration got. Status is in_progress for
// checkpoints a later Run resumes from, completed for the final one.
type Checkpoint struct {
	OldModel       string    `json:"old_model"`
	NewModel       string    `json:"new_model"`
	Collection     string    `json:"collection"`
	LastPointID    string    `json:"last_point_id"`
	PointsMigrated int       `json:"points_migrated"`
	Status         string    `json:"status"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// MigrationResult is what Run did.
type MigrationResult struct {
	OldModel       string `json:"old_model"`
	NewModel       string `json:"new_model"`
	Collection     string `json:"collection"`
	PointsMigrated int    `json:"points_migrated"`
	LastPointID    string `json:"last_point_id"`
	Status         string `json:"status"`
}

// VectorStore reads and writes a vector collection.
type VectorStore interface {
	// PointsByModel returns the points of collection embedded with model
	// whose id sorts after startAfter ("" = from the start), in id order.
	PointsByModel(ctx context.Context, collection, model, startAfter string) ([]Point, error)
	// UpsertPoint writes p (same id overwrites).
	UpsertPoint(ctx context.Context, collection string, p Point) error
}

// CheckpointStore keeps migration checkpoints.
type CheckpointStore interface {
	SaveCheckpoint(ctx context.Context, c Checkpoint) error
	// LoadCheckpoint returns the last point id of the latest in_progress
	// checkpoint of (oldModel, newModel, collection).
	LoadCheckpoint(ctx context.Context, oldModel, newModel, collection string) (lastPointID string, ok bool, err error)
}

// Embedder computes a point's vector from its payload.
type Embedder func(ctx context.Context, payload map[string]any) ([]float32, error)

// Migrator re-embeds every point of a collection embedded with an old model
// using a new one, with checkpoints to resume from and a rate limit on
// upserts. Upserts keep point ids, so a re-run overwrites (idempotent). Run
// calls are serialised; Progress may be read concurrently.
type Migrator struct {
	vs       VectorStore
	cs       CheckpointStore
	embed    Embedder
	oldModel string
	newModel string
	cfg      config // read-only after NewMigrator

	runMu    sync.Mutex // serialises Run
	mu       sync.Mutex // guards progress
	progress Progress
}

// NewMigrator returns a Migrator; every port and both model names are
// required.
func NewMigrator(vs VectorStore, cs CheckpointStore, embed Embedder, oldModel, newModel string, opts ...Option) (*Migrator, error) {
	cfg, err := buildConfig(compMigrator, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case vs == nil:
		return nil, &ConfigError{Option: "vs", Reason: "nil VectorStore"}
	case cs == nil:
		return nil, &ConfigError{Option: "cs", Reason: "nil CheckpointStore"}
	case embed == nil:
		return nil, &ConfigError{Option: "embed", Reason: "nil Embedder"}
	case oldModel == "" || newModel == "":
		return nil, &ConfigError{Option: "models", Reason: "old and new model are required"}
	case oldModel == newModel:
		return nil, &ConfigError{Option: "models", Reason: "old and new model are the same"}
	}
	return &Migrator{vs: vs, cs: cs, embed: embed, oldModel: oldModel, newModel: newModel, cfg: cfg,
		progress: NewProgress(oldModel, newModel, cfg.collection)}, nil
}

// Progress returns the live progress.
func (m *Migrator) Progress() Progress {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.progress
}

func (m *Migrator) update(f func(*Progress)) {
	m.mu.Lock()
	f(&m.progress)
	m.mu.Unlock()
}

// Checkpoint saves an in_progress checkpoint at pointID.
func (m *Migrator) Checkpoint(ctx context.Context, pointID string, migrated int) error {
	return m.saveCheckpoint(ctx, pointID, migrated, MigrationInProgress)
}

func (m *Migrator) saveCheckpoint(ctx context.Context, pointID string, migrated int, status string) error {
	return m.cs.SaveCheckpoint(ctx, Checkpoint{OldModel: m.oldModel, NewModel: m.newModel, Collection: m.cfg.collection,
		LastPointID: pointID, PointsMigrated: migrated, Status: status, UpdatedAt: m.cfg.now()})
}

// LastCheckpoint returns the point id of the latest in_progress checkpoint.
func (m *Migrator) LastCheckpoint(ctx context.Context) (string, bool, error) {
	return m.cs.LoadCheckpoint(ctx, m.oldModel, m.newModel, m.cfg.collection)
}

// Run migrates from resumeFrom, else from the latest in_progress
// checkpoint, else from the start (spec §3.7). Points are re-embedded in
// order, upserted at most rate-limit per second, with a checkpoint every N
// points and a final one. On an embed or upsert error the last successful
// point is checkpointed and the error returned. embedding.reindexed is
// emitted at the end of a run that migrated at least one point.
func (m *Migrator) Run(ctx context.Context, resumeFrom string) (MigrationResult, error) {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	started := m.cfg.now()
	start := resumeFrom
	if start == "" {
		last, ok, err := m.LastCheckpoint(ctx)
		if err != nil {
			return MigrationResult{}, fmt.Errorf("batch: loading migration checkpoint: %w", err)
		}
		if ok {
			start = last
		}
	}
	points, err := m.vs.PointsByModel(ctx, m.cfg.collection, m.oldModel, start)
	if err != nil {
		return MigrationResult{}, fmt.Errorf("batch: listing points: %w", err)
	}
	m.update(func(p *Progress) {
		*p = NewProgress(m.oldModel, m.newModel, m.cfg.collection)
		p.PointsTotal, p.StartedAt, p.LastPointID = len(points), started, start
	})
	var interval time.Duration
	if m.cfg.rps > 0 {
		interval = time.Duration(float64(time.Second) / m.cfg.rps)
	}
	migrated, checkpointed, last := 0, 0, start
	var lastUpsert time.Time
	fail := func(err error) (MigrationResult, error) {
		if migrated > checkpointed {
			if cerr := m.Checkpoint(ctx, last, migrated); cerr != nil {
				m.cfg.logger.ErrorContext(ctx, "batch: saving migration checkpoint failed", "error", cerr)
			}
		}
		m.update(func(p *Progress) { p.Status = "failed" })
		if migrated > 0 {
			m.emitReindexed(start, last, migrated, started, err)
		}
		return MigrationResult{}, err
	}
	for i, pt := range points {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if i > 0 && interval > 0 {
			if wait := lastUpsert.Add(interval).Sub(m.cfg.now()); wait > 0 {
				if err := m.cfg.sleep(ctx, wait); err != nil {
					return fail(err)
				}
			}
		}
		vec, err := m.callEmbed(ctx, pt.Payload)
		if err != nil {
			return fail(fmt.Errorf("batch: embedding point %s: %w", pt.ID, err))
		}
		payload := maps.Clone(pt.Payload)
		if payload == nil {
			payload = map[string]any{}
		}
		now := m.cfg.now()
		payload[PayloadEmbeddingModelID] = m.newModel
		payload[PayloadEmbeddingVersion] = now.Format("2006-01")
		if err := m.vs.UpsertPoint(ctx, m.cfg.collection, Point{ID: pt.ID, Vector: vec, Payload: payload}); err != nil {
			return fail(fmt.Errorf("batch: upserting point %s: %w", pt.ID, err))
		}
		lastUpsert = now
		migrated++
		last = pt.ID
		m.update(func(p *Progress) { p.PointsMigrated, p.LastPointID = migrated, last })
		if migrated%m.cfg.checkpointEvery == 0 {
			if err := m.Checkpoint(ctx, last, migrated); err != nil {
				return fail(fmt.Errorf("batch: saving checkpoint: %w", err))
			}
			checkpointed = migrated
		}
	}
	if migrated > 0 {
		if err := m.saveCheckpoint(ctx, last, migrated, MigrationCompleted); err != nil {
			return fail(fmt.Errorf("batch: saving final checkpoint: %w", err))
		}
		m.emitReindexed(start, last, migrated, started, nil)
	}
	m.update(func(p *Progress) { p.Status, p.CompletedAt = MigrationCompleted, m.cfg.now() })
	return MigrationResult{OldModel: m.oldModel, NewModel: m.newModel, Collection: m.cfg.collection,
		PointsMigrated: migrated, LastPointID: last, Status: MigrationCompleted}, nil
}

func (m *Migrator) callEmbed(ctx context.Context, payload map[string]any) (v []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("embedder panicked: %v", r)
		}
	}()
	return m.embed(ctx, maps.Clone(payload))
}

func (m *Migrator) emitReindexed(start, last string, migrated int, started time.Time, runErr error) {
	if m.cfg.producer == nil {
		return
	}
	outcome := audit.Fields{
		audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess), audit.KeyActionTaken: actionEmbeddingReindexed,
		audit.KeyActionTarget: m.cfg.collection, audit.KeyDurationMS: m.cfg.now().Sub(started).Milliseconds(),
	}
	sev := taxonomy.SeverityInfo
	if runErr != nil {
		outcome[audit.KeyOutcomeStatus] = string(taxonomy.OutcomeFailed)
		outcome[audit.KeyErrorDetails] = clip(runErr.Error(), 500)
		sev = taxonomy.SeverityWarning
	}
	emit(&m.cfg, audit.Event{
		TenantID: systemTenant, Type: taxonomy.EmbeddingReindexed, Severity: sev,
		ActorType: taxonomy.ActorSystem, ActorID: ActorID,
		Context: audit.Fields{keyCollection: m.cfg.collection, keyOldModel: m.oldModel, keyNewModel: m.newModel,
			keyPointsMigrated: migrated, keyLastPointID: last, keyResumedFrom: start},
		Outcome: outcome,
	})
}

// MemoryVectorStore is an in-memory VectorStore: a point belongs to the
// model named by its payload's embedding_model_id. Safe for concurrent use.
type MemoryVectorStore struct {
	mu   sync.Mutex // guards cols
	cols map[string]map[string]Point
}

var _ VectorStore = (*MemoryVectorStore)(nil)

// NewMemoryVectorStore returns an empty store.
func NewMemoryVectorStore() *MemoryVectorStore {
	return &MemoryVectorStore{cols: map[string]map[string]Point{}}
}

func clonePoint(p Point) Point {
	p.Vector = slices.Clone(p.Vector)
	p.Payload = maps.Clone(p.Payload)
	return p
}

// PointsByModel implements VectorStore.
func (s *MemoryVectorStore) PointsByModel(_ context.Context, collection, model, startAfter string) ([]Point, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Point
	for id, p := range s.cols[collection] {
		if m, _ := p.Payload[PayloadEmbeddingModelID].(string); m == model && (startAfter == "" || id > startAfter) {
			out = append(out, clonePoint(p))
		}
	}
	slices.SortFunc(out, func(a, b Point) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// UpsertPoint implements VectorStore.
func (s *MemoryVectorStore) UpsertPoint(_ context.Context, collection string, p Point) error {
	if p.ID == "" {
		return fmt.Errorf("%w: point without id", ErrInvalidArgument)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cols[collection] == nil {
		s.cols[collection] = map[string]Point{}
	}
	s.cols[collection][p.ID] = clonePoint(p)
	return nil
}

// Points returns a collection's points in id order.
func (s *MemoryVectorStore) Points(collection string) []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Point
	for _, p := range s.cols[collection] {
		out = append(out, clonePoint(p))
	}
	slices.SortFunc(out, func(a, b Point) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// MemoryCheckpointStore is an in-memory CheckpointStore. Safe for concurrent
// use.
type MemoryCheckpointStore struct {
	mu  sync.Mutex // guards all
	all []Checkpoint
}

var _ CheckpointStore = (*MemoryCheckpointStore)(nil)

// NewMemoryCheckpointStore returns an empty store.
func NewMemoryCheckpointStore() *MemoryCheckpointStore { return &MemoryCheckpointStore{} }

// SaveCheckpoint implements CheckpointStore.
func (s *MemoryCheckpointStore) SaveCheckpoint(_ context.Context, c Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, c)
	return nil
}

// LoadCheckpoint implements CheckpointStore: the latest checkpoint of the
// triple, if it is in_progress.
func (s *MemoryCheckpointStore) LoadCheckpoint(_ context.Context, oldModel, newModel, collection string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.all) - 1; i >= 0; i-- {
		c := s.all[i]
		if c.OldModel == oldModel && c.NewModel == newModel && c.Collection == collection {
			if c.Status == MigrationInProgress {
				return c.LastPointID, true, nil
			}
			return "", false, nil
		}
	}
	return "", false, nil
}

// Checkpoints returns every saved checkpoint in order.
func (s *MemoryCheckpointStore) Checkpoints() []Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}
