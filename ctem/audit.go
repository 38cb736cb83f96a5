package ctem

import (
	"strconv"
	"strings"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Audit vocabulary of this package.
const (
	keyExposureKey         = "exposure_key"
	keySeverity            = "severity"
	keySourceTool          = "source_tool"
	keyAssetID             = "asset_id"
	keyAssetZone           = "asset_zone"
	keyPhysicalConsequence = "physical_consequence"
	keyExploitabilityScore = "exploitability_score"
	keyCTEMScore           = "ctem_score"
	keySLADeadline         = "sla_deadline"
	keyStatus              = "status"
	keyConsequenceSource   = "consequence_source"
	keyRemediationID       = "remediation_id"
	keyAssignee            = "assignee"
	keyPreviousAssignee    = "previous_assignee"
	keyAssignmentSource    = "assignment_source"
	keyVerifiedBy          = "verified_by"
	keySLABreached         = "sla_breached"
	keyFixDescription      = "fix_description"

	constraintStatusPreserved = "status_preserved"
	constraintSLATightened    = "sla_tightened"

	actionInserted = "inserted"
	actionUpdated  = "updated"
	actionAssign   = "assign"
	actionVerify   = "verify"
)

// fields builds an audit object, leaving out empty strings and empty lists
// (numbers and booleans are always kept), as spec §5 requires.
type fields audit.Fields

func (f fields) str(k, v string) fields {
	if v != "" {
		f[k] = v
	}
	return f
}

func (f fields) list(k string, vs ...string) fields {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	if len(out) > 0 {
		f[k] = out
	}
	return f
}

func (f fields) val(k string, v any) fields {
	f[k] = v
	return f
}

// object returns the fields as an audit object, nil when empty so that no
// empty {} is written.
func (f fields) object() audit.Fields {
	if len(f) == 0 {
		return nil
	}
	return audit.Fields(f)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// emit hands an event to the producer; a panicking producer is recovered and
// logged, a refusal logged at debug. It never affects a business result.
func (s *Service) emit(ev audit.Event) {
	if s.cfg.producer == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.cfg.logger.Warn("ctem: audit producer panicked", "event_type", string(ev.Type), "panic", r)
		}
	}()
	if _, ok := audit.Emit(s.cfg.producer, ev); !ok {
		s.cfg.logger.Debug("ctem: audit event not accepted", "event_type", string(ev.Type), "tenant_id", ev.TenantID)
	}
}

// emitScored emits ctem.exposure_scored for a stored exposure.
func (s *Service) emitScored(e Exposure, sc scored, info mergeInfo) {
	if s.cfg.producer == nil {
		return
	}
	ctx := fields{}.
		val(keyExposureKey, e.ExposureKey).
		val(keySeverity, string(e.Severity)).
		str(keySourceTool, string(e.SourceTool)).
		str(keyAssetID, e.AssetID).
		str(keyAssetZone, e.AssetZone).
		str(keyPhysicalConsequence, string(e.PhysicalConsequence)).
		val(keyExploitabilityScore, e.ExploitabilityScore).
		val(keyCTEMScore, e.CTEMScore).
		str(keySLADeadline, rfc3339(e.SLADeadline)).
		str(keyStatus, string(e.Status)).
		str(keyConsequenceSource, sc.consequenceSource).
		list(audit.KeyTechniquesIdentified, e.AtlasTechnique, e.AttackTechnique).
		list(audit.KeyEvidenceRefs, e.EvidenceURL)
	summary := string(e.SourceTool) + ` finding "` + e.Title + `" on ` + e.AssetID +
		": exploitability " + string(sc.level) + " (" + num(e.ExploitabilityScore) + "), consequence " +
		string(e.PhysicalConsequence) + " -> " + string(e.Severity) + ", ctem_score " + num(e.CTEMScore)
	if !info.inserted && info.prevSeverity != "" && info.prevSeverity != e.Severity {
		summary += "; severity was " + string(info.prevSeverity)
	}
	var constraints []string
	if info.statusPreserved {
		constraints = append(constraints, constraintStatusPreserved)
	}
	if info.slaTightened {
		constraints = append(constraints, constraintSLATightened)
	}
	decision := fields{}.
		val(audit.KeyDecisionType, string(taxonomy.DecisionClassify)).
		val(audit.KeySeverityAssigned, strings.ToLower(string(e.Severity))).
		str(audit.KeyReasoningSummary, summary).
		list(audit.KeyConstraintsApplied, constraints...)
	action := actionUpdated
	if info.inserted {
		action = actionInserted
	}
	outcome := fields{}.
		val(audit.KeyOutcomeStatus, string(taxonomy.OutcomeSuccess)).
		val(audit.KeyActionTaken, action).
		str(audit.KeyActionTarget, e.ExposureKey)
	s.emit(audit.Event{
		TenantID: e.TenantID, Type: taxonomy.CTEMExposureScored, Severity: taxonomy.SeverityInfo,
		ActorType: systemActor.Type, ActorID: systemActor.ID, EntityIDs: []string{e.AssetID},
		Context: ctx.object(), Decision: decision.object(), Outcome: outcome.object(),
	})
}

