package response

import (
	"strings"
	"time"
)

// DefaultApprovalTimeout is the reference's fixed approval window, still the
// window of an unknown severity.
const DefaultApprovalTimeout = 4 * time.Hour

// MinApprovalTimeout is the shortest approval window; shorter overrides
// (including 0 and negative hours) are raised to it.
const MinApprovalTimeout = time.Hour

// Gate severities.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
)

// DefaultTimeoutHours returns the default approval window per severity, in
// hours: critical 1, high 2, medium 4, low 8.
func DefaultTimeoutHours() map[string]int {
	return map[string]int{SeverityCritical: 1, SeverityHigh: 2, SeverityMedium: 4, SeverityLow: 8}
}

func defaultTimeout(severity string) time.Duration {
	switch severity {
	case SeverityCritical:
		return time.Hour
	case SeverityHigh:
		return 2 * time.Hour
	case SeverityMedium:
		return 4 * time.Hour
	case SeverityLow:
		return 8 * time.Hour
	}
	return DefaultApprovalTimeout
}

// severityRank orders gate severities: critical 4 … low 1, anything else 0.
func severityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	}
	return 0
}

func normSeverity(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// TimeoutBehavior is what a deadline does to an unanswered approval.
type TimeoutBehavior string

// Timeout behaviours.
const (
	// BehaviorEscalate re-routes to the escalated role (once by default),
	// then leaves the approval open. It never executes and never closes.
	BehaviorEscalate TimeoutBehavior = "escalate"
	// BehaviorClose times the approval out; the investigation is closed.
	BehaviorClose TimeoutBehavior = "close"
)

// Policy is the approval window and timeout behaviour of one gate.
type Policy struct {
	Severity string
	Timeout  time.Duration
	Behavior TimeoutBehavior
}

// TimeoutFor returns the approval window of a severity: the override in
// hours if present, else critical 1 h, high 2 h, medium 4 h, low 8 h,
// anything else 4 h; never less than 1 h.
func TimeoutFor(severity string, overridesHours map[string]int) time.Duration {
	severity = normSeverity(severity)
	d := defaultTimeout(severity)
	if h, ok := overridesHours[severity]; ok {
		d = time.Duration(min(max(h, 0), maxOverrideHours)) * time.Hour
	}
	return max(d, MinApprovalTimeout)
}

// maxOverrideHours caps a tenant override (one year) so a corrupt value
// cannot overflow the deadline arithmetic.
const maxOverrideHours = 24 * 366

// BehaviorFor returns escalate for critical and high, close otherwise.
func BehaviorFor(severity string) TimeoutBehavior {
	switch normSeverity(severity) {
	case SeverityCritical, SeverityHigh:
		return BehaviorEscalate
	}
	return BehaviorClose
}

// PolicyFor returns the policy of a severity (empty means medium).
func PolicyFor(severity string, overridesHours map[string]int) Policy {
	severity = normSeverity(severity)
	if severity == "" {
		severity = SeverityMedium
	}
	return Policy{Severity: severity, Timeout: TimeoutFor(severity, overridesHours), Behavior: BehaviorFor(severity)}
}

// Deadline is from + the timeout.
func (p Policy) Deadline(from time.Time) time.Time { return from.Add(p.Timeout) }

// HalfwayReached reports whether half the window before deadline has passed
// (the reminder point). A zero deadline counts as reached.
func (p Policy) HalfwayReached(deadline, now time.Time) bool {
	if deadline.IsZero() {
		return true
	}
	return !now.Before(deadline.Add(-p.Timeout / 2))
}

// Expired reports whether now is at or past deadline; a zero deadline counts
// as expired.
func Expired(deadline, now time.Time) bool {
	return deadline.IsZero() || !now.Before(deadline)
}

// NewGateRecord builds a fresh awaiting approval record for c (the
// reference's create_gate): deadline now + timeout, no assignee, required
// role senior_analyst. ApprovalID is left for the caller to set.
func NewGateRecord(c Case, pending []Action, p Policy, now time.Time) Approval {
	return Approval{
		InvestigationID: c.InvestigationID,
		TenantID:        c.TenantID,
		AlertID:         c.AlertID,
		State:           StateAwaitingApproval,
		PendingActions:  append([]Action(nil), pending...),
		Severity:        p.Severity,
		TimeoutSeconds:  int64(p.Timeout / time.Second),
		TimeoutBehavior: p.Behavior,
		RequestedAt:     now,
		Deadline:        p.Deadline(now),
		RequiredRole:    RoleSeniorAnalyst,
	}
}
