package autonomy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/taxonomy"
)

// Governance owns an FP pattern's life after it was created: two-person
// approval, expiry, reaffirmation and revocation (which re-opens the
// investigations the pattern closed). It emits fp_pattern.approved and
// fp_pattern.revoked. Operations on one pattern take turns inside one
// Governance. Safe for concurrent use.
type Governance struct {
	patterns FPPatternStore
	finder   orchestrator.PatternClosureFinder
	reopener orchestrator.Reopener
	now      func() time.Time
	log      *slog.Logger
	em       emitter

	mu    sync.Mutex // guards locks
	locks map[string]*sync.Mutex
}

// NewGovernance returns the governance service; patterns is required,
// finder and reopener are needed for Revoke to re-open investigations.
func NewGovernance(patterns FPPatternStore, finder orchestrator.PatternClosureFinder, reopener orchestrator.Reopener, opts ...Option) (*Governance, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if patterns == nil {
		return nil, configErr("patterns", "nil pattern store")
	}
	return &Governance{patterns: patterns, finder: finder, reopener: reopener, now: cfg.now, log: cfg.logger,
		em: emitter{cfg.producer, cfg.logger}, locks: map[string]*sync.Mutex{}}, nil
}

func (g *Governance) lock(p FPPattern) func() {
	key := patternKey(p.TenantID, p.PatternID)
	g.mu.Lock()
	m := g.locks[key]
	if m == nil {
		m = &sync.Mutex{}
		g.locks[key] = m
	}
	g.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// current loads the stored pattern p names: governance decisions are made
// on the stored record, never on a caller's copy (which could carry a
// forged first approval).
func (g *Governance) current(ctx context.Context, p FPPattern) (FPPattern, error) {
	cur, ok, err := g.patterns.Get(ctx, p.TenantID, p.PatternID)
	if err != nil {
		return FPPattern{}, fmt.Errorf("autonomy: pattern store: %w", err)
	}
	if !ok {
		return FPPattern{}, fmt.Errorf("%w: pattern %s of tenant %s", ErrNotFound, quote(p.PatternID), quote(p.TenantID))
	}
	return cur, nil
}

// Approve records one approval of the stored pattern p names. The first
// approval sets approved_by_1 (status pending_review; no event); a second by
// a different person sets approved_by_2, approval_date, expiry_date (now +
// 90 days) and status approved — a shadow pattern stays in shadow until the
// canary promotes it — and emits fp_pattern.approved. The same person twice
// is ErrSameApprover; a third approval ErrAlreadyApproved. Revoked,
// deprecated and expired patterns cannot be approved (ErrInvalidStatus;
// use Reaffirm for expired ones).
func (g *Governance) Approve(ctx context.Context, p FPPattern, approver string) (FPPattern, error) {
	approver = strings.TrimSpace(approver)
	if approver == "" {
		return FPPattern{}, ErrEmptyApprover
	}
	defer g.lock(p)()
	cur, err := g.current(ctx, p)
	if err != nil {
		return FPPattern{}, err
	}
	switch cur.Status {
	case "", StatusPendingReview, StatusShadow, StatusApproved, StatusActive:
	default:
		return cur, fmt.Errorf("%w: cannot approve a %s pattern", ErrInvalidStatus, cur.Status)
	}
	switch {
	case cur.ApprovedBy1 == "":
		cur.ApprovedBy1 = approver
		if cur.Status != StatusShadow {
			cur.Status = StatusPendingReview
		}
		if err := g.patterns.Put(ctx, cur); err != nil {
			return FPPattern{}, fmt.Errorf("autonomy: pattern store: %w", err)
		}
		return cur, nil
	case cur.ApprovedBy2 != "":
		return cur, ErrAlreadyApproved
	case normApprover(cur.ApprovedBy1) == normApprover(approver):
		return cur, ErrSameApprover
	}
	now := g.now().UTC()
	cur.ApprovedBy2, cur.ApprovalDate, cur.ExpiryDate = approver, now, now.Add(PatternValidity)
	if cur.Status != StatusShadow {
		cur.Status = StatusApproved
	}
	if err := g.patterns.Put(ctx, cur); err != nil {
		return FPPattern{}, fmt.Errorf("autonomy: pattern store: %w", err)
	}
	g.em.emit(audit.Event{
		TenantID: cur.ownerTenant(), Type: taxonomy.FPPatternApproved, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorHuman, ActorID: approver,
		Context: audit.Fields{KeyPatternID: cur.PatternID, KeyApprovedBy1: cur.ApprovedBy1, KeyApprovedBy2: cur.ApprovedBy2,
			KeyExpiryDate: cur.ExpiryDate.Format(time.RFC3339)},
		Decision: audit.Fields{audit.KeyDecisionType: string(taxonomy.DecisionApprove)},
		Outcome: audit.Fields{
			audit.KeyApprovalReceivedFrom: cur.ApprovedBy1 + "," + cur.ApprovedBy2,
			audit.KeyActionTarget:         cur.PatternID, audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess),
			audit.KeyStateAfter: cur.Status,
		},
	})
	return cur, nil
}

