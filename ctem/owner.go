package ctem

import (
	"context"
	"strconv"
)

// OwnerResolver picks the owner of a newly stored, unassigned exposure. An
// empty owner leaves it unassigned; an error is logged and ingestion still
// succeeds.
type OwnerResolver interface {
	Owner(ctx context.Context, e Exposure) (owner, reason string, err error)
}

// OwnerRule assigns Owner to exposures matching every non-empty criterion.
// MinSeverity matches an exposure at least that severe (LOW < MEDIUM < HIGH <
// CRITICAL).
type OwnerRule struct {
	Name                string
	TenantID            string
	SourceTool          Source
	AssetZone           string
	PhysicalConsequence Consequence
	MinSeverity         Severity
	Owner               string
}

// Matches reports whether the rule applies to e.
func (r OwnerRule) Matches(e Exposure) bool {
	switch {
	case r.TenantID != "" && r.TenantID != e.TenantID,
		r.SourceTool != "" && r.SourceTool != e.SourceTool,
		r.AssetZone != "" && r.AssetZone != e.AssetZone,
		r.PhysicalConsequence != "" && r.PhysicalConsequence != e.PhysicalConsequence,
		r.MinSeverity != "" && e.Severity.rank() < r.MinSeverity.rank():
		return false
	}
	return true
}

// OwnerRules is the shipped resolver: the first matching rule wins.
type OwnerRules []OwnerRule

var _ OwnerResolver = OwnerRules(nil)

// Owner implements OwnerResolver; reason is `owner rule "<Name>"`.
func (rs OwnerRules) Owner(_ context.Context, e Exposure) (string, string, error) {
	for _, r := range rs {
		if r.Owner != "" && r.Matches(e) {
			return r.Owner, "owner rule " + strconv.Quote(r.Name), nil
		}
	}
	return "", "", nil
}
