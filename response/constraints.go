package response

import (
	"math"
	"slices"
)

// DefaultMinAutoCloseConfidence is the auto_close confidence floor a zero
// Constraints means.
const DefaultMinAutoCloseConfidence = 0.85

// Constraints are the hard executor constraints. They are code applied after
// the approval gate: an approval never lifts them. The zero value is the safe
// default (nothing allow-listed, 0.85 confidence and an FP match for
// auto_close, no routing or guardrail changes).
type Constraints struct {
	// AllowedPlaybooks is the playbook allow-list (exact ids); empty blocks
	// every execute_playbook.
	AllowedPlaybooks []string
	// MinAutoCloseConfidence is the auto_close floor; 0 means 0.85.
	MinAutoCloseConfidence float64
	// AutoCloseWithoutFPMatch drops the FP-match requirement of auto_close.
	AutoCloseWithoutFPMatch bool
	// AllowRoutingPolicyChanges lets modify_routing_policy run (after
	// approval; its floor is still tier 2).
	AllowRoutingPolicyChanges bool
	// AllowGuardrailChanges lets disable_guardrails run (after approval).
	AllowGuardrailChanges bool
}

func (c Constraints) minConfidence() float64 {
	if c.MinAutoCloseConfidence == 0 {
		return DefaultMinAutoCloseConfidence
	}
	return c.MinAutoCloseConfidence
}

func (c Constraints) validate() error {
	m := c.MinAutoCloseConfidence
	if math.IsNaN(m) || m < 0 || m > 1 {
		return &ConstraintsError{Reason: "MinAutoCloseConfidence must be within [0, 1]"}
	}
	return nil
}

// ValidatePlaybook reports whether id is on the allow-list (exact match).
func ValidatePlaybook(id string, c Constraints) bool {
	return id != "" && slices.Contains(c.AllowedPlaybooks, id)
}

// ValidateAutoClose reports whether the auto_close criteria hold: confidence
// at least the floor (0.85 passes at 0.85) and, unless waived, an FP match.
// NaN confidence never passes.
func ValidateAutoClose(confidence float64, fpMatched bool, c Constraints) bool {
	if math.IsNaN(confidence) || confidence < c.minConfidence() {
		return false
	}
	return fpMatched || c.AutoCloseWithoutFPMatch
}

// BlockedType says why an action was blocked.
type BlockedType string

// Blocked types (ActionResult.ConstraintBlockedType and
// decision.constraints_applied).
const (
	BlockedUnauthorizedPlaybook BlockedType = "unauthorized_playbook"
	BlockedInsufficientCriteria BlockedType = "insufficient_criteria"
	BlockedRoutingPolicyChange  BlockedType = "routing_policy_change"
	BlockedGuardrailChange      BlockedType = "guardrail_change"
	BlockedApprovalRequired     BlockedType = "approval_required"
)

// checkConstraint applies the action's executor constraint; "" means pass.
func checkConstraint(spec ActionSpec, a Action, c Case, cons Constraints) BlockedType {
	switch spec.Constraint {
	case ConstraintPlaybookAllowList:
		id := a.PlaybookID
		if id == "" {
			id = a.Target
		}
		if !ValidatePlaybook(id, cons) {
			return BlockedUnauthorizedPlaybook
		}
	case ConstraintAutoCloseCriteria:
		if !ValidateAutoClose(c.Confidence, c.Classification == "false_positive", cons) {
			return BlockedInsufficientCriteria
		}
	case ConstraintRoutingPolicy:
		if !cons.AllowRoutingPolicyChanges {
			return BlockedRoutingPolicyChange
		}
	case ConstraintGuardrails:
		if !cons.AllowGuardrailChanges {
			return BlockedGuardrailChange
		}
	}
	return ""
}
