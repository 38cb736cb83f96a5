package orchestrator

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Actor ids the package writes.
const (
	ActorOrchestrator   = "orchestrator"
	ActorFPShortCircuit = "fp_short_circuit"
	ActorApprovalGate   = "approval-gate"
	ActorShadowManager  = "shadow_mode_manager"
	// SystemTenant is the tenant of platform-wide events (DESIGN §4).
	SystemTenant = "system"
)

// Reference-compatibility context keys (the reference's ad-hoc keys; the
// typed fields are normative).
const (
	KeyFromState        = "from_state"
	KeyToState          = "to_state"
	KeyPatternID        = "pattern_id"
	KeyConfidenceRef    = "confidence"
	KeyDimension        = "dimension"
	KeyValue            = "value"
	KeyActivatedBy      = "activated_by"
	KeyDeactivatedBy    = "deactivated_by"
	KeyReason           = "reason"
	KeyShadowDecision   = "shadow_decision"
	KeyShadowConfidence = "shadow_confidence"
	KeyRuleFamily       = "rule_family"
	KeySeverity         = "severity"
)

// emitter sends events through an optional producer. A nil producer is a
// no-op; a panicking one is recovered, counted and logged, so audit can
// never change a business result.
type emitter struct {
	p      audit.Producer
	log    *slog.Logger
	panics *atomic.Uint64
}

func newEmitter(p audit.Producer, log *slog.Logger) emitter {
	return emitter{p: p, log: log, panics: new(atomic.Uint64)}
}

func (e emitter) enabled() bool { return e.p != nil }

func (e emitter) emit(ev audit.Event) {
	if e.p == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			e.panics.Add(1)
			e.log.Warn("orchestrator: audit producer panicked; event dropped", "type", ev.Type, "panic", r)
		}
	}()
	if _, ok := e.p.Emit(ev); !ok {
		e.log.Debug("orchestrator: audit event not accepted", "type", ev.Type)
	}
}

// eventAuditID derives the audit id of an investigation's seq-th event: a
// version-8 UUID from SHA-256(investigation id, seq). A step re-run after a
// crash numbers its events the same way, so a re-emitted event repeats the
// first attempt's id.
func eventAuditID(investigationID string, seq int) string {
	h := sha256.New()
	h.Write([]byte("warden/orchestrator/event\x00"))
	h.Write([]byte(investigationID))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(seq)))
	var sum [32]byte
	h.Sum(sum[:0])
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// event turns a pending event of inv into an audit.Event.
func (p PendingEvent) event(inv *Investigation) audit.Event {
	return audit.Event{
		TenantID: inv.TenantID, Type: p.Type, Severity: p.Severity, ActorType: p.ActorType, ActorID: p.ActorID,
		InvestigationID: inv.InvestigationID, AlertID: inv.AlertID, EntityIDs: p.EntityIDs,
		Context: p.Context, Decision: p.Decision, Outcome: p.Outcome, AuditID: p.AuditID,
	}
}

// events collects the audit events of one checkpoint. With no producer it
// records nothing (but still numbers, so ids do not depend on audit).
type events struct {
	inv   *Investigation
	level taxonomy.DegradationLevel
	on    bool
	list  []PendingEvent
}

func (g *Graph) newEvents(inv *Investigation, level taxonomy.DegradationLevel) *events {
	return &events{inv: inv, level: level, on: g.em.enabled()}
}

// add numbers ev and keeps it; ctx always gets degradation_level.
func (es *events) add(ev PendingEvent) {
	es.inv.EventSeq++
	if !es.on {
		return
	}
	ev.AuditID = eventAuditID(es.inv.InvestigationID, es.inv.EventSeq)
	if ev.Context == nil {
		ev.Context = audit.Fields{}
	}
	ev.Context[audit.KeyDegradationLevel] = string(es.level)
	es.list = append(es.list, ev)
}