// emitAssigned emits ctem.remediation_assigned.
func (s *Service) emitAssigned(rec Record, ch assignChange) {
	if s.cfg.producer == nil || rec.Remediation == nil {
		return
	}
	e := rec.Exposure
	ctx := fields{}.
		val(keyExposureKey, e.ExposureKey).
		str(keyRemediationID, rec.Remediation.RemediationID).
		str(keyAssignee, e.AssignedTo).
		str(keyPreviousAssignee, ch.previous).
		str(keyAssignmentSource, ch.source).
		str(keySeverity, string(e.Severity)).
		str(keySLADeadline, rfc3339(e.SLADeadline)).
		list(audit.KeyTechniquesIdentified, e.AtlasTechnique, e.AttackTechnique)
	summary := "assigned to " + e.AssignedTo
	if ch.previous != "" {
		summary += " (was " + ch.previous + ")"
	}
	if ch.reason != "" {
		summary += ": " + ch.reason
	}
	decision := fields{}.
		str(audit.KeyReasoningSummary, summary).
		list(audit.KeyRecommendedActions, e.RemediationGuidance)
	outcome := fields{}.
		val(audit.KeyOutcomeStatus, string(taxonomy.OutcomeSuccess)).
		val(audit.KeyActionTaken, actionAssign).
		str(audit.KeyActionTarget, e.ExposureKey).
		str(audit.KeyStateBefore, string(ch.stateBefore)).
		str(audit.KeyStateAfter, string(rec.Remediation.Status))
	s.emit(audit.Event{
		TenantID: e.TenantID, Type: taxonomy.CTEMRemediationAssigned, Severity: taxonomy.SeverityInfo,
		ActorType: ch.actor.Type, ActorID: ch.actor.ID, EntityIDs: []string{e.AssetID},
		Context: ctx.object(), Decision: decision.object(), Outcome: outcome.object(),
	})
}

// emitVerified emits ctem.remediation_verified.
func (s *Service) emitVerified(rec Record, req VerifyRequest, before Status) {
	if s.cfg.producer == nil || rec.Remediation == nil {
		return
	}
	e, r := rec.Exposure, rec.Remediation
	ctx := fields{}.
		val(keyExposureKey, e.ExposureKey).
		str(keyRemediationID, r.RemediationID).
		str(keyVerifiedBy, r.VerifiedBy).
		str(keySeverity, string(e.Severity)).
		str(keySLADeadline, rfc3339(r.SLADeadline)).
		val(keySLABreached, r.SLABreached).
		str(keyFixDescription, r.FixDescription).
		list(audit.KeyEvidenceRefs, r.PullRequestURL)
	decision := fields{}.str(audit.KeyReasoningSummary, req.Note)
	var durationMS int64
	if !r.AssignedDate.IsZero() && r.VerifiedDate.After(r.AssignedDate) {
		durationMS = r.VerifiedDate.Sub(r.AssignedDate).Milliseconds()
	}
	outcome := fields{}.
		val(audit.KeyOutcomeStatus, string(taxonomy.OutcomeSuccess)).
		val(audit.KeyActionTaken, actionVerify).
		str(audit.KeyActionTarget, e.ExposureKey).
		str(audit.KeyStateBefore, string(before)).
		val(audit.KeyStateAfter, string(StatusVerified)).
		str(audit.KeyApprovalReceivedFrom, r.VerifiedBy).
		val(audit.KeyDurationMS, durationMS)
	s.emit(audit.Event{
		TenantID: e.TenantID, Type: taxonomy.CTEMRemediationVerified, Severity: taxonomy.SeverityInfo,
		ActorType: req.Actor.Type, ActorID: req.Actor.ID, EntityIDs: []string{e.AssetID},
		Context: ctx.object(), Decision: decision.object(), Outcome: outcome.object(),
	})
}
