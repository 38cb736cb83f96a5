package response

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Context keys the package writes that have no audit.KeyXxx constant.
const (
	KeyTier             = "tier"
	KeyRiskClass        = "risk_class"
	KeyZone             = "zone"
	KeyConsequenceClass = "consequence_class"
	KeyApprovalDeadline = "approval_deadline"
	KeyTimeoutSeconds   = "timeout_seconds"
	KeyTimeoutBehavior  = "timeout_behavior"
	KeyPendingActions   = "pending_actions"
	KeyEscalationLevel  = "escalation_level"
	KeyEscalationKind   = "escalation_kind"
	KeyApproverRole     = "approver_role"
	KeyRequiredRole     = "required_role"
	KeyAction           = "action"
	KeyTarget           = "target"
	KeyIdempotencyKey   = "idempotency_key"
	KeyApprovalID       = "approval_id"
	KeyExecutionID      = "execution_id"
)

// Escalation kinds (context.escalation_kind and decision.reasoning_summary of
// approval.escalated).
const (
	escalationHalfTimeout = "half_timeout"
	escalationReroute     = "timeout_reroute"
)

// emitter sends events through an optional producer. It never lets the
// producer change a business result: a nil producer is a no-op and a
// panicking one is recovered and logged.
type emitter struct {
	p   audit.Producer
	log *slog.Logger
}

func (e emitter) emit(ev audit.Event) {
	if e.p == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			e.log.Warn("response: audit producer panicked; event dropped", "type", ev.Type, "panic", p)
		}
	}()
	if _, ok := e.p.Emit(ev); !ok {
		e.log.Debug("response: audit event not accepted", "type", ev.Type)
	}
}

