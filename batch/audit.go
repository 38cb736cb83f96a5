package batch

import (
	"fmt"
	"slices"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Audit vocabulary of this package.
const (
	// ActorID is the actor of every event batch emits.
	ActorID = "batch-scheduler"
	// systemTenant is the tenant of platform-wide events.
	systemTenant = "system"

	keyPatternID            = "pattern_id"
	keyAlertName            = "alert_name"
	keyAlertNameRegex       = "alert_name_regex"
	keyEntityPatternCount   = "entity_pattern_count"
	keySeverity             = "severity"
	keyStatus               = "status"
	keyScopeTenantID        = "scope_tenant_id"
	keySourceInvestigations = "source_investigations"
	keyJobID                = "job_id"
	keyBatchAPIID           = "batch_api_id"
	keyTaskID               = "task_id"
	keyPlaybookID           = "playbook_id"
	keyName                 = "name"
	keyPrimaryTechnique     = "primary_technique"
	keyTactics              = "tactics"
	keyStepCount            = "step_count"
	keyPublished            = "published"
	keyCollection           = "collection"
	keyOldModel             = "old_model"
	keyNewModel             = "new_model"
	keyPointsMigrated       = "points_migrated"
	keyLastPointID          = "last_point_id"
	keyResumedFrom          = "resumed_from"

	statusPendingReview = "pending_review"

	actionFPPatternCreated    = "fp_pattern_created"
	actionPlaybookDraft       = "playbook_draft_created"
	actionEmbeddingReindexed  = "embedding_reindexed"
	maxSummaryRunes           = 500
	maxRecommendedActions     = 10
	classificationFPAuditWord = "false_positive"
)

func tenantOrSystem(t string) string {
	if t == "" {
		return systemTenant
	}
	return t
}

// emit hands ev to the producer after the business step succeeded. A nil
// producer emits nothing; a panicking or refusing producer is logged and
// changes nothing.
func emit(cfg *config, ev audit.Event) {
	if cfg.producer == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			cfg.logger.Warn("batch: audit producer panicked", "event_type", string(ev.Type), "panic", fmt.Sprint(r))
		}
	}()
	if _, ok := cfg.producer.Emit(ev); !ok {
		cfg.logger.Debug("batch: audit event not accepted", "event_type", string(ev.Type))
	}
}

// llmFields is the LLM context of an item (tier_2: offline batch).
func llmFields(it *item, cost float64) audit.Fields {
	f := audit.Fields{
		audit.KeyLLMModelID:         it.task.ModelID,
		audit.KeyLLMModelTier:       string(taxonomy.Tier2),
		audit.KeyLLMInputTokens:     it.res.InputTokens,
		audit.KeyLLMOutputTokens:    it.res.OutputTokens,
		audit.KeyLLMCostUSD:         cost,
		audit.KeyLLMRawResponseHash: audit.HashText(it.res.Content),
	}
	if it.job.Provider != "" {
		f[audit.KeyLLMProvider] = it.job.Provider
	}
	if h := it.job.PromptHashes[it.task.ID]; h != "" {
		f[audit.KeyLLMUserContentHash] = h
	}
	return f
}

func (p *Processor) emitFPCreated(it *item, c PatternCandidate, cost float64) {
	if p.cfg.producer == nil {
		return
	}
	ctx := llmFields(it, cost).With(audit.Fields{
		keyPatternID: c.PatternID, keyAlertName: c.AlertName, keyAlertNameRegex: c.AlertNameRegex,
		keyEntityPatternCount: len(c.EntityPatterns), audit.KeyConfidence: c.Confidence, keySeverity: c.Severity,
		keyStatus: statusPendingReview, keyScopeTenantID: c.ScopeTenantID,
		keySourceInvestigations: slices.Clone(c.SourceInvestigations),
		keyJobID:                it.job.ID, keyBatchAPIID: it.job.BatchAPIID, keyTaskID: it.task.ID,
	})
	emit(&p.cfg, audit.Event{
		TenantID: tenantOrSystem(it.task.TenantID), Type: taxonomy.FPPatternCreated, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorSystem, ActorID: ActorID,
		Context: ctx,
		Decision: audit.Fields{
			audit.KeyDecisionType: string(taxonomy.DecisionRequestApproval), audit.KeyClassification: classificationFPAuditWord,
			audit.KeyConfidence: c.Confidence, audit.KeyReasoningSummary: truncRunes(c.Reason, maxSummaryRunes),
		},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus: string(taxonomy.OutcomePendingApproval), audit.KeyActionTaken: actionFPPatternCreated,
			audit.KeyActionTarget: c.PatternID,
		},
	})
}

func (p *Processor) emitPlaybookGenerated(it *item, d PlaybookDraft, f playbookFields, published bool, cost float64) {
	if p.cfg.producer == nil {
		return
	}
	ctx := llmFields(it, cost).With(audit.Fields{
		keyPlaybookID: d.PlaybookID, keyName: d.Name, keyPrimaryTechnique: d.PrimaryTechnique,
		keyTactics:                     slices.Clone(d.Tactics),
		audit.KeyTechniquesIdentified:  slices.Clone(f.identified),
		audit.KeyTechniquesValidated:   slices.Clone(d.Techniques),
		audit.KeyTechniquesQuarantined: slices.Clone(f.quarantined),
		keyStepCount:                   len(d.RemediationSteps), audit.KeyConfidence: d.Confidence,
		keySourceInvestigations: slices.Clone(d.SourceInvestigations), keyPublished: published,
		keyJobID: it.job.ID, keyBatchAPIID: it.job.BatchAPIID, keyTaskID: it.task.ID,
	})
	emit(&p.cfg, audit.Event{
		TenantID: tenantOrSystem(it.task.TenantID), Type: taxonomy.PlaybookGenerated, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorSystem, ActorID: ActorID,
		Context: ctx,
		Decision: audit.Fields{
			audit.KeyDecisionType: string(taxonomy.DecisionRequestApproval), audit.KeyConfidence: d.Confidence,
			audit.KeyRecommendedActions: slices.Clone(d.RemediationSteps[:min(len(d.RemediationSteps), maxRecommendedActions)]),
			audit.KeyReasoningSummary:   truncRunes(d.Description, maxSummaryRunes),
		},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus: string(taxonomy.OutcomePendingApproval), audit.KeyActionTaken: actionPlaybookDraft,
			audit.KeyActionTarget: d.PlaybookID,
		},
	})
}
