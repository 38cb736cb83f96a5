package gateway

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Context keys the gateway writes that have no audit.KeyXxx constant.
const (
	KeyRoutingDecisionID     = audit.KeyRoutingDecisionID
	KeyTaskType              = "task_type"
	KeyAttempts              = "attempts"
	KeyInjectionRisk         = "injection_risk"
	KeyOutputValid           = "output_valid"
	KeyValidationErrorCount  = "validation_error_count"
	KeyIsFallback            = "is_fallback"
	KeyProviderRequestID     = "llm_request_id"
	KeyStage                 = "stage"
	KeyAgentID               = "agent_id"
	KeyRisk                  = "risk"
	KeyReason                = "reason"
	KeyMatchCount            = "match_count"
	KeyAction                = "action"
	KeyDetectorRisk          = "detector_risk"
	KeyDetectorScore         = "detector_score"
	KeyDetectorLabels        = "detector_labels"
	KeyTechniqueID           = "technique_id"
	KeyTaxonomyVersion       = "taxonomy_version"
	maxErrorDetailsBytes     = 512
	actionContentQuarantined = "content_quarantined"
	actionContentSummarized  = "content_summarized"
	actionPassedIsolated     = "passed_in_isolation"
	actionStripped           = "stripped_from_output"
)

// emit hands ev to the producer; a producer panic is logged, never
// propagated, and never changes a result.
func (g *Gateway) emit(ev audit.Event) {
	if g.cfg.producer == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			g.log().Warn("gateway: audit producer panicked; event dropped", "event_type", string(ev.Type), "panic", r)
		}
	}()
	if _, ok := g.cfg.producer.Emit(ev); !ok {
		g.log().Debug("gateway: audit producer refused event", "event_type", string(ev.Type))
	}
}

// guardrailEvent is the skeleton of the gateway's own decisions about
// untrusted input or model output (actor system / context-gateway).
func guardrailEvent(c *call, t taxonomy.EventType, sev taxonomy.Severity) audit.Event {
	return audit.Event{TenantID: c.req.TenantID, Type: t, Severity: sev,
		ActorType: taxonomy.ActorSystem, ActorID: ActorID,
		InvestigationID: c.req.InvestigationID, AlertID: c.req.AlertID}
}

// agentEvent is the skeleton of the record of the agent's LLM call.
func agentEvent(c *call, sev taxonomy.Severity) audit.Event {
	return audit.Event{TenantID: c.req.TenantID, Type: taxonomy.RoutingTierSelected, Severity: sev,
		ActorType: taxonomy.ActorAgent, ActorID: c.req.AgentID,
		InvestigationID: c.req.InvestigationID, AlertID: c.req.AlertID}
}

// emitInjection records a quarantine, a summarisation, or content that only
// Warden's additional detectors flagged (passed unchanged, isolated).
func (g *Gateway) emitInjection(c *call, t taxonomy.EventType) {
	if g.cfg.producer == nil {
		return
	}
	sev := taxonomy.SeverityWarning
	if t == taxonomy.InjectionQuarantined {
		sev = taxonomy.SeverityCritical
	}
	ev := guardrailEvent(c, t, sev)
	ev.Context = audit.Fields{
		KeyStage: StagePrompt, KeyAgentID: c.req.AgentID, KeyTaskType: c.req.TaskType,
		KeyRisk: string(c.cls.Risk), audit.KeyConfidence: c.cls.Confidence, KeyReason: c.cls.Reason,
		KeyMatchCount: c.cls.MatchCount, KeyAction: string(c.cls.Action),
		KeyDetectorRisk: string(c.scan.Risk), KeyDetectorScore: c.scan.Score, KeyDetectorLabels: labelsOf(c),
	}
	switch {
	case t == taxonomy.InjectionQuarantined:
		ev.Decision = audit.Fields{audit.KeyDecisionType: string(taxonomy.DecisionQuarantine),
			audit.KeyConfidence: c.cls.Confidence, audit.KeyReasoningSummary: c.cls.Reason}
		ev.Outcome = audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeBlockedByGuardrail),
			audit.KeyActionTaken: actionContentQuarantined}
	case c.cls.Action == ActionSummarize:
		ev.Outcome = audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess),
			audit.KeyActionTaken: actionContentSummarized}
	default:
		ev.Outcome = audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess),
			audit.KeyActionTaken: actionPassedIsolated}
	}
	g.emit(ev)
}

func (g *Gateway) emitTechnique(c *call, id, modelID string) {
	if g.cfg.producer == nil {
		return
	}
	attack, atlas := g.cfg.catalog.Versions()
	ev := guardrailEvent(c, taxonomy.TechniqueQuarantined, taxonomy.SeverityWarning)
	ev.Context = audit.Fields{
		KeyTechniqueID: id, KeyTaskType: c.req.TaskType, KeyAgentID: c.req.AgentID,
		KeyTaxonomyVersion: TaxonomyVersion(g.cfg.catalog), audit.KeyTaxonomyVersionAttack: attack,
		audit.KeyTaxonomyVersionAtlas: atlas, audit.KeyTechniquesQuarantined: []string{id},
		audit.KeyLLMModelID: modelID,
	}
	ev.Decision = audit.Fields{audit.KeyDecisionType: string(taxonomy.DecisionQuarantine)}
	ev.Outcome = audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeBlockedByGuardrail),
		audit.KeyActionTaken: actionStripped, audit.KeyActionTarget: id}
	g.emit(ev)
}

