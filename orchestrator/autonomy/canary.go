package autonomy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/taxonomy"
)

// CanaryStats are a shadow pattern's canary counts.
type CanaryStats struct {
	TotalDecisions int64   `json:"total_decisions"`
	Agreements     int64   `json:"agreements"`
	Disagreements  int64   `json:"disagreements"`
	AgreementRate  float64 `json:"agreement_rate"`
}

// FPCanary measures a new (shadow) pattern against analyst decisions and
// promotes it to active. Promotion emits fp_pattern.activated and needs two
// distinct approvers. Safe for concurrent use.
type FPCanary struct {
	counters        Counters
	patterns        FPPatternStore
	threshold       int
	maxDisagreement float64
	log             *slog.Logger
	em              emitter
}

// NewFPCanary returns the canary; both stores are required. Options:
// WithPromotionThreshold, WithMaxDisagreement.
func NewFPCanary(c Counters, p FPPatternStore, opts ...Option) (*FPCanary, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if c == nil || p == nil {
		return nil, configErr("counters, patterns", "nil store")
	}
	return &FPCanary{counters: c, patterns: p, threshold: cfg.promotionThreshold, maxDisagreement: cfg.maxDisagreement,
		log: cfg.logger, em: emitter{cfg.producer, cfg.logger}}, nil
}

func canaryKey(id, what string) string { return "canary:" + id + ":" + what }

// RecordShadowDecision counts one decision of the pattern against the
// analyst's; counter errors are logged, never returned.
func (c *FPCanary) RecordShadowDecision(ctx context.Context, patternID, patternDecision, analystDecision string) {
	incr := func(k string) {
		if err := c.counters.Incr(ctx, canaryKey(patternID, k)); err != nil {
			c.log.Warn("autonomy: canary counter failed", "pattern_id", patternID, "counter", k, "error", err)
		}
	}
	incr("total")
	if patternDecision == analystDecision {
		incr("agree")
	} else {
		incr("disagree")
	}
}

// Stats returns the pattern's counts; a read error yields zeros.
func (c *FPCanary) Stats(ctx context.Context, patternID string) CanaryStats {
	get := func(k string) (int64, error) { return c.counters.Get(ctx, canaryKey(patternID, k)) }
	total, e1 := get("total")
	agree, e2 := get("agree")
	disagree, e3 := get("disagree")
	if err := errors.Join(e1, e2, e3); err != nil {
		c.log.Warn("autonomy: canary counters unreadable", "pattern_id", patternID, "error", err)
		return CanaryStats{}
	}
	s := CanaryStats{TotalDecisions: total, Agreements: agree, Disagreements: disagree}
	if total > 0 {
		s.AgreementRate = float64(agree) / float64(total)
	}
	return s
}

// ShouldPromote reports whether the pattern has at least the promotion
// threshold of decisions with a disagreement rate at most the maximum.
func (c *FPCanary) ShouldPromote(ctx context.Context, patternID string) bool {
	s := c.Stats(ctx, patternID)
	if s.TotalDecisions < int64(c.threshold) {
		return false
	}
	return float64(s.Disagreements)/float64(s.TotalDecisions) <= c.maxDisagreement
}

// Promote moves the tenant's shadow pattern to active and emits
// fp_pattern.activated. ErrNotFound for a missing pattern,
// ErrInvalidStatus unless it is in shadow, ErrNotApproved without two
// distinct approvers.
func (c *FPCanary) Promote(ctx context.Context, tenantID, patternID string) (FPPattern, error) {
	p, ok, err := c.patterns.Get(ctx, tenantID, patternID)
	if err != nil {
		return FPPattern{}, fmt.Errorf("autonomy: pattern store: %w", err)
	}
	if !ok {
		c.log.Warn("autonomy: promote of a missing pattern", "tenant_id", tenantID, "pattern_id", patternID)
		return FPPattern{}, ErrNotFound
	}
	if p.Status != StatusShadow {
		return p, fmt.Errorf("%w: only a shadow pattern can be promoted (status %s)", ErrInvalidStatus, p.Status)
	}
	if !p.TwoPersonApproved() {
		return p, ErrNotApproved
	}
	p.Status = StatusActive
	if err := c.patterns.Put(ctx, p); err != nil {
		return FPPattern{}, fmt.Errorf("autonomy: pattern store: %w", err)
	}
	c.em.emit(audit.Event{
		TenantID: p.ownerTenant(), Type: taxonomy.FPPatternActivated, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorSystem, ActorID: ActorFPCanary,
		Context:  audit.Fields{KeyPatternID: p.PatternID},
		Decision: audit.Fields{audit.KeyDecisionType: string(taxonomy.DecisionApprove)},
		Outcome: audit.Fields{audit.KeyActionTarget: p.PatternID, audit.KeyStateBefore: StatusShadow,
			audit.KeyStateAfter: StatusActive, audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess)},
	})
	return p, nil
}

