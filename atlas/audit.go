package atlas

import (
	"maps"
	"strings"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Audit vocabulary of this package.
const (
	keyRuleID              = "rule_id"
	keyAlertTitle          = "alert_title"
	keyThreatModelRef      = "threat_model_ref"
	keyAtlasTechnique      = "atlas_technique"
	keyAttackTechnique     = "attack_technique"
	keyTelemetryTrustLevel = "telemetry_trust_level"
	keyAttestationStatus   = "attestation_status"
	keyRequiresImmediate   = "requires_immediate_action"
	keySafetyRelevant      = "safety_relevant"
	keyDedupKey            = "dedup_key"
	keyEvidence            = "evidence"

	constraintSafetyFloor    = "safety_confidence_floor"
	constraintTrustDowngrade = "trust_downgrade"
	constraintSafety         = "safety_relevant"
	constraintImmediate      = "requires_immediate_action"

	actionPublished     = "alert_published"
	actionNotPublished  = "alert_not_published"
	actionPublishFailed = "alert_publish_failed"
)

// auditSeverity follows the alert: Critical → critical, High → warning,
// anything else → info.
func auditSeverity(s Severity) taxonomy.Severity {
	switch sev, _ := AlertSeverity(s); sev {
	case "critical":
		return taxonomy.SeverityCritical
	case "high":
		return taxonomy.SeverityWarning
	}
	return taxonomy.SeverityInfo
}

// emitFired emits atlas.detection_fired for a triggered, non-suppressed
// detection after its publish attempt. A nil producer skips it; a panicking
// or refusing producer is logged and never changes a result.
func (r *Runner) emitFired(d Detection, attempted bool, pubErr error) {
	if r.cfg.producer == nil {
		return
	}
	tenant := r.cfg.tenant
	if tenant == "" {
		tenant = systemTenant
	}
	ctx := audit.Fields{
		keyRuleID: d.RuleID, keyAlertTitle: d.AlertTitle, audit.KeyConfidence: d.Confidence,
		keyTelemetryTrustLevel: string(d.TelemetryTrustLevel),
		keyRequiresImmediate:   d.RequiresImmediateAction, keySafetyRelevant: d.SafetyRelevant,
	}
	putStr(ctx, keyThreatModelRef, d.ThreatModelRef)
	putStr(ctx, keyAtlasTechnique, d.AtlasTechnique)
	putStr(ctx, keyAttackTechnique, d.AttackTechnique)
	putStr(ctx, keyAttestationStatus, d.AttestationStatus)
	putStr(ctx, keyDedupKey, d.DedupKey)
	if len(d.Evidence) > 0 {
		ctx[keyEvidence] = maps.Clone(d.Evidence)
	}
	if ts := nonEmpty(d.AtlasTechnique, d.AttackTechnique); len(ts) > 0 {
		ctx[audit.KeyTechniquesIdentified] = ts
	}

	sev, _ := AlertSeverity(d.AlertSeverity)
	basis := d.RuleID
	if d.ThreatModelRef != "" {
		basis += " " + d.ThreatModelRef
	}
	att := d.AttestationStatus
	if att == "" {
		att = "n/a"
	}
	basis += "; telemetry " + string(d.TelemetryTrustLevel) + "; attestation " + att
	var constraints []string
	if SafetyFloor(d.RuleID) > 0 {
		constraints = append(constraints, constraintSafetyFloor)
	}
	if d.TelemetryTrustLevel == Untrusted {
		constraints = append(constraints, constraintTrustDowngrade)
	}
	if d.SafetyRelevant {
		constraints = append(constraints, constraintSafety)
	}
	if d.RequiresImmediateAction {
		constraints = append(constraints, constraintImmediate)
	}
	decision := audit.Fields{
		audit.KeyDecisionType: string(taxonomy.DecisionClassify), audit.KeyConfidence: d.Confidence,
		audit.KeySeverityAssigned: sev, audit.KeyConfidenceBasis: basis,
	}
	putStr(decision, audit.KeyReasoningSummary, d.AlertTitle)
	if len(constraints) > 0 {
		decision[audit.KeyConstraintsApplied] = constraints
	}

	outcome := audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess), audit.KeyActionTarget: r.cfg.alertTopic}
	switch {
	case pubErr != nil:
		outcome[audit.KeyOutcomeStatus] = string(taxonomy.OutcomeFailed)
		outcome[audit.KeyActionTaken] = actionPublishFailed
		outcome[audit.KeyErrorDetails] = pubErr.Error()
	case !attempted:
		outcome[audit.KeyActionTaken] = actionNotPublished
	default:
		outcome[audit.KeyActionTaken] = actionPublished
	}

	var ids []string
	for _, e := range d.Entities {
		if e.ID != "" && !contains(ids, e.ID) {
			ids = append(ids, e.ID)
		}
	}
	ev := audit.Event{
		TenantID: tenant, Type: taxonomy.ATLASDetectionFired, Severity: auditSeverity(d.AlertSeverity),
		ActorType: taxonomy.ActorSystem, ActorID: atlasDetectionActor, AlertID: d.AlertID, EntityIDs: ids,
		Context: ctx, Decision: decision, Outcome: outcome,
	}
	defer func() {
		if p := recover(); p != nil {
			r.cfg.logger.Warn("atlas: audit producer panicked", "rule_id", d.RuleID, "panic", p)
		}
	}()
	if _, ok := audit.Emit(r.cfg.producer, ev); !ok {
		r.cfg.logger.Debug("atlas: audit event not accepted", "rule_id", d.RuleID, "alert_id", d.AlertID)
	}
}

func putStr(f audit.Fields, k, v string) {
	if v != "" {
		f[k] = v
	}
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
