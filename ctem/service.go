package ctem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Defaults.
const (
	DefaultLookupTimeout   = 2 * time.Second
	DefaultPublishTimeout  = 5 * time.Second
	DefaultMaxFindingBytes = 1 << 20
)

// Publisher sends messages to a topic (ctem.normalized and its dead-letter
// topic). A franz-go adapter lives in examples/; this package imports no
// Kafka client.
type Publisher interface {
	Publish(ctx context.Context, topic string, key, value []byte) error
}

// ConsequenceLookup resolves an asset's consequence from an asset graph; the
// Wiz normaliser uses it in preference to the zone table.
type ConsequenceLookup interface {
	Consequence(ctx context.Context, tenantID, assetID, assetZone string) (Consequence, error)
}

// Option configures a Service.
type Option func(*config)

type config struct {
	store           Store
	publisher       Publisher
	producer        audit.Producer
	clock           func() time.Time
	logger          *slog.Logger
	normalisers     map[Source]Normaliser
	zoneTable       map[string]Consequence
	lookup          ConsequenceLookup
	lookupTimeout   time.Duration
	owner           OwnerResolver
	defaultTenant   string
	publishTimeout  time.Duration
	maxFindingBytes int
	maxStreamBytes  int64
	errs            []error
}

// WithStore sets the store. This overrides the default of NewMemoryStore().
func WithStore(s Store) Option { return func(c *config) { c.store = s } }

// WithPublisher sets where normalised exposures and dead letters go. This
// overrides the default of none (nothing is published).
func WithPublisher(p Publisher) Option { return func(c *config) { c.publisher = p } }

// WithAuditProducer sets the audit producer. This overrides the default of
// none: no audit events, identical business results.
func WithAuditProducer(p audit.Producer) Option { return func(c *config) { c.producer = p } }

// WithClock sets the clock. This overrides the default of time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithLogger sets the logger. This overrides the default of slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithNormaliser adds a normaliser, or replaces the one of its Source. This
// overrides the default of the four built-ins only for n.Source().
func WithNormaliser(n Normaliser) Option {
	return func(c *config) {
		if n == nil || n.Source() == "" {
			c.errs = append(c.errs, errors.New("WithNormaliser: nil normaliser or empty source"))
			return
		}
		c.normalisers[n.Source()] = n
	}
}

// WithZoneConsequences replaces the zone → consequence table (validated by
// New). This overrides the default of the shared table of internal/zone.
func WithZoneConsequences(m map[string]Consequence) Option {
	return func(c *config) {
		c.zoneTable = make(map[string]Consequence, len(m))
		for z, con := range m {
			if !con.Valid() {
				c.errs = append(c.errs, fmt.Errorf("WithZoneConsequences: zone %q has invalid consequence %q", z, con))
			}
			c.zoneTable[z] = con
		}
	}
}

// WithConsequenceLookup sets an asset-graph consequence lookup used by the
// Wiz normaliser. This overrides the default of none (zone table only).
func WithConsequenceLookup(l ConsequenceLookup) Option { return func(c *config) { c.lookup = l } }

// WithLookupTimeout bounds each consequence lookup. This overrides the
// default of 2 s.
func WithLookupTimeout(d time.Duration) Option { return func(c *config) { c.lookupTimeout = d } }

// WithOwnerResolver enables automatic assignment of new exposures. This
// overrides the default of none (exposures stay unassigned).
func WithOwnerResolver(r OwnerResolver) Option { return func(c *config) { c.owner = r } }

// WithDefaultTenant sets the tenant of findings that carry none. This
// overrides the default of "default".
func WithDefaultTenant(id string) Option { return func(c *config) { c.defaultTenant = id } }

// WithPublishTimeout bounds each publish. This overrides the default of 5 s.
func WithPublishTimeout(d time.Duration) Option { return func(c *config) { c.publishTimeout = d } }

