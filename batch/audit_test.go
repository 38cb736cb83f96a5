package batch

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Checklist 112.
func TestFPPatternCreatedEvent(t *testing.T) {
	rec := &recorder{}
	p := newTestProcessor(t, NewMemoryCandidateStore(), WithAuditProducer(rec))
	job := jobWith([]Task{fpTask("t1", "tenant-a", "inv-1", "inv-2")}, okResult("t1", validFP))
	job.Provider = "anthropic"
	job.PromptHashes = map[string]string{"t1": audit.HashText("prompt")}
	_, err := p.ProcessJob(bg, job)
	require.NoError(t, err)
	evs := rec.ofType(taxonomy.FPPatternCreated)
	require.Len(t, evs, 1)
	require.Len(t, rec.all(), 1, "nothing else is emitted")
	e := evs[0]
	assert.Equal(t, "tenant-a", e.TenantID)
	assert.Equal(t, taxonomy.ActorSystem, e.ActorType)
	assert.Equal(t, "batch-scheduler", e.ActorID)
	assert.Equal(t, taxonomy.SeverityInfo, e.Severity)
	assert.Empty(t, e.InvestigationID)
	assert.Empty(t, e.EntityIDs)
	c := e.Context
	assert.NotEmpty(t, c["pattern_id"])
	assert.Equal(t, "Test Alert", c["alert_name"])
	assert.Equal(t, "Test.*", c["alert_name_regex"])
	assert.Equal(t, 1, c["entity_pattern_count"])
	assert.Equal(t, 0.92, c["confidence"])
	assert.Equal(t, "low", c["severity"])
	assert.Equal(t, "pending_review", c["status"])
	assert.Equal(t, "tenant-a", c["scope_tenant_id"])
	assert.Equal(t, []string{"inv-1", "inv-2"}, c["source_investigations"])
	assert.Equal(t, "job-1", c["job_id"])
	assert.Equal(t, "api-1", c["batch_api_id"])
	assert.Equal(t, "t1", c["task_id"])
	assert.Equal(t, DefaultModelID, c[audit.KeyLLMModelID])
	assert.Equal(t, "tier_2", c[audit.KeyLLMModelTier])
	assert.Equal(t, "anthropic", c[audit.KeyLLMProvider])
	assert.Equal(t, 1000, c[audit.KeyLLMInputTokens])
	assert.Equal(t, 200, c[audit.KeyLLMOutputTokens])
	assert.Equal(t, 0.003, c[audit.KeyLLMCostUSD])
	assert.Equal(t, audit.HashText(validFP), c[audit.KeyLLMRawResponseHash])
	assert.Equal(t, audit.HashText("prompt"), c[audit.KeyLLMUserContentHash])
	assert.Equal(t, audit.Fields{"decision_type": "request_approval", "classification": "false_positive",
		"confidence": 0.92, "reasoning_summary": "scanner"}, e.Decision)
	assert.Equal(t, audit.Fields{"outcome_status": "pending_approval", "action_taken": "fp_pattern_created",
		"action_target": c["pattern_id"]}, e.Outcome)
}

// Cost is attributed to the first pattern created from a multi-pattern
// result.
func TestFPCostAttributedOnce(t *testing.T) {
	rec := &recorder{}
	second := `{"alert_name_regex": "Other alert", "confidence": 0.9}`
	_, _ = newTestProcessor(t, NewMemoryCandidateStore(), WithAuditProducer(rec)).ProcessJob(bg,
		jobWith([]Task{fpTask("t1", "a")}, okResult("t1", "["+validFP+","+second+"]")))
	evs := rec.ofType(taxonomy.FPPatternCreated)
	require.Len(t, evs, 2)
	assert.Equal(t, 0.003, evs[0].Context[audit.KeyLLMCostUSD])
	assert.Equal(t, 0.0, evs[1].Context[audit.KeyLLMCostUSD])
}

// Checklist 113 and 120.
func TestPlaybookGeneratedEvent(t *testing.T) {
	rec := &recorder{}
	answer := `{"name": "Brute Force Playbook", "description": "d", "tactics": ["Credential Access"], "techniques": ["T1110", "T99", "LLM04"],
	  "remediation_steps": ["1","2","3","4","5","6","7","8","9","10","11"], "confidence": 0.8}`
	p := newTestProcessor(t, NewMemoryCandidateStore(), WithAuditProducer(rec), WithPublisher(NewMemoryPublisher()))
	_, err := p.ProcessJob(bg, jobWith([]Task{pbTask("t1", "", "T1110", "inv-1")}, okResult("t1", answer)))
	require.NoError(t, err)
	evs := rec.ofType(taxonomy.PlaybookGenerated)
	require.Len(t, evs, 1)
	e := evs[0]
	assert.Equal(t, "system", e.TenantID, "no tenant → system")
	assert.Equal(t, "batch-scheduler", e.ActorID)
	c := e.Context
	assert.NotEmpty(t, c["playbook_id"])
	assert.Equal(t, "Brute Force Playbook", c["name"])
	assert.Equal(t, "T1110", c["primary_technique"])
	assert.Equal(t, []string{"Credential Access"}, c["tactics"])
	assert.Equal(t, []string{"T1110", "T99", "LLM04"}, c[audit.KeyTechniquesIdentified])
	assert.Equal(t, []string{"T1110"}, c[audit.KeyTechniquesValidated])
	assert.Equal(t, []string{"T99", "LLM04"}, c[audit.KeyTechniquesQuarantined])
	assert.Equal(t, 11, c["step_count"])
	assert.Equal(t, true, c["published"])
	assert.Equal(t, []string{"inv-1"}, c["source_investigations"])
	assert.Equal(t, "tier_2", c[audit.KeyLLMModelTier])
	assert.Len(t, e.Decision["recommended_actions"], 10)
	assert.Equal(t, "request_approval", e.Decision["decision_type"])
	assert.Equal(t, "d", e.Decision["reasoning_summary"])
	assert.Equal(t, "playbook_draft_created", e.Outcome["action_taken"])
	assert.Equal(t, c["playbook_id"], e.Outcome["action_target"])
	assert.Equal(t, "pending_approval", e.Outcome["outcome_status"])
}