// tier is the tier the record carries: the decision's, else the request's.
func (c *call) tier() taxonomy.ModelTier {
	if c.decision != nil {
		return c.decision.Tier
	}
	return c.req.Tier
}

// hashes computes the prompt hashes once, only when they are needed.
func (c *call) hashes() {
	if c.sysHash == "" {
		c.sysHash = audit.HashText(c.llm.System)
		if len(c.llm.Messages) > 0 {
			c.userHash = audit.HashText(c.llm.Messages[0].Content)
		}
	}
}

func (c *call) routingFields(f audit.Fields) {
	if d := c.decision; d != nil {
		f[KeyRoutingDecisionID] = d.ID
		f[KeyIsFallback] = d.IsFallback
		f[audit.KeyDegradationLevel] = string(d.DegradationLevel)
	}
}

func (g *Gateway) emitSuccess(ctx context.Context, c *call, resp LLMResponse, m *CallMetrics, vr ValidationResult, duration time.Duration) {
	if g.cfg.producer == nil {
		return
	}
	c.hashes()
	ev := agentEvent(c, taxonomy.SeverityInfo)
	ev.Context = audit.LLMContext(audit.LLMCall{
		Provider: c.client.Provider(), ModelID: m.ModelID, Tier: c.tier(),
		InputTokens: m.InputTokens, OutputTokens: m.OutputTokens, CostUSD: m.CostUSD,
		LatencyMS: int(m.LatencyMS), PromptHash: c.sysHash, ResponseHash: audit.HashText(resp.Text),
	}).With(audit.Fields{
		audit.KeyLLMCacheReadTokens: m.CacheReadTokens, audit.KeyLLMCacheWriteTokens: m.CacheWriteTokens,
		audit.KeyLLMUserContentHash: c.userHash, KeyTaskType: c.req.TaskType, KeyAttempts: c.attempts,
		KeyInjectionRisk: string(c.cls.Risk), KeyOutputValid: vr.Valid, KeyValidationErrorCount: len(vr.Errors),
		audit.KeyLLMExtendedThinkingUsed: c.llm.ExtendedThinking,
	})
	c.routingFields(ev.Context)
	if resp.RequestID != "" {
		ev.Context[KeyProviderRequestID] = resp.RequestID
	}
	if catalogActive(g.cfg.catalog) {
		validated := make([]string, 0, len(vr.Identified))
		for _, id := range vr.Identified {
			if !contains(vr.Quarantined, id) {
				validated = append(validated, id)
			}
		}
		ev.Context[audit.KeyTechniquesIdentified] = vr.Identified
		ev.Context[audit.KeyTechniquesValidated] = validated
		ev.Context[audit.KeyTechniquesQuarantined] = vr.Quarantined
		attack, atlas := g.cfg.catalog.Versions()
		if attack != "" {
			ev.Context[audit.KeyTaxonomyVersionAttack] = attack
		}
		if atlas != "" {
			ev.Context[audit.KeyTaxonomyVersionAtlas] = atlas
		}
	}
	ev.Outcome = audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess),
		audit.KeyDurationMS: duration.Milliseconds(), audit.KeyCostIncurredUSD: m.CostUSD}
	g.attachEvidence(ctx, c, &ev, resp.Text, true)
	g.emit(ev)
}

func (g *Gateway) emitFailure(ctx context.Context, c *call, err error, duration time.Duration) {
	if g.cfg.producer == nil || c.attempts == 0 {
		return
	}
	c.hashes()
	ev := agentEvent(c, taxonomy.SeverityWarning)
	ev.Context = audit.LLMContext(audit.LLMCall{Provider: c.client.Provider(), ModelID: c.modelID(),
		Tier: c.tier(), PromptHash: c.sysHash}).With(audit.Fields{
		audit.KeyLLMUserContentHash: c.userHash, KeyTaskType: c.req.TaskType, KeyAttempts: c.attempts,
		KeyInjectionRisk: string(c.cls.Risk),
	})
	c.routingFields(ev.Context)
	ev.Outcome = audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeFailed),
		audit.KeyErrorDetails: truncateUTF8(err.Error(), maxErrorDetailsBytes), audit.KeyDurationMS: duration.Milliseconds()}
	g.attachEvidence(ctx, c, &ev, "", false)
	g.emit(ev)
}

// attachEvidence stores the prompt (and the response) with the evidence
// store under the event's preset audit id and lists the URIs.
func (g *Gateway) attachEvidence(ctx context.Context, c *call, ev *audit.Event, response string, withResponse bool) {
	if g.cfg.evidence == nil {
		return
	}
	ev.AuditID = audit.NewIDAt(g.cfg.now())
	refs := []string{}
	put := func(kind EvidenceKind, content []byte) {
		ref, err := g.cfg.evidence.Put(ctx, c.req.TenantID, ev.AuditID, kind, content)
		if err != nil {
			g.log().WarnContext(ctx, "gateway: evidence store failed; record carries no ref", "kind", string(kind), "error", err)
			return
		}
		if ref.URI != "" {
			refs = append(refs, ref.URI)
		}
	}
	put(EvidenceLLMPrompt, promptEvidence(c.llm))
	if withResponse {
		put(EvidenceLLMResponse, []byte(response))
	}
	ev.Context[audit.KeyEvidenceRefs] = refs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary and replaces
// invalid bytes, so error_details is always valid UTF-8.
func truncateUTF8(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