// WithMaxFindingBytes bounds one raw finding. This overrides the default of
// 1 MiB.
func WithMaxFindingBytes(n int) Option { return func(c *config) { c.maxFindingBytes = n } }

// WithMaxStreamBytes bounds one scanner export read by NormaliseStream and
// IngestStream. This overrides the default of 256 MiB.
func WithMaxStreamBytes(n int64) Option { return func(c *config) { c.maxStreamBytes = n } }

// Service normalises, scores, stores and audits exposures. It is safe for
// concurrent use; all mutable state lives in the Store.
type Service struct {
	cfg config // read-only after New
}

// New validates the options once and returns a Service.
func New(opts ...Option) (*Service, error) {
	c := config{
		clock:           time.Now,
		logger:          slog.Default(),
		lookupTimeout:   DefaultLookupTimeout,
		defaultTenant:   DefaultTenant,
		publishTimeout:  DefaultPublishTimeout,
		maxFindingBytes: DefaultMaxFindingBytes,
		maxStreamBytes:  DefaultMaxStreamBytes,
		normalisers: map[Source]Normaliser{
			SourceWiz: NewWizNormaliser(), SourceSnyk: NewSnykNormaliser(),
			SourceGarak: NewGarakNormaliser(), SourceART: NewARTNormaliser(),
		},
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.store == nil {
		c.store = NewMemoryStore()
	}
	switch {
	case c.clock == nil:
		c.errs = append(c.errs, errors.New("WithClock: nil clock"))
	case c.logger == nil:
		c.errs = append(c.errs, errors.New("WithLogger: nil logger"))
	}
	if strings.TrimSpace(c.defaultTenant) == "" {
		c.errs = append(c.errs, errors.New("WithDefaultTenant: empty tenant"))
	}
	if c.lookupTimeout <= 0 || c.publishTimeout <= 0 {
		c.errs = append(c.errs, errors.New("timeouts must be positive"))
	}
	if c.maxFindingBytes <= 0 || c.maxStreamBytes <= 0 {
		c.errs = append(c.errs, errors.New("size limits must be positive"))
	}
	if len(c.errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(c.errs...))
	}
	return &Service{cfg: c}, nil
}

func (s *Service) normaliser(src Source) (Normaliser, bool) {
	n, ok := s.cfg.normalisers[src]
	return n, ok
}

// SourceForTopic maps ctem.raw.<source> to a source with a registered
// normaliser.
func (s *Service) SourceForTopic(topic string) (Source, bool) {
	name, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok || name == "" {
		return "", false
	}
	_, ok = s.normaliser(Source(name))
	return Source(name), ok
}

// scored is a normalised exposure with what the audit record needs to know
// about how it was scored.
type scored struct {
	e                 Exposure
	level             Exploitability
	consequenceSource string
}

// Process handles one raw finding from topic ctem.raw.<source> through the
// whole pipeline (spec §3.1) and returns the stored exposure. Failures are
// dead-lettered; no audit event is emitted on a failure path.
func (s *Service) Process(ctx context.Context, topic string, value []byte) (Exposure, error) {
	src, ok := s.SourceForTopic(topic)
	if !ok {
		err := fmt.Errorf("%w: topic %q", ErrUnsupportedSource, topic)
		return Exposure{}, s.deadLetter(ctx, topic, value, "unsupported_topic", err)
	}
	return s.ingest(ctx, topic, src, value)
}

// Ingest is Process for a source without a topic (dead letters name
// ctem.raw.<source>).
func (s *Service) Ingest(ctx context.Context, source Source, raw []byte) (Exposure, error) {
	topic := TopicPrefix + string(source)
	if _, ok := s.normaliser(source); !ok {
		err := fmt.Errorf("%w: %q", ErrUnsupportedSource, source)
		return Exposure{}, s.deadLetter(ctx, topic, raw, "unsupported_topic", err)
	}
	return s.ingest(ctx, topic, source, raw)
}