// Canary slice statuses and decisions.
const (
	SliceActive     = "active"
	SlicePromoted   = "promoted"
	SliceRolledBack = "rolled_back"

	DecisionPromote  = "promote"
	DecisionRollback = "rollback"
	DecisionContinue = "continue"
)

// CanarySlice is one slice of a canary rollout of auto-close.
type CanarySlice struct {
	SliceID string `json:"slice_id"`
	// Dimension is tenant, severity, rule_family or datasource.
	Dimension  orchestrator.KillSwitchDimension `json:"dimension"`
	Value      string                           `json:"value"`
	CreatedAt  time.Time                        `json:"created_at"`
	PromotedAt time.Time                        `json:"promoted_at,omitzero"`
	Status     string                           `json:"status"`
}

// NewCanarySlice returns an active slice created now.
func NewCanarySlice(id string, dim orchestrator.KillSwitchDimension, value string, now time.Time) CanarySlice {
	return CanarySlice{SliceID: id, Dimension: dim, Value: value, CreatedAt: now.UTC(), Status: SliceActive}
}

// AgeDays is the fractional age in days at now (0 without a creation time).
func (s CanarySlice) AgeDays(now time.Time) float64 {
	if s.CreatedAt.IsZero() {
		return 0
	}
	return now.Sub(s.CreatedAt).Hours() / 24
}

// CanaryConfig is a rollout's slices and thresholds.
type CanaryConfig struct {
	Slices            []CanarySlice `json:"slices"`
	PromotionDays     float64       `json:"promotion_days"`
	MinPrecision      float64       `json:"min_precision"`
	RollbackPrecision float64       `json:"rollback_precision"`
}

// DefaultCanaryConfig returns 7 days, 0.98 to promote, 0.95 to roll back.
func DefaultCanaryConfig() CanaryConfig {
	return CanaryConfig{PromotionDays: 7, MinPrecision: 0.98, RollbackPrecision: 0.95}
}

// CanaryEvent is one entry of the rollout history.
type CanaryEvent struct {
	Action     string                           `json:"action"`
	SliceID    string                           `json:"slice_id"`
	Dimension  orchestrator.KillSwitchDimension `json:"dimension"`
	Value      string                           `json:"value"`
	PromotedAt time.Time                        `json:"promoted_at,omitzero"`
	Reason     string                           `json:"reason,omitempty"`
	TS         time.Time                        `json:"ts"`
}

// SliceDecision is what EvaluateAll decided for one slice.
type SliceDecision struct {
	SliceID   string  `json:"slice_id"`
	Action    string  `json:"action"`
	Precision float64 `json:"precision"`
	MissedTPs int     `json:"missed_tps"`
}

// EvaluationSource supplies a slice's evaluation (nil when there is none
// yet).
type EvaluationSource interface {
	Evaluation(ctx context.Context, sliceValue string) (*FPEvaluationResult, error)
}

// CanaryRollout promotes or rolls back slices of an auto-close rollout. A
// rollback pulls a kill switch on the slice's own dimension and value.
// Safe for concurrent use.
type CanaryRollout struct {
	kill    *orchestrator.KillSwitches
	evals   EvaluationSource
	now     func() time.Time
	log     *slog.Logger
	em      emitter
	ticker  func(time.Duration) (<-chan time.Time, func())
	onCycle func([]SliceDecision, error)

	running atomic.Bool

	mu      sync.Mutex // guards history
	history []CanaryEvent
}

// NewCanaryRollout returns the manager; killSwitches is required. Options:
// WithEvaluationSource, WithTicker, WithCycleCallback.
func NewCanaryRollout(k *orchestrator.KillSwitches, opts ...Option) (*CanaryRollout, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, configErr("killSwitches", "nil kill switches")
	}
	return &CanaryRollout{kill: k, evals: cfg.evaluations, now: cfg.now, log: cfg.logger, em: emitter{cfg.producer, cfg.logger},
		ticker: cfg.ticker, onCycle: cfg.onCycle}, nil
}

// CheckPromotion decides, safety first: a missed true positive or precision
// below the rollback bar → rollback; old enough and precise enough →
// promote; else continue.
func (c *CanaryRollout) CheckPromotion(s CanarySlice, precision float64, missedTPs int, cfg CanaryConfig) string {
	switch {
	case missedTPs > 0, math.IsNaN(precision), precision < cfg.RollbackPrecision:
		return DecisionRollback
	case s.AgeDays(c.now()) >= cfg.PromotionDays && precision >= cfg.MinPrecision:
		return DecisionPromote
	}
	return DecisionContinue
}

// Promote marks the slice promoted and emits canary.promoted.
func (c *CanaryRollout) Promote(s *CanarySlice) {
	now := c.now().UTC()
	s.Status, s.PromotedAt = SlicePromoted, now
	c.mu.Lock()
	c.history = append(c.history, CanaryEvent{Action: DecisionPromote, SliceID: s.SliceID, Dimension: s.Dimension,
		Value: s.Value, PromotedAt: now, TS: now})
	c.mu.Unlock()
	c.emitSlice(taxonomy.CanaryPromoted, taxonomy.SeverityInfo, *s, SlicePromoted, "")
}