// Checklist 114 and the nil-producer rule.
func TestNoProducerSameSummary(t *testing.T) {
	job := jobWith([]Task{fpTask("t1", "a"), pbTask("t2", "a", "T1110"), fpTask("t3", "a")},
		okResult("t1", validFP), okResult("t2", validPlaybook), okResult("t3", "junk"))
	a, err := newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, job)
	require.NoError(t, err)
	assert.Equal(t, 1, a.FPPatternsStored)
	b, err := newTestProcessor(t, NewMemoryCandidateStore(), WithAuditProducer(&recorder{})).ProcessJob(bg, job)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	// Checklist 117: a panicking producer changes nothing.
	c, err := newTestProcessor(t, NewMemoryCandidateStore(), WithAuditProducer(&recorder{panics: true})).ProcessJob(bg, job)
	require.NoError(t, err)
	assert.Equal(t, a, c)
}

// Checklist 115.
func TestEventTenant(t *testing.T) {
	rec := &recorder{}
	p := newTestProcessor(t, NewMemoryCandidateStore(), WithAuditProducer(rec))
	_, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "t1"), fpTask("t2", "")}, okResult("t1", validFP), okResult("t2", validFP)))
	evs := rec.ofType(taxonomy.FPPatternCreated)
	require.Len(t, evs, 2)
	assert.Equal(t, "t1", evs[0].TenantID)
	assert.Equal(t, "system", evs[1].TenantID)
}

// Checklist 116.
func TestNoEventForDuplicateOrRejected(t *testing.T) {
	rec := &recorder{}
	p := newTestProcessor(t, NewMemoryCandidateStore(), WithAuditProducer(rec))
	_, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, okResult("t1", validFP)))
	_, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t2", "a")}, okResult("t2", validFP)))
	_, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t3", "a")}, okResult("t3", `{"alert_name_regex": ".*", "confidence": 0.9}`)))
	_, _ = p.ProcessJob(bg, jobWith([]Task{pbTask("t4", "a", "T1")}, okResult("t4", validPlaybook)))
	_, _ = p.ProcessJob(bg, jobWith([]Task{pbTask("t5", "a", "T1")}, okResult("t5", validPlaybook)))
	assert.Len(t, rec.ofType(taxonomy.FPPatternCreated), 1)
	assert.Len(t, rec.ofType(taxonomy.PlaybookGenerated), 1)
	assert.Len(t, rec.all(), 2)
	for _, e := range rec.all() {
		assert.NotEqual(t, taxonomy.FPPatternApproved, e.Type, "approval events belong to orchestrator/autonomy")
	}
}

// The events go through the real Emitter and decode as valid records.
func TestEventsThroughRealEmitter(t *testing.T) {
	sink := audit.NewRecorder()
	em, err := audit.New(sink, audit.WithSourceService("batch"))
	require.NoError(t, err)
	p := newTestProcessor(t, NewMemoryCandidateStore(), WithAuditProducer(em))
	_, err = p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "tenant-a", "inv-1"), pbTask("t2", "tenant-a", "T1110")},
		okResult("t1", validFP), okResult("t2", validPlaybook)))
	require.NoError(t, err)

	vs := NewMemoryVectorStore()
	require.NoError(t, vs.UpsertPoint(bg, DefaultCollection, Point{ID: "p1", Payload: map[string]any{PayloadEmbeddingModelID: "old"}}))
	m, err := NewMigrator(vs, NewMemoryCheckpointStore(), constEmbedder, "old", "new", WithAuditProducer(em), WithRateLimit(0))
	require.NoError(t, err)
	_, err = m.Run(bg, "")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	require.NoError(t, em.Close(ctx))
	assert.Zero(t, em.Stats().Invalid, "every event is valid for the emitter")

	fp := sink.ByType(taxonomy.FPPatternCreated)
	require.Len(t, fp, 1)
	assert.Equal(t, "tenant-a", fp[0].TenantID)
	assert.Equal(t, taxonomy.CategoryAction, fp[0].EventCategory)
	assert.Equal(t, "batch-scheduler", fp[0].ActorID)
	assert.Equal(t, "Test Alert", fp[0].Context["alert_name"])
	assert.Equal(t, json.Number("0.92"), fp[0].Context["confidence"])
	assert.Equal(t, "pending_approval", fp[0].Outcome["outcome_status"])

	pb := sink.ByType(taxonomy.PlaybookGenerated)
	require.Len(t, pb, 1)
	assert.Equal(t, taxonomy.CategoryDecision, pb[0].EventCategory)
	assert.Equal(t, "Brute Force Playbook", pb[0].Context["name"])

	re := sink.ByType(taxonomy.EmbeddingReindexed)
	require.Len(t, re, 1)
	assert.Equal(t, "system", re[0].TenantID)
	assert.Equal(t, json.Number("1"), re[0].Context["points_migrated"])
	assert.Len(t, sink.Records(), 3)
}

func constEmbedder(context.Context, map[string]any) ([]float32, error) { return []float32{1, 2}, nil }