func (s *Service) ingest(ctx context.Context, topic string, src Source, raw []byte) (Exposure, error) {
	now := s.cfg.clock().UTC()
	if len(raw) > s.cfg.maxFindingBytes {
		fe := &FieldError{Source: src, Field: rootField, Reason: fmt.Sprintf("exceeds %d bytes", s.cfg.maxFindingBytes)}
		return Exposure{}, s.deadLetter(ctx, topic, raw, fe.Error(), fe)
	}
	trimmed := bytes.TrimSpace(raw)
	if !json.Valid(trimmed) {
		fe := &FieldError{Source: src, Field: rootField, Reason: reasonInvalidJSON}
		return Exposure{}, s.deadLetter(ctx, topic, raw, fe.Error(), fe)
	}
	if trimmed[0] != '{' {
		fe := &FieldError{Source: src, Field: rootField, Reason: reasonNotObject}
		return Exposure{}, s.deadLetter(ctx, topic, raw, fe.Error(), fe)
	}
	norm, _ := s.normaliser(src)
	sc, err := s.normaliseAt(ctx, norm, raw, peekTenant(trimmed), now)
	if err != nil {
		return Exposure{}, s.deadLetter(ctx, topic, raw, err.Error(), err)
	}
	stored, err := s.accept(ctx, sc, now)
	if err != nil {
		return Exposure{}, s.deadLetter(ctx, topic, raw, "upsert_failed: "+err.Error(), fmt.Errorf("%w: %w", ErrStore, err))
	}
	return stored, nil
}

// peekTenant reads tenant_id for the consequence lookup, which runs during
// normalisation, before the exposure's tenant is known.
func peekTenant(raw []byte) string {
	var p struct {
		TenantID any `json:"tenant_id"`
	}
	_ = json.Unmarshal(raw, &p)
	t, _ := p.TenantID.(string)
	return t
}

// normaliseAt runs a normaliser (recovering a host normaliser's panic),
// fills the default tenant and validates.
func (s *Service) normaliseAt(ctx context.Context, norm Normaliser, raw []byte, tenant string, now time.Time) (sc scored, err error) {
	if tenant == "" {
		tenant = s.cfg.defaultTenant
	}
	env := Env{Now: now, ZoneConsequence: s.consequenceFunc(ctx, tenant, &sc.consequenceSource)}
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = &FieldError{Source: norm.Source(), Field: rootField, Reason: fmt.Sprintf(reasonNormaliserFmt, r)}
			}
		}()
		if fn, ok := norm.(flatNormaliser); ok {
			sc.e, sc.level, err = fn.normalise(raw, env)
			return
		}
		sc.e, err = norm.Normalise(raw, env)
		sc.level = ExploitabilityFromRate(sc.e.ExploitabilityScore)
	}()
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			err = &FieldError{Source: norm.Source(), Field: rootField, Reason: err.Error()}
		}
		return scored{}, err
	}
	return s.finish(sc)
}

// scoreFinding scores a record mapped from a scanner export.
func (s *Service) scoreFinding(ctx context.Context, src Source, f finding, now time.Time) (scored, error) {
	tenant := f.TenantID
	if tenant == "" {
		tenant = s.cfg.defaultTenant
	}
	var sc scored
	env := Env{Now: now, ZoneConsequence: s.consequenceFunc(ctx, tenant, &sc.consequenceSource)}
	sc.e, sc.level = build(src, f, env)
	return s.finish(sc)
}

func (s *Service) finish(sc scored) (scored, error) {
	if sc.e.TenantID == "" {
		sc.e.TenantID = s.cfg.defaultTenant
	}
	if sc.e.Status == "" {
		sc.e.Status = StatusOpen
	}
	if err := sc.e.Validate(); err != nil {
		return scored{}, err
	}
	return sc, nil
}

// Consequence sources reported in ctem.exposure_scored.
const (
	consequenceZoneTable    = "zone_table"
	consequenceAssetGraph   = "asset_graph"
	consequenceZoneFallback = "zone_table_fallback"
)