func entityIDs(targets ...string) []string {
	var out []string
	for _, t := range targets {
		if t == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == t {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

func approvalRef(id string) string  { return "approval:" + id }
func executionRef(id string) string { return "execution:" + id }

// announceID is the audit id of the n-th request event of an approval: a
// version-8 UUID from SHA-256 of the approval id and n, stable across
// processes.
func announceID(approvalID string, n int) string {
	sum := sha256.Sum256([]byte("warden/response/announce\x00" + approvalID + "\x00" + strconv.Itoa(n)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func pendingNames(a Approval) []string {
	out := make([]string, len(a.PendingActions))
	for i, p := range a.PendingActions {
		out[i] = p.Action
	}
	return out
}

func pendingTargets(a Approval) []string {
	out := make([]string, len(a.PendingActions))
	for i, p := range a.PendingActions {
		out[i] = p.Target
	}
	return entityIDs(out...)
}

// requestedFrom is who the approval currently waits for.
func requestedFrom(a Approval) string {
	if a.AssignedTo != "" {
		return a.AssignedTo
	}
	return string(a.RequiredRole)
}

func withTarget(f audit.Fields, target string) audit.Fields {
	if target != "" {
		f[audit.KeyActionTarget] = target
	}
	return f
}

func (e emitter) prepared(a Approval, g graded, auditID string) {
	if e.p == nil {
		return
	}
	reasons := g.reasons
	if len(reasons) == 0 {
		reasons = []string{ReasonReviewRequired}
	}
	ctx := audit.Fields{
		audit.KeyEvidenceRefs: []string{approvalRef(a.ApprovalID)},
		KeyTier:               int(g.tier),
		KeyRiskClass:          string(g.spec.Risk),
		KeyApprovalID:         a.ApprovalID,
	}
	if g.zone != "" {
		ctx[KeyZone] = g.zone
		ctx[KeyConsequenceClass] = string(g.class)
	}
	e.emit(audit.Event{
		AuditID:  auditID,
		TenantID: a.TenantID, Type: taxonomy.ResponsePrepared, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent, ActorID: ActorID,
		InvestigationID: a.InvestigationID, AlertID: a.AlertID, EntityIDs: entityIDs(g.action.Target),
		Context: ctx,
		Decision: audit.Fields{
			audit.KeyDecisionType:       string(taxonomy.DecisionRequestApproval),
			audit.KeyRecommendedActions: []string{g.name},
			audit.KeySeverityAssigned:   a.Severity,
			audit.KeyConstraintsApplied: reasons,
		},
		Outcome: withTarget(audit.Fields{
			audit.KeyOutcomeStatus: string(taxonomy.OutcomePendingApproval),
			audit.KeyActionTaken:   g.name,
		}, g.action.Target),
	})
}

func (e emitter) requested(a Approval, auditID string) {
	if e.p == nil {
		return
	}
	names := pendingNames(a)
	e.emit(audit.Event{
		AuditID:  auditID,
		TenantID: a.TenantID, Type: taxonomy.ApprovalRequested, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent, ActorID: ActorID,
		InvestigationID: a.InvestigationID, AlertID: a.AlertID, EntityIDs: pendingTargets(a),
		Context: audit.Fields{
			audit.KeyEvidenceRefs: []string{approvalRef(a.ApprovalID)},
			KeyApprovalID:         a.ApprovalID,
			KeyApprovalDeadline:   a.Deadline.UTC().Format(time.RFC3339),
			KeyTimeoutSeconds:     a.TimeoutSeconds,
			KeyTimeoutBehavior:    string(a.TimeoutBehavior),
			KeyPendingActions:     names,
			KeyRequiredRole:       string(a.RequiredRole),
		},
		Decision: audit.Fields{
			audit.KeyDecisionType:       string(taxonomy.DecisionRequestApproval),
			audit.KeyRecommendedActions: names,
			audit.KeySeverityAssigned:   a.Severity,
			audit.KeyReasoningSummary:   strings.Join(a.Reasons, ","),
		},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus:         string(taxonomy.OutcomePendingApproval),
			audit.KeyApprovalRequestedFrom: requestedFrom(a),
		},
	})
}

// decided emits approval.granted or approval.denied for a record just
// decided. The latency runs from the first request, across escalations.
func (e emitter) decided(a Approval) {
	if e.p == nil {
		return
	}
	typ, dt := taxonomy.ApprovalGranted, taxonomy.DecisionApprove
	if a.State == StateDenied {
		typ, dt = taxonomy.ApprovalDenied, taxonomy.DecisionReject
	}
	out := audit.Fields{
		audit.KeyOutcomeStatus:         string(taxonomy.OutcomeSuccess),
		audit.KeyApprovalReceivedFrom:  a.DecidedBy,
		audit.KeyApprovalRequestedFrom: requestedFrom(a),
		audit.KeyApprovalChannel:       string(a.DecisionChannel),
		audit.KeyApprovalLatencyMS:     a.DecidedAt.Sub(a.RequestedAt).Milliseconds(),
		audit.KeyStateBefore:           string(StateAwaitingApproval),
		audit.KeyStateAfter:            string(a.State),
	}
	if a.DecisionComment != "" {
		out[audit.KeyApprovalComment] = a.DecisionComment
	}
	var perms []string
	if a.DecidedRole != "" {
		perms = []string{string(a.DecidedRole)}
	}
	e.emit(audit.Event{
		TenantID: a.TenantID, Type: typ, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorHuman, ActorID: a.DecidedBy, ActorPermissions: perms,
		InvestigationID: a.InvestigationID, AlertID: a.AlertID, EntityIDs: pendingTargets(a),
		Context: audit.Fields{
			audit.KeyEvidenceRefs: []string{approvalRef(a.ApprovalID)},
			KeyApprovalID:         a.ApprovalID,
			KeyEscalationLevel:    a.EscalationLevel,
			KeyApproverRole:       string(a.DecidedRole),
			KeyRequiredRole:       string(a.RequiredRole),
		},
		Decision: audit.Fields{
			audit.KeyDecisionType:       string(dt),
			audit.KeyRecommendedActions: pendingNames(a),
			audit.KeySeverityAssigned:   a.Severity,
		},
		Outcome: out,
	})
}

// timedOut emits approval.timed_out for before → after at now.
func (e emitter) timedOut(before, after Approval, now time.Time) {
	if e.p == nil {
		return
	}
	dt := taxonomy.DecisionAutoClose
	if before.TimeoutBehavior == BehaviorEscalate {
		dt = taxonomy.DecisionEscalate
	}
	e.emit(audit.Event{
		TenantID: before.TenantID, Type: taxonomy.ApprovalTimedOut, Severity: taxonomy.SeverityWarning,
		ActorType: taxonomy.ActorSystem, ActorID: GateActorID,
		InvestigationID: before.InvestigationID, AlertID: before.AlertID, EntityIDs: pendingTargets(before),
		Context: audit.Fields{
			audit.KeyEvidenceRefs: []string{approvalRef(before.ApprovalID)},
			KeyApprovalID:         before.ApprovalID,
			KeyTimeoutBehavior:    string(before.TimeoutBehavior),
			KeyEscalationLevel:    before.EscalationLevel,
			KeyApprovalDeadline:   before.Deadline.UTC().Format(time.RFC3339),
		},
		Decision: audit.Fields{
			audit.KeyDecisionType:       string(dt),
			audit.KeySeverityAssigned:   before.Severity,
			audit.KeyRecommendedActions: pendingNames(before),
		},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus:         string(taxonomy.OutcomeTimedOut),
			audit.KeyApprovalRequestedFrom: requestedFrom(before),
			audit.KeyApprovalLatencyMS:     now.Sub(before.RequestedAt).Milliseconds(),
			audit.KeyStateBefore:           string(StateAwaitingApproval),
			audit.KeyStateAfter:            string(after.State),
		},
	})
}

// escalated emits approval.escalated: the half-time reminder or the
// re-route of a timed-out approval. from is its approval_requested_from: for
// the re-route the new reviewer, for the reminder the escalation role as a
// notification target (who would take over at the deadline).
func (e emitter) escalated(a Approval, kind, from string) {
	if e.p == nil {
		return
	}
	e.emit(audit.Event{
		TenantID: a.TenantID, Type: taxonomy.ApprovalEscalated, Severity: taxonomy.SeverityWarning,
		ActorType: taxonomy.ActorSystem, ActorID: GateActorID,
		InvestigationID: a.InvestigationID, AlertID: a.AlertID, EntityIDs: pendingTargets(a),
		Context: audit.Fields{
			audit.KeyEvidenceRefs: []string{approvalRef(a.ApprovalID)},
			KeyApprovalID:         a.ApprovalID,
			KeyEscalationKind:     kind,
			KeyEscalationLevel:    a.EscalationLevel,
			KeyApprovalDeadline:   a.Deadline.UTC().Format(time.RFC3339),
			KeyRequiredRole:       string(a.RequiredRole),
		},
		Decision: audit.Fields{
			audit.KeyDecisionType:     string(taxonomy.DecisionEscalate),
			audit.KeyReasoningSummary: kind,
			audit.KeySeverityAssigned: a.Severity,
		},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus:         string(taxonomy.OutcomePendingApproval),
			audit.KeyApprovalRequestedFrom: from,
		},
	})
}

func executedDecisionType(action string) string {
	if action == "auto_close" {
		return string(taxonomy.DecisionAutoClose)
	}
	return string(taxonomy.DecisionExecutePlaybook)
}

// blocked emits response.executed for an action that was not executed.
func (e emitter) blocked(c *Case, g graded, bt BlockedType, approvalID string) {
	if e.p == nil {
		return
	}
	refs := []string{}
	if approvalID != "" {
		refs = append(refs, approvalRef(approvalID))
	}
	e.emit(audit.Event{
		TenantID: c.TenantID, Type: taxonomy.ResponseExecuted, Severity: taxonomy.SeverityWarning,
		ActorType: taxonomy.ActorAgent, ActorID: ActorID,
		InvestigationID: c.InvestigationID, AlertID: c.AlertID, EntityIDs: entityIDs(g.action.Target),
		Context: audit.Fields{
			audit.KeyEvidenceRefs: refs,
			KeyAction:             g.name,
			KeyTarget:             g.action.Target,
			KeyTier:               int(g.tier),
		},
		Decision: audit.Fields{
			audit.KeyDecisionType:       executedDecisionType(g.name),
			audit.KeyRecommendedActions: []string{g.name},
			audit.KeyConstraintsApplied: []string{string(bt)},
		},
		Outcome: withTarget(audit.Fields{
			audit.KeyOutcomeStatus: string(taxonomy.OutcomeBlockedByGuardrail),
			audit.KeyActionTaken:   g.name,
		}, g.action.Target),
	})
}

// executed emits response.executed for a finished execution.
func (e emitter) executed(c *Case, g graded, x Execution) {
	if e.p == nil {
		return
	}
	sev, status := taxonomy.SeverityInfo, taxonomy.OutcomeSuccess
	out := audit.Fields{audit.KeyActionTaken: x.Action, audit.KeyDurationMS: x.DurationMS}
	if x.Status == ExecutionFailed {
		sev, status = taxonomy.SeverityWarning, taxonomy.OutcomeFailed
		out[audit.KeyErrorDetails] = x.Error
	}
	out[audit.KeyOutcomeStatus] = string(status)
	withTarget(out, x.Target)
	refs := []string{executionRef(x.ExecutionID)}
	if x.ApprovalID != "" {
		refs = append(refs, approvalRef(x.ApprovalID))
		out[audit.KeyApprovalReceivedFrom] = x.ApprovedBy
	}
	ctx := audit.Fields{
		audit.KeyEvidenceRefs: refs,
		KeyAction:             x.Action,
		KeyTarget:             x.Target,
		KeyTier:               int(x.Tier),
		KeyRiskClass:          string(g.spec.Risk),
		KeyExecutionID:        x.ExecutionID,
		KeyIdempotencyKey:     x.IdempotencyKey,
	}
	if g.zone != "" {
		ctx[KeyZone] = g.zone
		ctx[KeyConsequenceClass] = string(g.class)
	}
	e.emit(audit.Event{
		TenantID: c.TenantID, Type: taxonomy.ResponseExecuted, Severity: sev,
		ActorType: taxonomy.ActorAgent, ActorID: ActorID,
		InvestigationID: c.InvestigationID, AlertID: c.AlertID, EntityIDs: entityIDs(x.Target),
		Context: ctx,
		Decision: audit.Fields{
			audit.KeyDecisionType:       executedDecisionType(x.Action),
			audit.KeyRecommendedActions: []string{x.Action},
		},
		Outcome: out,
	})
}

// rolledBack emits response.rolled_back; rbErr non-nil means the rollback
// failed and the execution is unchanged.
func (e emitter) rolledBack(x Execution, by Actor, reason string, rbErr error) {
	if e.p == nil {
		return
	}
	out := audit.Fields{
		audit.KeyOutcomeStatus: string(taxonomy.OutcomeRolledBack),
		audit.KeyActionTaken:   x.Action,
		audit.KeyStateBefore:   string(ExecutionSucceeded),
		audit.KeyStateAfter:    string(ExecutionRolledBack),
	}
	if rbErr != nil {
		out[audit.KeyOutcomeStatus] = string(taxonomy.OutcomeFailed)
		out[audit.KeyStateAfter] = string(ExecutionSucceeded)
		out[audit.KeyErrorDetails] = rbErr.Error()
	}
	withTarget(out, x.Target)
	e.emit(audit.Event{
		TenantID: x.TenantID, Type: taxonomy.ResponseRolledBack, Severity: taxonomy.SeverityWarning,
		ActorType: by.Type, ActorID: by.ID,
		InvestigationID: x.InvestigationID, AlertID: x.AlertID, EntityIDs: entityIDs(x.Target),
		Context: audit.Fields{
			audit.KeyEvidenceRefs: []string{executionRef(x.ExecutionID)},
			KeyExecutionID:        x.ExecutionID,
		},
		Decision: audit.Fields{
			audit.KeyReasoningSummary:   reason,
			audit.KeyRecommendedActions: []string{x.Action},
		},
		Outcome: out,
	})
}

func (e emitter) playbookSelected(c *Case, pb []Playbook) {
	if e.p == nil {
		return
	}
	ids := make([]string, len(pb))
	for i, p := range pb {
		ids[i] = p.PlaybookID
	}
	e.emit(audit.Event{
		TenantID: c.TenantID, Type: taxonomy.PlaybookSelected, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent, ActorID: ActorID,
		InvestigationID: c.InvestigationID, AlertID: c.AlertID,
		Decision: audit.Fields{
			audit.KeyDecisionType:       string(taxonomy.DecisionExecutePlaybook),
			audit.KeyRecommendedActions: ids,
			audit.KeySeverityAssigned:   normSeverity(c.Severity),
		},
		Outcome: audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess)},
	})
}