// CheckExpiry returns the ids of patterns whose expiry is set and strictly
// before now and whose status is not already expired, revoked or
// deprecated.
func (g *Governance) CheckExpiry(patterns []FPPattern, now time.Time) []string {
	var out []string
	for _, p := range patterns {
		if p.ExpiryDate.IsZero() || !p.ExpiryDate.Before(now) {
			continue
		}
		switch p.Status {
		case StatusExpired, StatusRevoked, StatusDeprecated:
			continue
		}
		out = append(out, p.PatternID)
	}
	return out
}

// ExpireDue marks the tenant's due patterns expired and returns their ids.
func (g *Governance) ExpireDue(ctx context.Context, tenantID string) ([]string, error) {
	list, err := g.patterns.List(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("autonomy: pattern store: %w", err)
	}
	var done []string
	for _, id := range g.CheckExpiry(list, g.now()) {
		err := func() error {
			defer g.lock(FPPattern{TenantID: tenantID, PatternID: id})()
			cur, err := g.current(ctx, FPPattern{TenantID: tenantID, PatternID: id})
			if err != nil {
				return err
			}
			if len(g.CheckExpiry([]FPPattern{cur}, g.now())) == 0 {
				return nil
			}
			cur.Status = StatusExpired
			return g.patterns.Put(ctx, cur)
		}()
		if err != nil {
			g.log.Warn("autonomy: could not expire pattern", "pattern_id", id, "error", err)
			continue
		}
		g.log.Info("autonomy: FP pattern expired", "tenant_id", tenantID, "pattern_id", id)
		done = append(done, id)
	}
	return done, nil
}

// Reaffirm extends the stored pattern's validity by 90 days from now and
// records who reaffirmed it; an expired pattern becomes approved again.
func (g *Governance) Reaffirm(ctx context.Context, p FPPattern, by string) (FPPattern, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return FPPattern{}, ErrEmptyApprover
	}
	defer g.lock(p)()
	cur, err := g.current(ctx, p)
	if err != nil {
		return FPPattern{}, err
	}
	if cur.Status == StatusRevoked || cur.Status == StatusDeprecated {
		return cur, fmt.Errorf("%w: cannot reaffirm a %s pattern", ErrInvalidStatus, cur.Status)
	}
	if !cur.TwoPersonApproved() {
		return cur, ErrNotApproved
	}
	now := g.now().UTC()
	cur.ReaffirmedDate, cur.ReaffirmedBy, cur.ExpiryDate = now, by, now.Add(PatternValidity)
	if cur.Status == StatusExpired {
		cur.Status = StatusApproved
	}
	if err := g.patterns.Put(ctx, cur); err != nil {
		return FPPattern{}, fmt.Errorf("autonomy: pattern store: %w", err)
	}
	return cur, nil
}

// Revoke revokes the stored pattern, emits fp_pattern.revoked once, then
// re-opens (E12) every investigation of the pattern's tenant it closed. It
// returns the re-opened ids; the host re-investigates them with
// Graph.Continue. A failure to re-open one investigation is logged and does
// not stop the others.
func (g *Governance) Revoke(ctx context.Context, p FPPattern, by, reason string) ([]string, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return nil, ErrEmptyApprover
	}
	unlock := g.lock(p)
	cur, err := g.current(ctx, p)
	if err != nil {
		unlock()
		return nil, err
	}
	now := g.now().UTC()
	cur.Status, cur.RevokedBy, cur.RevokedAt = StatusRevoked, by, now
	if err := g.patterns.Put(ctx, cur); err != nil {
		unlock()
		return nil, fmt.Errorf("autonomy: pattern store: %w", err)
	}
	unlock()
	g.em.emit(audit.Event{
		TenantID: cur.ownerTenant(), Type: taxonomy.FPPatternRevoked, Severity: taxonomy.SeverityWarning,
		ActorType: taxonomy.ActorHuman, ActorID: by,
		Context:  audit.Fields{KeyPatternID: cur.PatternID},
		Decision: audit.Fields{audit.KeyDecisionType: string(taxonomy.DecisionReject), audit.KeyReasoningSummary: reason},
		Outcome: audit.Fields{audit.KeyActionTarget: cur.PatternID, audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess),
			audit.KeyStateAfter: StatusRevoked},
	})
	if g.finder == nil || g.reopener == nil {
		return nil, nil
	}
	ids, err := g.finder.ClosedByPattern(ctx, cur.TenantID, cur.PatternID)
	if err != nil {
		return nil, fmt.Errorf("autonomy: finding closures of %s: %w", cur.PatternID, err)
	}
	var reopened []string
	for _, id := range ids {
		if _, err := g.reopener.Reopen(ctx, id, cur.PatternID, orchestrator.Actor{Type: taxonomy.ActorHuman, ID: by}); err != nil {
			g.log.Warn("autonomy: could not re-open investigation", "investigation_id", id, "pattern_id", cur.PatternID, "error", err)
			continue
		}
		reopened = append(reopened, id)
	}
	return reopened, nil
}