// zoneConsequence applies the configured zone table.
func (s *Service) zoneConsequence(z string) Consequence {
	if s.cfg.zoneTable == nil {
		return ZoneConsequence(z)
	}
	if c, ok := s.cfg.zoneTable[z]; ok {
		return c
	}
	return ConsequenceDataLoss
}

// consequenceFunc builds Env.ZoneConsequence: the asset-graph lookup when
// configured (bounded, panic-safe), falling back to the zone table. It
// records which one decided in *source.
func (s *Service) consequenceFunc(ctx context.Context, tenant string, source *string) func(assetID, z string) Consequence {
	return func(assetID, z string) Consequence {
		*source = consequenceZoneTable
		if s.cfg.lookup == nil {
			return s.zoneConsequence(z)
		}
		c, err := s.lookupConsequence(ctx, tenant, assetID, z)
		switch {
		case err != nil:
			s.cfg.logger.Warn("ctem: consequence lookup failed; using the zone table",
				"tenant_id", tenant, "asset_id", assetID, "asset_zone", z, "error", err)
			*source = consequenceZoneFallback
			return s.zoneConsequence(z)
		case c == "":
			return s.zoneConsequence(z)
		case !c.Valid():
			s.cfg.logger.Warn("ctem: consequence lookup returned an invalid consequence; using the zone table",
				"tenant_id", tenant, "asset_id", assetID, "consequence", string(c))
			*source = consequenceZoneFallback
			return s.zoneConsequence(z)
		}
		*source = consequenceAssetGraph
		return c
	}
}

func (s *Service) lookupConsequence(ctx context.Context, tenant, assetID, z string) (c Consequence, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.lookupTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("consequence lookup panic: %v", r)
		}
	}()
	c, err = s.cfg.lookup.Consequence(ctx, tenant, assetID, z)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return c, err
}

// mergeInfo is what an upsert did, for the audit record.
type mergeInfo struct {
	inserted        bool
	prevSeverity    Severity
	statusPreserved bool
	slaTightened    bool
}

// accept stores a scored exposure (merge rules of spec §3.6), auto-assigns,
// publishes and audits. The error is the store's, unwrapped.
func (s *Service) accept(ctx context.Context, sc scored, now time.Time) (Exposure, error) {
	var info mergeInfo
	rec, err := s.cfg.store.Update(ctx, sc.e.TenantID, sc.e.ExposureKey, func(cur *Record, exists bool) error {
		info = merge(cur, exists, sc.e, now)
		return nil
	})
	if err != nil {
		return Exposure{}, err
	}
	var assigned *assignChange
	if s.cfg.owner != nil && rec.Exposure.AssignedTo == "" && !rec.Exposure.Status.normalised().Terminal() {
		owner, reason, oerr := s.resolveOwner(ctx, rec.Exposure)
		switch {
		case oerr != nil:
			s.cfg.logger.Warn("ctem: owner resolver failed; exposure left unassigned",
				"tenant_id", rec.Exposure.TenantID, "exposure_key", rec.Exposure.ExposureKey, "error", oerr)
		case strings.TrimSpace(owner) == "":
			s.cfg.logger.Debug("ctem: no owner for exposure", "tenant_id", rec.Exposure.TenantID, "exposure_key", rec.Exposure.ExposureKey)
		default:
			r2, ch, aerr := s.assign(ctx, rec.Exposure.TenantID, rec.Exposure.ExposureKey, strings.TrimSpace(owner), systemActor, reason, assignmentResolver, now)
			if aerr != nil {
				s.cfg.logger.Warn("ctem: automatic assignment failed; exposure left unassigned",
					"tenant_id", rec.Exposure.TenantID, "exposure_key", rec.Exposure.ExposureKey, "error", aerr)
			} else {
				rec, assigned = r2, ch
			}
		}
	}
	s.publishExposure(ctx, rec.Exposure)
	s.emitScored(rec.Exposure, sc, info)
	if assigned != nil {
		s.emitAssigned(rec, *assigned)
	}
	return rec.Exposure, nil
}

