package autonomy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Pattern statuses (exactly seven).
const (
	StatusPendingReview = "pending_review"
	StatusApproved      = "approved"
	StatusActive        = "active"
	StatusShadow        = "shadow"
	StatusDeprecated    = "deprecated"
	StatusExpired       = "expired"
	StatusRevoked       = "revoked"
)

// Statuses returns the seven pattern statuses.
func Statuses() []string {
	return []string{StatusPendingReview, StatusApproved, StatusActive, StatusShadow,
		StatusDeprecated, StatusExpired, StatusRevoked}
}

// Entity types a pattern may name: entityparser's vocabulary.
const (
	EntityAccount  = "account"
	EntityHost     = "host"
	EntityIP       = "ip"
	EntityFile     = "file"
	EntityProcess  = "process"
	EntityURL      = "url"
	EntityDNS      = "dns"
	EntityFileHash = "filehash"
	EntityMailbox  = "mailbox"
)

// EntityTypes returns the nine entity types a pattern may name.
func EntityTypes() []string {
	return []string{EntityAccount, EntityHost, EntityIP, EntityFile, EntityProcess, EntityURL,
		EntityDNS, EntityFileHash, EntityMailbox}
}

// EntityPattern is one entity condition of a pattern: some entity of Type
// whose primary value matches ValueRegex or lies in ValueCIDR.
type EntityPattern struct {
	Type       string `json:"type"`
	ValueRegex string `json:"value_regex,omitempty"`
	ValueCIDR  string `json:"value_cidr,omitempty"`
}

// FPPattern is a false-positive pattern: the one definition shared by
// batch (which creates candidates) and the FP short-circuit (which matches
// active ones). Times are RFC 3339 on the wire.
//
// A pattern matches only when its status is approved or active, it has two
// distinct approvers, it is not expired and its scope fits the alert.
type FPPattern struct {
	PatternID      string          `json:"pattern_id"`
	TenantID       string          `json:"tenant_id"`
	AlertName      string          `json:"alert_name,omitempty"`
	AlertNameRegex string          `json:"alert_name_regex,omitempty"`
	EntityPatterns []EntityPattern `json:"entity_patterns,omitempty"`
	Severity       string          `json:"severity,omitempty"`
	Confidence     float64         `json:"confidence,omitempty"`
	// MinConfidence is a per-pattern floor; it only ever tightens matching.
	MinConfidence  float64   `json:"min_confidence,omitempty"`
	Status         string    `json:"status"`
	ApprovedBy1    string    `json:"approved_by_1,omitempty"`
	ApprovedBy2    string    `json:"approved_by_2,omitempty"`
	ApprovalDate   time.Time `json:"approval_date,omitzero"`
	ExpiryDate     time.Time `json:"expiry_date,omitzero"`
	ReaffirmedDate time.Time `json:"reaffirmed_date,omitzero"`
	ReaffirmedBy   string    `json:"reaffirmed_by,omitempty"`
	RevokedBy      string    `json:"revoked_by,omitempty"`
	RevokedAt      time.Time `json:"revoked_at,omitzero"`
	// Scope: each non-empty field must equal the alert's value; empty is
	// global.
	ScopeRuleFamily string    `json:"scope_rule_family,omitempty"`
	ScopeTenantID   string    `json:"scope_tenant_id,omitempty"`
	ScopeAssetClass string    `json:"scope_asset_class,omitempty"`
	CreatedAt       time.Time `json:"created_at,omitzero"`
}

// timeKeys are the pattern's date members.
var timeKeys = []string{"approval_date", "expiry_date", "reaffirmed_date", "revoked_at", "created_at"}

// UnmarshalJSON accepts dates as RFC 3339, as RFC 3339 without a zone (read
// as UTC) or as a bare date; any other date string is an error, so a
// pattern with an unreadable expiry can never be mistaken for one without
// expiry.
func (p *FPPattern) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, k := range timeKeys {
		raw, ok := m[k]
		if !ok {
			continue
		}
		var s *string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("autonomy: pattern %s: want an RFC 3339 string", k)
		}
		if s == nil || strings.TrimSpace(*s) == "" {
			delete(m, k)
			continue
		}
		t, err := ParseTime(*s)
		if err != nil {
			return fmt.Errorf("autonomy: pattern %s: %w", k, err)
		}
		m[k], _ = json.Marshal(t)
	}
	fixed, err := json.Marshal(m)
	if err != nil {
		return err
	}
	type plain FPPattern
	var out plain
	if err := json.Unmarshal(fixed, &out); err != nil {
		return err
	}
	*p = FPPattern(out)
	return nil
}

// ParseTime reads RFC 3339, RFC 3339 without a zone (UTC) or a bare date
// (UTC midnight).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unparsable date %q", truncate(s, 64))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (p FPPattern) clone() FPPattern {
	p.EntityPatterns = slices.Clone(p.EntityPatterns)
	return p
}