// Rollback marks the slice rolled back, pulls a kill switch on its own
// dimension and value and emits canary.rolled_back. A kill-switch error is
// returned (the slice is still marked rolled back).
func (c *CanaryRollout) Rollback(ctx context.Context, s *CanarySlice, reason string) error {
	now := c.now().UTC()
	s.Status = SliceRolledBack
	c.mu.Lock()
	c.history = append(c.history, CanaryEvent{Action: DecisionRollback, SliceID: s.SliceID, Dimension: s.Dimension,
		Value: s.Value, Reason: reason, TS: now})
	c.mu.Unlock()
	err := c.kill.Activate(ctx, s.Dimension, s.Value,
		orchestrator.Actor{Type: taxonomy.ActorSystem, ID: ActorCanaryRollout}, "Canary rollback: "+reason)
	c.emitSlice(taxonomy.CanaryRolledBack, taxonomy.SeverityWarning, *s, SliceRolledBack, reason)
	if err != nil {
		return fmt.Errorf("autonomy: rollback kill switch: %w", err)
	}
	return nil
}

func (c *CanaryRollout) emitSlice(t taxonomy.EventType, sev taxonomy.Severity, s CanarySlice, after, reason string) {
	tenant := orchestrator.SystemTenant
	if s.Dimension == orchestrator.DimensionTenant && s.Value != "" {
		tenant = s.Value
	}
	dec := audit.Fields{audit.KeyDecisionType: string(taxonomy.DecisionApprove)}
	if t == taxonomy.CanaryRolledBack {
		dec = audit.Fields{audit.KeyDecisionType: string(taxonomy.DecisionReject), audit.KeyReasoningSummary: reason}
	}
	c.em.emit(audit.Event{
		TenantID: tenant, Type: t, Severity: sev, ActorType: taxonomy.ActorSystem, ActorID: ActorCanaryRollout,
		Context:  audit.Fields{"slice_id": s.SliceID, "dimension": string(s.Dimension), "value": s.Value, "reason": reason},
		Decision: dec,
		Outcome: audit.Fields{audit.KeyActionTarget: string(s.Dimension) + ":" + s.Value, audit.KeyStateBefore: SliceActive,
			audit.KeyStateAfter: after, audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess)},
	})
}

// History returns the promote and rollback events in order.
func (c *CanaryRollout) History() []CanaryEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]CanaryEvent(nil), c.history...)
}

// EvaluateAll evaluates every active slice of cfg and applies the decision.
// A slice without an evaluation continues (missing data never promotes).
// missed_tps are the evaluation's false positives (auto-closed alerts that
// were real).
func (c *CanaryRollout) EvaluateAll(ctx context.Context, cfg *CanaryConfig) ([]SliceDecision, error) {
	if cfg == nil {
		return nil, configErr("cfg", "nil canary config")
	}
	var out []SliceDecision
	var errs []error
	for i := range cfg.Slices {
		s := &cfg.Slices[i]
		if s.Status != SliceActive {
			continue
		}
		var ev *FPEvaluationResult
		if c.evals != nil {
			var err error
			if ev, err = c.evals.Evaluation(ctx, s.Value); err != nil {
				errs = append(errs, fmt.Errorf("slice %s: %w", s.SliceID, err))
				continue
			}
		}
		if ev == nil {
			out = append(out, SliceDecision{SliceID: s.SliceID, Action: DecisionContinue})
			continue
		}
		e := ev.ComputeMetrics()
		missed := e.FalsePositives
		d := SliceDecision{SliceID: s.SliceID, Precision: e.Precision, MissedTPs: missed}
		d.Action = c.CheckPromotion(*s, e.Precision, missed, *cfg)
		switch d.Action {
		case DecisionPromote:
			c.Promote(s)
		case DecisionRollback:
			reason := "precision_below_threshold"
			if missed > 0 {
				reason = fmt.Sprintf("missed_tps=%d", missed)
			}
			if err := c.Rollback(ctx, s, reason); err != nil {
				errs = append(errs, err)
			}
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// RunScheduler evaluates at once and then every interval (≤ 0 means 1 h)
// until ctx is done, which it returns. Evaluation errors are logged and
// the loop goes on. A second concurrent call returns ErrAlreadyRunning. The
// scheduler updates cfg's slices: the caller must not change cfg while it
// runs.
func (c *CanaryRollout) RunScheduler(ctx context.Context, cfg *CanaryConfig, interval time.Duration) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer c.running.Store(false)
	if interval <= 0 {
		interval = DefaultSchedulerInterval
	}
	ticks, stop := c.ticker(interval)
	defer stop()
	cycle := func() {
		ds, err := c.EvaluateAll(ctx, cfg)
		if err != nil {
			c.log.Warn("autonomy: canary evaluation failed", "error", err)
		} else {
			c.log.Info("autonomy: canary evaluation cycle", "slices", len(ds))
		}
		if c.onCycle != nil {
			c.onCycle(ds, err)
		}
	}
	cycle()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticks:
			cycle()
		}
	}
}