// merge applies the upsert rules to the stored record.
func merge(cur *Record, exists bool, e Exposure, now time.Time) mergeInfo {
	if !exists {
		e.Status = e.Status.normalised()
		e.CreatedAt, e.UpdatedAt = now, now
		cur.Exposure = e
		return mergeInfo{inserted: true}
	}
	x := cur.Exposure
	info := mergeInfo{prevSeverity: x.Severity}
	x.TS, x.Severity, x.CTEMScore = e.TS, e.Severity, e.CTEMScore
	x.OriginalSeverity, x.ExploitabilityScore = e.OriginalSeverity, e.ExploitabilityScore
	x.PhysicalConsequence, x.AssetZone = e.PhysicalConsequence, e.AssetZone
	x.Status = x.Status.normalised()
	info.statusPreserved = x.Status != StatusOpen
	base := x.CreatedAt
	if base.IsZero() {
		base = now
	}
	candidate := SLADeadline(string(e.Severity), base)
	switch {
	case x.SLADeadline.IsZero():
		x.SLADeadline = candidate
	case candidate.Before(x.SLADeadline):
		x.SLADeadline = candidate
		info.slaTightened = true
	}
	x.UpdatedAt = now
	if info.slaTightened && cur.Remediation != nil {
		cur.Remediation.SLADeadline = x.SLADeadline
		cur.Remediation.UpdatedAt = now
	}
	cur.Exposure = x
	return info
}

func (s *Service) resolveOwner(ctx context.Context, e Exposure) (owner, reason string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("owner resolver panic: %v", r)
		}
	}()
	return s.cfg.owner.Owner(ctx, e)
}

// Assignment sources.
const (
	assignmentManual   = "manual"
	assignmentResolver = "owner_resolver"
)

// systemActor is the actor of automatic steps.
var systemActor = Actor{Type: taxonomy.ActorSystem, ID: "ctem-normaliser"}

// assignChange describes an assignment that changed the owner.
type assignChange struct {
	actor       Actor
	previous    string
	stateBefore RemediationStatus
	reason      string
	source      string
}

// errNoChange aborts an Update that would write nothing.
var errNoChange = errors.New("no change")

// Assign sets the owner of an exposure and records the remediation (spec
// §3.7). Assigning the current owner again changes nothing and emits nothing.
func (s *Service) Assign(ctx context.Context, req AssignRequest) (Record, error) {
	assignee := strings.TrimSpace(req.Assignee)
	switch {
	case assignee == "":
		return Record{}, fmt.Errorf("%w: assignee is empty", ErrInvalidRequest)
	case len(assignee) > MaxAssigneeBytes:
		return Record{}, fmt.Errorf("%w: assignee exceeds %d bytes", ErrInvalidRequest, MaxAssigneeBytes)
	case len(req.Reason) > MaxReasonBytes:
		return Record{}, fmt.Errorf("%w: reason exceeds %d bytes", ErrInvalidRequest, MaxReasonBytes)
	case strings.TrimSpace(req.ExposureKey) == "":
		return Record{}, fmt.Errorf("%w: exposure key is empty", ErrInvalidRequest)
	}
	if err := req.Actor.validate(); err != nil {
		return Record{}, err
	}
	tenant := s.tenant(req.TenantID)
	rec, ch, err := s.assign(ctx, tenant, req.ExposureKey, assignee, req.Actor, req.Reason, assignmentManual, s.cfg.clock().UTC())
	if err != nil {
		return Record{}, err
	}
	if ch != nil {
		s.emitAssigned(rec, *ch)
	}
	return rec, nil
}

func (s *Service) tenant(t string) string {
	if t == "" {
		return s.cfg.defaultTenant
	}
	return t
}