// reserve numbers an event emitted by another component (the shadow
// manager) and returns its audit id.
func (es *events) reserve() string {
	es.inv.EventSeq++
	return eventAuditID(es.inv.InvestigationID, es.inv.EventSeq)
}

func (es *events) stateChanged(from, to State, entry DecisionEntry, actorType taxonomy.ActorType, actorID string) {
	sev, status := taxonomy.SeverityInfo, taxonomy.OutcomeSuccess
	out := audit.Fields{
		audit.KeyStateBefore: string(from), audit.KeyStateAfter: string(to),
		audit.KeyCostIncurredUSD: finite(es.inv.TotalCostUSD),
	}
	if to == StateFailed {
		sev, status = taxonomy.SeverityWarning, taxonomy.OutcomeFailed
		out[audit.KeyErrorDetails] = entry.Error
	}
	out[audit.KeyOutcomeStatus] = string(status)
	es.add(PendingEvent{
		Type: taxonomy.InvestigationStateChanged, Severity: sev, ActorType: actorType, ActorID: actorID,
		Context:  audit.Fields{KeyFromState: string(from), KeyToState: string(to)},
		Decision: audit.Fields{audit.KeyReasoningSummary: entry.Action},
		Outcome:  out,
	})
}

func (es *events) enriched(failures []string) {
	inv := es.inv
	ids := make([]string, 0, len(inv.ATLASTechniques))
	for _, t := range inv.ATLASTechniques {
		ids = append(ids, t.ATLASID)
	}
	out := audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess)}
	if len(failures) > 0 {
		out[audit.KeyErrorDetails] = strings.Join(failures, "; ")
	}
	es.add(PendingEvent{
		Type: taxonomy.InvestigationEnriched, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent, ActorID: ActorOrchestrator,
		Context: audit.Fields{
			audit.KeyRiskState: inv.RiskState, audit.KeyCTEMExposuresMatched: len(inv.CTEMExposures),
			audit.KeySimilarIncidentsFound: len(inv.SimilarIncidents), audit.KeyTechniquesIdentified: ids,
		},
		Outcome: out,
	})
}

func actionNames(acts []Action) []string {
	out := make([]string, 0, len(acts))
	for _, a := range acts {
		out = append(out, a.Action)
	}
	return out
}

func (es *events) classified(reasoning string) {
	inv := es.inv
	es.add(PendingEvent{
		Type: taxonomy.AlertClassified, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent, ActorID: AgentReasoning, EntityIDs: inv.entityIDs(),
		Context: audit.Fields{audit.KeyTechniquesIdentified: append([]string{}, inv.AttackTechniques...)},
		Decision: audit.Fields{
			audit.KeyDecisionType: string(taxonomy.DecisionClassify), audit.KeyClassification: inv.Classification,
			audit.KeyConfidence: finite(inv.Confidence), audit.KeySeverityAssigned: inv.Severity,
			audit.KeyRecommendedActions: actionNames(inv.RecommendedActions),
			audit.KeyReasoningSummary:   truncateRunes(reasoning, maxReasoningRunes),
		},
		Outcome: audit.Fields{audit.KeyCostIncurredUSD: finite(inv.TotalCostUSD),
			audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess)},
	})
}

func (es *events) shortCircuited(m FPMatch) {
	inv := es.inv
	es.add(PendingEvent{
		Type: taxonomy.AlertShortCircuited, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent, ActorID: ActorFPShortCircuit, EntityIDs: inv.entityIDs(),
		Context: audit.Fields{
			audit.KeyFPPatternMatched: m.PatternID, audit.KeyFPPatternsChecked: m.PatternsChecked,
			KeyPatternID: m.PatternID, KeyConfidenceRef: finite(m.Confidence),
		},
		Decision: audit.Fields{
			audit.KeyDecisionType:     string(taxonomy.DecisionShortCircuit),
			audit.KeyClassification:   string(taxonomy.ClassificationFalsePositive),
			audit.KeyConfidence:       finite(m.Confidence),
			audit.KeyConfidenceBasis:  "fp_pattern:" + m.PatternID + " threshold " + strconv.FormatFloat(m.Threshold, 'f', -1, 64),
			audit.KeySeverityAssigned: inv.Severity,
		},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess),
			audit.KeyStateBefore:   string(StateParsing), audit.KeyStateAfter: string(StateClosed),
		},
	})
}

