package chain

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
)

// Chainer defaults.
const (
	// DefaultDedupWindow is how many of a tenant's latest records are
	// remembered to skip redelivered events (Kafka delivery is at least
	// once).
	DefaultDedupWindow = 1024
	// DefaultConflictRetries is how often Ingest reloads the head and tries
	// again after another writer moved it.
	DefaultConflictRetries = 3
	// DefaultCheckpointEvery is the number of records per tenant between
	// signed checkpoints.
	DefaultCheckpointEvery = 1000
	// DefaultCheckpointInterval is how often a tenant whose head moved since
	// its last checkpoint gets one, however few records it took.
	DefaultCheckpointInterval = time.Minute
)

// ErrInvalidConfig is matched by errors.Is for every configuration error of
// New and NewScheduler.
var ErrInvalidConfig = errors.New("chain: invalid configuration")

// ChainerStats are the Chainer's counters.
type ChainerStats struct {
	Chained          uint64 // events linked and stored
	Geneses          uint64 // genesis records written
	Duplicates       uint64 // events skipped by the dedup window
	Malformed        uint64 // events refused as malformed
	Conflicts        uint64 // appends refused with ErrHeadMoved
	Checkpoints      uint64 // checkpoints signed and stored
	CheckpointErrors uint64 // checkpoints that could not be signed or stored
}

// Chainer assigns each tenant's events a gap-free sequence and links them
// into the tenant's hash chain in a Store. Tenants proceed in parallel;
// each tenant's events are serialised by a per-tenant lock, and Store.Append
// is conditional on the head, so several Chainers (processes) may share a
// store without forking a chain. A Chainer is an audit.Sink, so an Emitter
// can chain in process. Safe for concurrent use.
type Chainer struct {
	store Store
	cps   CheckpointStore // nil without a signer
	cfg   chainerConfig

	mu      sync.Mutex              // guards tenants
	tenants map[string]*tenantChain // one per tenant seen

	chained, geneses, dups, malformed, conflicts, checkpoints, checkpointErrs atomic.Uint64

	stop      chan struct{} // closed by Close to end the checkpoint timer
	timerDone chan struct{} // closed when the timer goroutine has exited
	closeOnce sync.Once
}

var (
	_ audit.Sink   = (*Chainer)(nil)
	_ audit.Closer = (*Chainer)(nil)
)

// tenantChain is the Chainer's state for one tenant; mu guards every field.
type tenantChain struct {
	mu           sync.Mutex
	loaded       bool
	head         Head
	window       dedupWindow
	sinceSigned  int   // records since the last checkpoint
	signedUpTo   int64 // sequence of the last checkpoint, -1 if none
	checkpointed bool  // signedUpTo is meaningful
}

// dedupWindow remembers the audit ids of a tenant's last n records.
type dedupWindow struct {
	ring []string
	pos  int
	set  map[string]int // id -> occurrences in ring
}

func (w *dedupWindow) reset(n int) {
	w.ring = make([]string, 0, min(n, 64))
	w.pos = 0
	w.set = map[string]int{}
}

func (w *dedupWindow) has(id string) bool { _, ok := w.set[id]; return ok }

func (w *dedupWindow) add(id string, n int) {
	if n == 0 || id == "" {
		return
	}
	if len(w.ring) < n {
		w.ring = append(w.ring, id)
	} else {
		old := w.ring[w.pos]
		if w.set[old]--; w.set[old] <= 0 {
			delete(w.set, old)
		}
		w.ring[w.pos] = id
		w.pos = (w.pos + 1) % n
	}
	w.set[id]++
}

type chainerConfig struct {
	clock           func() time.Time
	newID           func(time.Time) string
	dedup           int
	conflictRetries int
	logger          *slog.Logger
	signer          crypto.Signer
	cps             CheckpointStore
	every           int
	interval        time.Duration
	errs            []error
}

// Option configures a Chainer.
type Option func(*chainerConfig)

func (c *chainerConfig) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
}

// WithClock sets the clock for ingested_at, genesis timestamps and
// checkpoint times. This overrides the default of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *chainerConfig) {
		if now == nil {
			c.invalid("nil clock")
			return
		}
		c.clock = now
	}
}