func (s *Service) assign(ctx context.Context, tenant, key, assignee string, actor Actor, reason, source string, now time.Time) (Record, *assignChange, error) {
	var ch assignChange
	var unchanged Record
	rec, err := s.cfg.store.Update(ctx, tenant, key, func(cur *Record, exists bool) error {
		switch {
		case !exists:
			return ErrNotFound
		case cur.Exposure.Status.normalised().Terminal():
			return fmt.Errorf("%w: exposure is %s", ErrInvalidTransition, cur.Exposure.Status)
		case cur.Exposure.AssignedTo == assignee:
			unchanged = cur.clone()
			return errNoChange
		}
		ch = assignChange{actor: actor, previous: cur.Exposure.AssignedTo, reason: reason, source: source}
		cur.Exposure.AssignedTo = assignee
		cur.Exposure.UpdatedAt = now
		if cur.Remediation == nil {
			cur.Remediation = &Remediation{
				RemediationID: RemediationID(key), ExposureKey: key, Status: RemediationAssigned,
				SLADeadline: cur.Exposure.SLADeadline, TenantID: cur.Exposure.TenantID, CreatedAt: now,
			}
		} else {
			ch.stateBefore = cur.Remediation.Status
		}
		cur.Remediation.AssignedTo = assignee
		cur.Remediation.AssignedDate = now
		cur.Remediation.TS, cur.Remediation.UpdatedAt = now, now
		return nil
	})
	switch {
	case errors.Is(err, errNoChange):
		return unchanged, nil, nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidTransition):
		return Record{}, nil, err
	case err != nil:
		return Record{}, nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return rec, &ch, nil
}