func (es *events) autoClosed(actorID, patternID string, from, to State) {
	inv := es.inv
	es.add(PendingEvent{
		Type: taxonomy.AlertAutoClosed, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent, ActorID: actorID, EntityIDs: inv.entityIDs(),
		Context: audit.Fields{audit.KeyFPPatternMatched: patternID, KeyPatternID: patternID,
			KeyConfidenceRef: finite(inv.Confidence)},
		Decision: audit.Fields{
			audit.KeyDecisionType: string(taxonomy.DecisionAutoClose), audit.KeyClassification: inv.Classification,
			audit.KeyConfidence: finite(inv.Confidence),
		},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess),
			audit.KeyStateBefore:   string(from), audit.KeyStateAfter: string(to),
		},
	})
}

func (es *events) escalated(reasons []string) {
	inv := es.inv
	es.add(PendingEvent{
		Type: taxonomy.AlertEscalated, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent, ActorID: ActorOrchestrator, EntityIDs: inv.entityIDs(),
		Decision: audit.Fields{
			audit.KeyDecisionType: string(taxonomy.DecisionEscalate), audit.KeyClassification: inv.Classification,
			audit.KeyConfidence: finite(inv.Confidence), audit.KeySeverityAssigned: inv.Severity,
			audit.KeyRecommendedActions: actionNames(inv.RecommendedActions),
			audit.KeyReasoningSummary:   strings.Join(reasons, ","),
			audit.KeyConstraintsApplied: append([]string{}, reasons...),
		},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus: string(taxonomy.OutcomePendingApproval),
			audit.KeyStateBefore:   string(StateReasoning), audit.KeyStateAfter: string(StateAwaitingHuman),
		},
	})
}

// approvalEscalated is the graph's own approval.escalated, emitted only
// when no approval gate is configured.
func (es *events) approvalEscalated() {
	inv := es.inv
	es.add(PendingEvent{
		Type: taxonomy.ApprovalEscalated, Severity: taxonomy.SeverityWarning,
		ActorType: taxonomy.ActorSystem, ActorID: ActorOrchestrator,
		Context: audit.Fields{KeySeverity: inv.Severity, audit.KeyClassification: inv.Classification},
		Decision: audit.Fields{
			audit.KeyDecisionType: string(taxonomy.DecisionEscalate), audit.KeySeverityAssigned: inv.Severity,
			audit.KeyClassification: inv.Classification,
		},
		Outcome: audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomePendingApproval)},
	})
}

// passthroughEscalated records that an alert went straight to a human
// because the platform is in passthrough; no investigation exists.
func (g *Graph) passthroughEscalated(a *Alert, tenant string) {
	if !g.em.enabled() {
		return
	}
	g.em.emit(audit.Event{
		TenantID: tenant, Type: taxonomy.AlertEscalated, Severity: taxonomy.SeverityWarning,
		ActorType: taxonomy.ActorAgent, ActorID: ActorOrchestrator, AlertID: a.AlertID,
		Context: audit.Fields{audit.KeyDegradationLevel: string(taxonomy.DegradationPassthrough)},
		Decision: audit.Fields{
			audit.KeyDecisionType:       string(taxonomy.DecisionEscalate),
			audit.KeyReasoningSummary:   ReasonDegradedMode,
			audit.KeyConstraintsApplied: []string{ReasonDegradedMode},
		},
		Outcome: audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomePendingApproval)},
	})
}

// flush emits inv's pending events in order.
func (g *Graph) flush(inv *Investigation) {
	for _, p := range inv.PendingEvents {
		g.em.emit(p.event(inv))
	}
	inv.PendingEvents = nil
}

const maxReasoningRunes = 500

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