// WithIDFunc sets how genesis records get their audit_id. This overrides
// the default of audit.NewIDAt (a UUIDv7).
func WithIDFunc(f func(time.Time) string) Option {
	return func(c *chainerConfig) {
		if f == nil {
			c.invalid("nil id function")
			return
		}
		c.newID = f
	}
}

// WithDedupWindow sets how many of each tenant's latest records are checked
// for an event with the same audit_id before chaining it; 0 disables
// deduplication. This overrides the default of 1,024.
func WithDedupWindow(n int) Option {
	return func(c *chainerConfig) {
		if n < 0 {
			c.invalid("negative dedup window %d", n)
			return
		}
		c.dedup = n
	}
}

// WithConflictRetries sets how many times Ingest reloads a moved head and
// tries again before giving up with ErrHeadMoved. This overrides the
// default of 3.
func WithConflictRetries(n int) Option {
	return func(c *chainerConfig) {
		if n < 0 {
			c.invalid("negative conflict retries %d", n)
			return
		}
		c.conflictRetries = n
	}
}

// WithLogger sets the logger for checkpoint failures. This overrides the
// default of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *chainerConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithCheckpointSigner turns on signed checkpoints, signed with signer (an
// ed25519.PrivateKey or a crypto.Signer holding an Ed25519 key, e.g. in a
// KMS). They are stored in the Store if it is a CheckpointStore (MemoryStore
// and FileStore are), else in the one given with WithCheckpointStore. By
// default no checkpoints are written.
func WithCheckpointSigner(signer crypto.Signer) Option {
	return func(c *chainerConfig) {
		if signer == nil {
			c.invalid("nil checkpoint signer")
			return
		}
		if _, ok := signer.Public().(ed25519.PublicKey); !ok {
			c.errs = append(c.errs, fmt.Errorf("%w: %w", ErrInvalidConfig, ErrSignerKey))
			return
		}
		c.signer = signer
	}
}

// WithCheckpointStore sets where checkpoints go. This overrides the default
// of the Store itself.
func WithCheckpointStore(cs CheckpointStore) Option {
	return func(c *chainerConfig) {
		if cs == nil {
			c.invalid("nil checkpoint store")
			return
		}
		c.cps = cs
	}
}

// WithCheckpointEvery sets the number of a tenant's records between
// checkpoints. This overrides the default of 1,000.
func WithCheckpointEvery(n int) Option {
	return func(c *chainerConfig) {
		if n <= 0 {
			c.invalid("checkpoint every %d records", n)
			return
		}
		c.every = n
	}
}

// WithCheckpointInterval sets how often every tenant whose head moved since
// its last checkpoint gets one; 0 turns the timer off. This overrides the
// default of one minute.
func WithCheckpointInterval(d time.Duration) Option {
	return func(c *chainerConfig) {
		if d < 0 {
			c.invalid("negative checkpoint interval %v", d)
			return
		}
		c.interval = d
	}
}