// Verify marks an exposure's fix verified (spec §3.7).
func (s *Service) Verify(ctx context.Context, req VerifyRequest) (Record, error) {
	by := strings.TrimSpace(req.VerifiedBy)
	switch {
	case by == "":
		return Record{}, fmt.Errorf("%w: verified_by is empty", ErrInvalidRequest)
	case len(by) > MaxAssigneeBytes:
		return Record{}, fmt.Errorf("%w: verified_by exceeds %d bytes", ErrInvalidRequest, MaxAssigneeBytes)
	case strings.TrimSpace(req.ExposureKey) == "":
		return Record{}, fmt.Errorf("%w: exposure key is empty", ErrInvalidRequest)
	}
	if err := req.Actor.validate(); err != nil {
		return Record{}, err
	}
	now := s.cfg.clock().UTC()
	var before Status
	rec, err := s.cfg.store.Update(ctx, s.tenant(req.TenantID), req.ExposureKey, func(cur *Record, exists bool) error {
		if !exists {
			return ErrNotFound
		}
		before = cur.Exposure.Status.normalised()
		switch before {
		case StatusOpen, StatusInProgress, StatusFixDeployed:
		default:
			return fmt.Errorf("%w: exposure is %s", ErrInvalidTransition, before)
		}
		cur.Exposure.Status = StatusVerified
		cur.Exposure.UpdatedAt = now
		if cur.Remediation == nil {
			cur.Remediation = &Remediation{
				RemediationID: RemediationID(req.ExposureKey), ExposureKey: req.ExposureKey,
				AssignedTo: cur.Exposure.AssignedTo, AssignedDate: now,
				SLADeadline: cur.Exposure.SLADeadline, TenantID: cur.Exposure.TenantID, CreatedAt: now,
			}
		}
		r := cur.Remediation
		r.Status = RemediationVerified
		r.VerifiedDate, r.VerifiedBy = now, by
		if req.FixDescription != "" {
			r.FixDescription = req.FixDescription
		}
		if req.PullRequestURL != "" {
			r.PullRequestURL = req.PullRequestURL
		}
		r.SLABreached = !r.SLADeadline.IsZero() && now.After(r.SLADeadline)
		r.TS, r.UpdatedAt = now, now
		return nil
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidTransition):
		return Record{}, err
	case err != nil:
		return Record{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	s.emitVerified(rec, req, before)
	return rec, nil
}

// Get returns the record of (tenant, key); an empty tenant is the default.
func (s *Service) Get(ctx context.Context, tenantID, key string) (Record, error) {
	rec, err := s.cfg.store.Get(ctx, s.tenant(tenantID), key)
	switch {
	case errors.Is(err, ErrNotFound):
		return Record{}, err
	case err != nil:
		return Record{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return rec, nil
}

// OpenExposures returns the tenant's open exposures on an asset, highest
// ctem_score first (what the orchestrator's CTEM correlator reads).
func (s *Service) OpenExposures(ctx context.Context, tenantID, assetID string) ([]Exposure, error) {
	out, err := s.cfg.store.OpenExposures(ctx, s.tenant(tenantID), assetID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return out, nil
}

// IngestStream normalises a scanner export like NormaliseStream and takes
// every good exposure through the store (merge rules, auto-assignment,
// publish, audit). The returned batch holds the stored exposures; a record
// whose upsert fails moves to Batch.Errors with an error wrapping ErrStore.
func (s *Service) IngestStream(ctx context.Context, src Source, r io.Reader, opts ...StreamOption) (*Batch, error) {
	b, meta, err := s.normaliseStream(ctx, src, r, opts)
	if err != nil {
		return nil, err
	}
	kept := b.Exposures[:0]
	for _, sc := range meta {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		stored, err := s.accept(ctx, sc.scored, sc.now)
		if err != nil {
			b.Errors = append(b.Errors, RecordError{Index: sc.index, Location: sc.loc, Err: fmt.Errorf("%w: %w", ErrStore, err)})
			continue
		}
		kept = append(kept, stored)
	}
	b.Exposures = kept
	sortRecordErrors(b.Errors)
	return b, nil
}

// publishExposure sends the stored exposure to ctem.normalized; a failure is
// logged, never returned.
func (s *Service) publishExposure(ctx context.Context, e Exposure) {
	if s.cfg.publisher == nil {
		return
	}
	value, err := json.Marshal(e)
	if err != nil {
		s.cfg.logger.Warn("ctem: encoding exposure for publish", "error", err)
		return
	}
	if err := s.publish(ctx, NormalisedTopic, []byte(e.ExposureKey), value); err != nil {
		s.cfg.logger.Warn("ctem: publishing normalised exposure failed",
			"tenant_id", e.TenantID, "exposure_key", e.ExposureKey, "error", err)
	}
}

func (s *Service) publish(ctx context.Context, topic string, key, value []byte) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.publishTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("publisher panic: %v", r)
		}
	}()
	return s.cfg.publisher.Publish(ctx, topic, key, value)
}

// deadLetterMessage is the ctem.normalized.dlq payload.
type deadLetterMessage struct {
	SourceTopic string          `json:"source_topic"`
	RawData     json.RawMessage `json:"raw_data"`
	Error       string          `json:"error"`
}

// deadLetter publishes the failed finding and returns cause, joined with
// ErrDeadLetterFailed when the publish fails.
func (s *Service) deadLetter(ctx context.Context, topic string, raw []byte, reason string, cause error) error {
	if s.cfg.publisher == nil {
		return cause
	}
	msg := deadLetterMessage{SourceTopic: topic, Error: reason}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && json.Valid(trimmed) {
		msg.RawData = json.RawMessage(trimmed)
	} else {
		msg.RawData, _ = json.Marshal(sanitiseUTF8(raw))
	}
	value, err := json.Marshal(msg)
	if err == nil {
		err = s.publish(ctx, DeadLetterTopic, nil, value)
	}
	if err != nil {
		s.cfg.logger.Error("ctem: dead-letter publish failed; the finding was neither stored nor dead-lettered",
			"topic", topic, "error", err)
		return errors.Join(cause, fmt.Errorf("%w: %w", ErrDeadLetterFailed, err))
	}
	return cause
}
