package orchestrator

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Human-review reasons, in the order they are recorded.
const (
	ReasonDestructiveAction          = "destructive_action"
	ReasonLowConfidenceHighSeverity  = "low_confidence_high_severity"
	ReasonUntrustedTelemetry         = "untrusted_telemetry"
	ReasonShadowMode                 = "shadow_mode"
	ReasonDegradedMode               = "degraded_mode"
	ReasonActionPolicyUnavailable    = "action_policy_unavailable"
	ReasonDegradedAutoCloseThreshold = "degraded_auto_close_threshold"
)

// Classifications the graph writes.
const (
	ClassificationTruePositive          = "true_positive"
	ClassificationFalsePositive         = "false_positive"
	ClassificationSuspicious            = "suspicious"
	ClassificationInvestigationRequired = "investigation_required"
	ClassificationRejected              = "rejected"
	ClassificationTimedOut              = "timed_out"
	ClassificationEscalated             = "escalated"
)

func highSeverity(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "critical" || s == "high"
}

// HumanReviewReasons returns the reasoner's own review rules for inv:
// destructive_action when a recommended action has tier >= 2, and
// low_confidence_high_severity when the confidence is below 0.6 on a
// critical or high investigation. Low confidence on medium or low severity
// does not need a human.
func HumanReviewReasons(inv *Investigation) []string {
	if inv == nil {
		return nil
	}
	var reasons []string
	for _, a := range inv.RecommendedActions {
		if int(a.Tier) >= DestructiveTier {
			reasons = append(reasons, ReasonDestructiveAction)
			break
		}
	}
	if finite(inv.Confidence) < ReviewConfidenceThreshold && highSeverity(inv.Severity) {
		reasons = append(reasons, ReasonLowConfidenceHighSeverity)
	}
	return reasons
}

// applyTrustConstraint runs the trust check of spec §3.6 on inv and reports
// whether human review is forced. Only entries that carry a trust level
// count: an entry the LLM added (no trust level) can neither make the
// evidence trusted nor hide untrusted detections.
func applyTrustConstraint(inv *Investigation, at time.Time) bool {
	var withTrust, untrusted int
	var attestations []string
	for _, t := range inv.ATLASTechniques {
		if t.TelemetryTrustLevel != "" {
			withTrust++
			if t.TelemetryTrustLevel == TrustUntrusted {
				untrusted++
			}
		}
		if t.AttestationStatus != "" && !slices.Contains(attestations, t.AttestationStatus) {
			attestations = append(attestations, t.AttestationStatus)
		}
	}
	if withTrust > 0 && untrusted == withTrust {
		e := NewDecisionEntry(ActorOrchestrator, "force_human_review", at)
		e.Step, e.Reasoning, e.AttestationStatus = "trust_constraint", "All ATLAS detections based on untrusted telemetry", "untrusted_only"
		inv.DecisionChain = append(inv.DecisionChain, e)
		return true
	}
	if len(attestations) > 0 {
		slices.Sort(attestations)
		e := NewDecisionEntry(ActorOrchestrator, "trust_verified", at)
		e.Step, e.Reasoning = "trust_assessment", "Mixed or trusted telemetry sources present"
		e.AttestationStatus = strings.Join(attestations, ",")
		inv.DecisionChain = append(inv.DecisionChain, e)
	}
	return false
}

// policyReasons asks the action policy. An error or a panic fails closed:
// the actions go to a human.
func (g *Graph) policyReasons(ctx context.Context, inv *Investigation) (need bool, reasons []string) {
	if g.cfg.policy == nil {
		return false, nil
	}
	defer func() {
		if r := recover(); r != nil {
			g.log.Warn("orchestrator: action policy panicked; requiring approval", "investigation_id", inv.InvestigationID, "panic", r)
			need, reasons = true, []string{ReasonActionPolicyUnavailable}
		}
	}()
	ok, rs, err := g.cfg.policy.RequiresApproval(ctx, inv.Clone())
	if err != nil {
		g.log.Warn("orchestrator: action policy failed; requiring approval", "investigation_id", inv.InvestigationID, "error", err)
		return true, []string{ReasonActionPolicyUnavailable}
	}
	return ok, rs
}

// appendUnique appends the values of add not yet in list.
func appendUnique(list []string, add ...string) []string {
	for _, a := range add {
		if a != "" && !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}
