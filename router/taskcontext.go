package router

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/socwarden/warden/taxonomy"
)

// Defaults and limits applied by [TaskContext.Normalized].
const (
	DefaultTimeBudgetSeconds = 30
	DefaultAlertSeverity     = "medium"
	DefaultTenantTier        = "standard"
	// MaxTaskTypeBytes bounds a task type, which is copied into audit records.
	MaxTaskTypeBytes = 128
	// EscalationConfidenceThreshold: an earlier confidence below it escalates
	// critical and high alerts to tier_1_plus.
	EscalationConfidenceThreshold = 0.6
	// LargeContextTokens: a tier_0 task with more context tokens than this is
	// lifted to tier_1.
	LargeContextTokens = 100000
	// MinTimeBudgetSeconds: a budget below it forces tier_0.
	MinTimeBudgetSeconds = 3
)

// Alert severities accepted in TaskContext.AlertSeverity.
const (
	SeverityCritical      = "critical"
	SeverityHigh          = "high"
	SeverityMedium        = "medium"
	SeverityLow           = "low"
	SeverityInformational = "informational"
)

// TaskContext is the router's input: what the call is for and under which
// constraints.
type TaskContext struct {
	TaskType TaskType `json:"task_type"`
	// ContextTokens is the caller's count of prompt tokens; fallbacks with a
	// smaller context window are never chosen.
	ContextTokens int `json:"context_tokens"`
	// TimeBudgetSeconds 0 means "not set" (30 s).
	TimeBudgetSeconds int `json:"time_budget_seconds"`
	// AlertSeverity is matched case-insensitively after trimming; empty means
	// medium.
	AlertSeverity string `json:"alert_severity"`
	// TenantTier is used by quotas only; empty means standard.
	TenantTier        string `json:"tenant_tier"`
	RequiresReasoning bool   `json:"requires_reasoning"`
	// PreviousConfidence is the confidence of an earlier attempt, nil if none.
	PreviousConfidence *float64 `json:"previous_confidence,omitempty"`
	// MinTier, when set, is the least capable tier the caller accepts: the
	// routed tier is raised to it by [CapabilityRank] after every other rule
	// (the time budget included), and the context-window and
	// extended-thinking rules then apply to the raised tier as to any other.
	// "tier_1+" is accepted; tier_2 is rejected, because batch ranks with
	// tier_0 and could never raise anything. With a PreviousConfidence, a
	// MinTier of tier_1_plus asks for an escalation: it is admitted and
	// counted by the router's [EscalationManager] like the low-confidence
	// rule, and dropped when the manager refuses it.
	MinTier taxonomy.ModelTier `json:"min_tier,omitempty"`
	// TenantID, InvestigationID and AlertID are copied to audit records; an
	// empty tenant is audited as "unknown".
	TenantID        string `json:"tenant_id,omitempty"`
	InvestigationID string `json:"investigation_id,omitempty"`
	AlertID         string `json:"alert_id,omitempty"`
}

// Normalized applies the defaults and validates tc. Failures are
// *InvalidTaskContextError values matching ErrInvalidTaskContext.
func (tc TaskContext) Normalized() (TaskContext, error) {
	tt := strings.TrimSpace(string(tc.TaskType))
	switch {
	case tt == "":
		return tc, &InvalidTaskContextError{Field: "task_type", Reason: "must not be empty"}
	case len(tt) > MaxTaskTypeBytes:
		return tc, &InvalidTaskContextError{Field: "task_type", Reason: "longer than " + strconv.Itoa(MaxTaskTypeBytes) + " bytes"}
	case !utf8.ValidString(tt):
		return tc, &InvalidTaskContextError{Field: "task_type", Reason: "not valid UTF-8"}
	}
	tc.TaskType = TaskType(tt)
	if tc.ContextTokens < 0 {
		return tc, &InvalidTaskContextError{Field: "context_tokens", Reason: "must be >= 0"}
	}
	switch {
	case tc.TimeBudgetSeconds < 0:
		return tc, &InvalidTaskContextError{Field: "time_budget_seconds", Reason: "must be >= 0"}
	case tc.TimeBudgetSeconds == 0:
		tc.TimeBudgetSeconds = DefaultTimeBudgetSeconds
	}
	sev, ok := normalizeSeverity(tc.AlertSeverity)
	if !ok {
		return tc, &InvalidTaskContextError{Field: "alert_severity", Reason: "unknown severity " + quoteTrunc(tc.AlertSeverity)}
	}
	tc.AlertSeverity = sev
	if strings.TrimSpace(tc.TenantTier) == "" {
		tc.TenantTier = DefaultTenantTier
	}
	if p := tc.PreviousConfidence; p != nil && (math.IsNaN(*p) || *p < 0 || *p > 1) {
		return tc, &InvalidTaskContextError{Field: "previous_confidence", Reason: "must be a finite number in [0, 1]"}
	}
	if tc.MinTier != "" {
		// tierIndex first: the canonical spellings are parsed without the
		// slice taxonomy's parser builds.
		if tierIndex(tc.MinTier) < 0 {
			t, err := taxonomy.ParseModelTier(string(tc.MinTier))
			if err != nil {
				return tc, &InvalidTaskContextError{Field: "min_tier", Reason: "unknown tier " + quoteTrunc(string(tc.MinTier))}
			}
			tc.MinTier = t
		}
		if tc.MinTier == taxonomy.Tier2 {
			return tc, &InvalidTaskContextError{Field: "min_tier", Reason: "tier_2 (batch) is not a capability floor"}
		}
	}
	return tc, nil
}

// normalizeSeverity returns the canonical (constant) spelling of s, so the
// result never allocates.
func normalizeSeverity(s string) (string, bool) {
	switch s {
	case "":
		return DefaultAlertSeverity, true
	case SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational:
		return s, true
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return DefaultAlertSeverity, true
	}
	for _, c := range [...]string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational} {
		if strings.EqualFold(t, c) {
			return c, true
		}
	}
	return "", false
}

// quoteTrunc quotes at most 64 bytes of s for an error message.
func quoteTrunc(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit]
	}
	return strconv.Quote(s)
}
