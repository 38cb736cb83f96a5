package batch

import (
	"context"
	"fmt"

	"github.com/socwarden/warden/orchestrator/autonomy"
)

// AutonomyStore is the CandidateStore over orchestrator/autonomy's FP
// pattern store, the one home of FP patterns: a new candidate becomes an
// autonomy.FPPattern through autonomy.NewCandidate (status pending_review,
// no approvals) owned by its scope tenant ("system" for a platform-wide
// candidate, whose scope stays empty). Approval by two distinct people,
// activation, expiry and revocation then happen there, with their events.
//
// An existing pattern is never rewritten, whatever its status: the port
// has no compare-and-set, so a merge could race a reviewer's approval and
// erase it. Re-mined candidates therefore count as duplicates without the
// merge NewMemoryCandidateStore performs.
type AutonomyStore struct {
	patterns autonomy.FPPatternStore
}

var _ CandidateStore = (*AutonomyStore)(nil)

// NewAutonomyStore adapts patterns.
func NewAutonomyStore(patterns autonomy.FPPatternStore) (*AutonomyStore, error) {
	if patterns == nil {
		return nil, &ConfigError{Option: "patterns", Reason: "nil autonomy.FPPatternStore"}
	}
	return &AutonomyStore{patterns: patterns}, nil
}

// ToFPPattern converts a candidate into the shared pattern type (before
// autonomy.NewCandidate resets its review state).
func ToFPPattern(c PatternCandidate) autonomy.FPPattern {
	owner := c.ScopeTenantID
	if owner == "" {
		owner = systemTenant
	}
	eps := make([]autonomy.EntityPattern, len(c.EntityPatterns))
	for i, ep := range c.EntityPatterns {
		eps[i] = autonomy.EntityPattern{Type: ep.Type, ValueRegex: ep.ValueRegex, ValueCIDR: ep.ValueCIDR}
	}
	return autonomy.FPPattern{
		PatternID: c.PatternID, TenantID: owner, AlertName: c.AlertName, AlertNameRegex: c.AlertNameRegex,
		EntityPatterns: eps, Severity: c.Severity, Confidence: c.Confidence, Status: autonomy.StatusPendingReview,
		ScopeTenantID: c.ScopeTenantID, CreatedAt: c.CreatedAt,
	}
}

// UpsertCandidate implements CandidateStore.
func (s *AutonomyStore) UpsertCandidate(ctx context.Context, c PatternCandidate) (bool, error) {
	p := ToFPPattern(c)
	if _, ok, err := s.patterns.Get(ctx, p.TenantID, p.PatternID); err != nil {
		return false, fmt.Errorf("batch: autonomy pattern store: %w", err)
	} else if ok {
		return false, nil
	}
	p, err := autonomy.NewCandidate(p, c.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("batch: autonomy rejected candidate %s: %w", c.PatternID, err)
	}
	if err := s.patterns.Put(ctx, p); err != nil {
		return false, fmt.Errorf("batch: autonomy pattern store: %w", err)
	}
	return true, nil
}