// New returns a Chainer over store.
func New(store Store, opts ...Option) (*Chainer, error) {
	cfg := chainerConfig{clock: time.Now, newID: audit.NewIDAt, dedup: DefaultDedupWindow,
		conflictRetries: DefaultConflictRetries, logger: slog.Default(),
		every: DefaultCheckpointEvery, interval: DefaultCheckpointInterval}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if store == nil {
		cfg.invalid("nil store")
	}
	if cfg.signer != nil && cfg.cps == nil {
		if cs, ok := store.(CheckpointStore); ok {
			cfg.cps = cs
		} else {
			cfg.invalid("checkpoint signer without a checkpoint store (the store is not a CheckpointStore)")
		}
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	c := &Chainer{store: store, cfg: cfg, tenants: map[string]*tenantChain{},
		stop: make(chan struct{}), timerDone: make(chan struct{})}
	if cfg.signer != nil {
		c.cps = cfg.cps
	}
	if c.cps != nil && cfg.interval > 0 {
		go c.checkpointTimer()
	} else {
		close(c.timerDone)
	}
	return c, nil
}

// Stats returns a snapshot of the counters.
func (c *Chainer) Stats() ChainerStats {
	return ChainerStats{Chained: c.chained.Load(), Geneses: c.geneses.Load(), Duplicates: c.dups.Load(),
		Malformed: c.malformed.Load(), Conflicts: c.conflicts.Load(), Checkpoints: c.checkpoints.Load(),
		CheckpointErrors: c.checkpointErrs.Load()}
}

func (c *Chainer) tenant(id string) *tenantChain {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[id]
	if t == nil {
		t = &tenantChain{}
		c.tenants[id] = t
	}
	return t
}

// Ingest chains one encoded event: decodes it (audit/canonical rules), and
// under the tenant's lock writes a genesis record first if the tenant has
// no chain, then the linked record. It returns the stored record, or nil
// and a nil error when the event's (tenant_id, audit_id) is among the
// tenant's last records (a redelivery, counted in Duplicates). An event
// that is not a JSON object or whose tenant_id is not a string is a
// *MalformedEventError and nothing is written; an absent tenant_id is ""
// as in the reference.
func (c *Chainer) Ingest(ctx context.Context, raw []byte) (canonical.Object, error) {
	obj, err := canonical.DecodeObject(raw)
	if err != nil {
		c.malformed.Add(1)
		return nil, &MalformedEventError{Err: err}
	}
	return c.IngestObject(ctx, obj)
}

// IngestObject is Ingest for an event already decoded into the value model
// of audit/canonical. event is not modified.
func (c *Chainer) IngestObject(ctx context.Context, event canonical.Object) (canonical.Object, error) {
	tenant, err := TenantOf(event)
	if err != nil {
		c.malformed.Add(1)
		return nil, &MalformedEventError{Err: err}
	}
	auditID, _ := event[KeyAuditID].(string)
	t := c.tenant(tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		if err := c.load(ctx, tenant, t); err != nil {
			return nil, err
		}
	}
	if c.cfg.dedup > 0 && auditID != "" && t.window.has(auditID) {
		c.dups.Add(1)
		return nil, nil
	}
	for attempt := 0; ; attempt++ {
		rec, err := c.appendOnce(ctx, tenant, t, event, auditID)
		if !errors.Is(err, ErrHeadMoved) {
			return rec, err
		}
		c.conflicts.Add(1)
		if attempt >= c.cfg.conflictRetries {
			return nil, fmt.Errorf("chain: tenant %q: %w after %d retries", tenant, ErrHeadMoved, attempt)
		}
		if err := c.load(ctx, tenant, t); err != nil {
			return nil, err
		}
		if c.cfg.dedup > 0 && auditID != "" && t.window.has(auditID) {
			c.dups.Add(1) // another writer chained it meanwhile
			return nil, nil
		}
	}
}

// appendOnce writes the genesis record if needed and the linked record,
// each conditional on the head t holds.
func (c *Chainer) appendOnce(ctx context.Context, tenant string, t *tenantChain, event canonical.Object, auditID string) (canonical.Object, error) {
	now := c.cfg.clock()
	if !t.head.Exists() {
		g := Genesis(tenant, c.cfg.newID(now), now)
		if err := c.store.Append(ctx, tenant, Head{}, g); err != nil {
			return nil, err
		}
		c.geneses.Add(1)
		c.advance(ctx, t, g)
	}
	rec, err := Link(event, t.head, now)
	if err != nil {
		c.malformed.Add(1)
		return nil, &MalformedEventError{Err: err}
	}
	if err := c.store.Append(ctx, tenant, t.head, rec); err != nil {
		return nil, err
	}
	c.chained.Add(1)
	c.advance(ctx, t, rec)
	return rec, nil
}

// advance moves t past rec, which was just stored.
func (c *Chainer) advance(ctx context.Context, t *tenantChain, rec canonical.Object) {
	h, _ := HeadOf(rec) // rec passed Store.Append's checks
	t.head = h
	id, _ := rec[KeyAuditID].(string)
	t.window.add(id, c.cfg.dedup)
	if c.cps == nil {
		return
	}
	t.sinceSigned++
	if t.sinceSigned >= c.cfg.every {
		c.signLocked(ctx, t)
	}
}

// load reads the tenant's head, the dedup window and the last checkpoint
// from the stores.
func (c *Chainer) load(ctx context.Context, tenant string, t *tenantChain) error {
	h, ok, err := c.store.Head(ctx, tenant)
	if err != nil {
		return fmt.Errorf("chain: loading head of %q: %w", tenant, err)
	}
	if !ok {
		h = Head{}
	}
	t.window.reset(c.cfg.dedup)
	if ok && c.cfg.dedup > 0 {
		recent, err := c.store.Recent(ctx, tenant, c.cfg.dedup)
		if err != nil {
			return fmt.Errorf("chain: loading recent records of %q: %w", tenant, err)
		}
		for _, r := range recent {
			id, _ := r[KeyAuditID].(string)
			t.window.add(id, c.cfg.dedup)
		}
	}
	if c.cps != nil && !t.loaded {
		cps, err := c.cps.Checkpoints(ctx, tenant)
		if err != nil {
			return fmt.Errorf("chain: loading checkpoints of %q: %w", tenant, err)
		}
		if n := len(cps); n > 0 {
			t.signedUpTo, t.checkpointed = cps[n-1].Sequence, true
			t.sinceSigned = int(max(h.Sequence-t.signedUpTo, 0))
		} else if ok {
			t.sinceSigned = int(h.Sequence + 1)
		}
	}
	t.head = h
	t.loaded = true
	return nil
}

// signLocked signs and stores a checkpoint of t's head; t.mu is held.
func (c *Chainer) signLocked(ctx context.Context, t *tenantChain) {
	cp, err := SignCheckpoint(c.cfg.signer, t.head, c.cfg.clock())
	if err == nil {
		err = c.cps.AppendCheckpoint(ctx, cp)
	}
	if err != nil {
		c.checkpointErrs.Add(1)
		c.cfg.logger.Warn("chain: checkpoint failed", "tenant_id", t.head.TenantID, "sequence", t.head.Sequence, "error", err)
		return
	}
	c.checkpoints.Add(1)
	t.sinceSigned = 0
	t.signedUpTo, t.checkpointed = t.head.Sequence, true
}

// CheckpointNow signs a checkpoint for every tenant whose head moved since
// its last checkpoint. The timer calls it; hosts may too (e.g. before a
// shutdown). It returns an error only when checkpoints are not configured
// or ctx ended.
func (c *Chainer) CheckpointNow(ctx context.Context) error {
	if c.cps == nil {
		return fmt.Errorf("%w: no checkpoint signer", ErrInvalidConfig)
	}
	c.mu.Lock()
	list := make([]*tenantChain, 0, len(c.tenants))
	for _, t := range c.tenants {
		list = append(list, t)
	}
	c.mu.Unlock()
	for _, t := range list {
		if err := ctx.Err(); err != nil {
			return err
		}
		t.mu.Lock()
		if t.loaded && t.head.Exists() && (!t.checkpointed || t.head.Sequence > t.signedUpTo) {
			c.signLocked(ctx, t)
		}
		t.mu.Unlock()
	}
	return nil
}

func (c *Chainer) checkpointTimer() {
	defer close(c.timerDone)
	tick := time.NewTicker(c.cfg.interval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.interval)
			_ = c.CheckpointNow(ctx)
			cancel()
		}
	}
}

// Write implements audit.Sink: each message's value is ingested in order.
// Messages that fail are reported as *audit.RecordError entries of a
// *multierror.Error so the Emitter retries only those.
func (c *Chainer) Write(ctx context.Context, batch []audit.Message) error {
	var errs *multierror.Error
	for i, m := range batch {
		if _, err := c.Ingest(ctx, m.Value); err != nil {
			errs = multierror.Append(errs, &audit.RecordError{Index: i, Err: err})
		}
	}
	return errs.ErrorOrNil()
}

// Close stops the checkpoint timer and, when checkpoints are on, signs a
// final checkpoint for every tenant whose head moved, so the chain's tail is
// covered. The Store is not closed (the host owns it). Idempotent.
func (c *Chainer) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.timerDone
		if c.cps != nil {
			err = c.CheckpointNow(ctx)
		}
	})
	return err
}