// TwoPersonApproved reports whether the pattern has two distinct approvers
// (compared case-insensitively, ignoring surrounding space).
func (p FPPattern) TwoPersonApproved() bool {
	a, b := normApprover(p.ApprovedBy1), normApprover(p.ApprovedBy2)
	return a != "" && b != "" && a != b
}

func normApprover(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ownerTenant is the tenant audit events of the pattern belong to.
func (p FPPattern) ownerTenant() string {
	if p.ScopeTenantID != "" {
		return p.ScopeTenantID
	}
	return p.TenantID
}

// Validate checks what every stored pattern needs: an id, an owning tenant,
// a known status (empty is allowed for a new candidate), entity patterns of
// the entity vocabulary with at least one condition, compilable regexes and
// parsable CIDRs, and a min_confidence within [0, 1].
func (p FPPattern) Validate() error {
	switch {
	case strings.TrimSpace(p.PatternID) == "":
		return invalid("pattern_id is required")
	case strings.TrimSpace(p.TenantID) == "":
		return invalid("tenant_id is required")
	case p.Status != "" && !slices.Contains(Statuses(), p.Status):
		return invalid("unknown status " + quote(p.Status))
	case !(p.MinConfidence >= 0 && p.MinConfidence <= 1):
		return invalid("min_confidence must be within [0, 1]")
	}
	if p.AlertNameRegex != "" {
		if _, err := regexp.Compile(anchored(p.AlertNameRegex)); err != nil {
			return invalid("alert_name_regex does not compile: " + err.Error())
		}
	}
	for i, ep := range p.EntityPatterns {
		if !slices.Contains(EntityTypes(), ep.Type) {
			return invalid(fmt.Sprintf("entity_patterns[%d]: unknown entity type %s", i, quote(ep.Type)))
		}
		if ep.ValueRegex == "" && ep.ValueCIDR == "" {
			return invalid(fmt.Sprintf("entity_patterns[%d]: needs value_regex or value_cidr", i))
		}
		if ep.ValueRegex != "" {
			if _, err := regexp.Compile(anchored(ep.ValueRegex)); err != nil {
				return invalid(fmt.Sprintf("entity_patterns[%d]: value_regex does not compile: %v", i, err))
			}
		}
		if ep.ValueCIDR != "" {
			if _, ok := parseNetwork(ep.ValueCIDR); !ok {
				return invalid(fmt.Sprintf("entity_patterns[%d]: value_cidr %s is not a network", i, quote(ep.ValueCIDR)))
			}
		}
	}
	return nil
}

// NewCandidate is how a generator (batch) hands a pattern to review: the
// pattern is validated and reset to pending_review with no approvals,
// approval, expiry, reaffirmation or revocation data, and created_at set to
// now when empty. Only Governance can move it further.
func NewCandidate(p FPPattern, now time.Time) (FPPattern, error) {
	p = p.clone()
	p.Status = StatusPendingReview
	p.ApprovedBy1, p.ApprovedBy2 = "", ""
	p.ApprovalDate, p.ExpiryDate, p.ReaffirmedDate, p.RevokedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	p.ReaffirmedBy, p.RevokedBy = "", ""
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now.UTC()
	}
	if err := p.Validate(); err != nil {
		return FPPattern{}, err
	}
	return p, nil
}

// FPPatternStore is the one store port of FP patterns. List returns the
// tenant's patterns sorted by pattern_id; Get returns one; Put upserts by
// (tenant_id, pattern_id). Generators Put candidates (NewCandidate);
// approval, activation, expiry and revocation go through Governance and
// FPCanary, which emit the fp_pattern.* events.
type FPPatternStore interface {
	List(ctx context.Context, tenantID string) ([]FPPattern, error)
	Get(ctx context.Context, tenantID, patternID string) (FPPattern, bool, error)
	Put(ctx context.Context, p FPPattern) error
}

// MatchesScope reports whether the pattern's scope fits the alert: every
// non-empty scope field must equal the alert's value.
func MatchesScope(p FPPattern, ruleFamily, tenantID, assetClass string) bool {
	return (p.ScopeRuleFamily == "" || p.ScopeRuleFamily == ruleFamily) &&
		(p.ScopeTenantID == "" || p.ScopeTenantID == tenantID) &&
		(p.ScopeAssetClass == "" || p.ScopeAssetClass == assetClass)
}

// anchored gives a pattern the reference's semantics: case-insensitive,
// anchored at the start, not at the end.
func anchored(pattern string) string { return "(?i)^(?:" + pattern + ")" }

// parseNetwork reads a CIDR leniently: host bits are allowed and a bare
// address is a /32 or /128.
func parseNetwork(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// InCIDR reports whether value is an IP of the network's family inside it.
// IPv4-mapped IPv6 values are not unmapped; any parse failure is false.
func InCIDR(value, cidr string) bool {
	p, ok := parseNetwork(cidr)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(value))
	if err != nil || a.Zone() != "" || a.Is4() != p.Addr().Is4() {
		return false
	}
	return p.Contains(a)
}
