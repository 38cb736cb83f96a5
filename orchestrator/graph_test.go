package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

var ctxb = context.Background()

// Checklist 18, 20, 21.
func TestRunHappyPath(t *testing.T) {
	ioc := NodeFunc(func(_ context.Context, inv *Investigation) error { return nil })
	f := newFixture(t, Agents{IOCExtractor: ioc})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.Equal(t, ClassificationTruePositive, inv.Classification)
	assert.Equal(t, 0.85, inv.Confidence)
	assert.GreaterOrEqual(t, len(inv.DecisionChain), 3)
	assert.True(t, hasEntry(inv, "ioc_extractor", "start_ioc_extraction"))
	assert.True(t, hasEntry(inv, "graph", "start_enrichment"))
	assert.EqualValues(t, 1, f.responder.calls.Load())
	stored, err := f.repo.Load(ctxb, inv.InvestigationID)
	require.NoError(t, err)
	assert.Equal(t, StateClosed, stored.State)
	assert.Empty(t, stored.PendingEvents, "the final save clears emitted events")
	assert.Equal(t, []string{"ioc_extractor/start_ioc_extraction", "graph/start_enrichment",
		"reasoning_agent/start_reasoning", "reasoning_agent/classified", "response_agent/start_response",
		"response_agent/response_complete"}, chainActions(inv))
}

// Checklist 19.
func TestRunInvestigationIDIsUUID(t *testing.T) {
	g, err := New(NewMemoryRepository(), Agents{Reasoner: verdictNode("true_positive", 0.9, ""), Responder: &countResponder{}})
	require.NoError(t, err)
	inv, err := g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), inv.InvestigationID)
	f := newFixture(t, Agents{})
	inv, _ = f.g.Run(ctxb, testAlert())
	assert.Equal(t, "inv-1", inv.InvestigationID)
}

// Checklist 21: a save at every edge and at the end.
func TestRunSavesAtEveryEdge(t *testing.T) {
	repo := &failingRepo{MemoryRepository: NewMemoryRepository()}
	g, err := New(repo, Agents{Reasoner: verdictNode("true_positive", 0.9, ""), Responder: &countResponder{}})
	require.NoError(t, err)
	_, err = g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.EqualValues(t, 5+1, repo.saves.Load()) // E1 E3 E4 E6 E7 + final
}

// Checklist 22: real nodes with a scripted LLM.
func TestRunWithRealNodes(t *testing.T) {
	llm := NewStaticLLM(map[string][]LLMResponse{
		AgentIOCExtractor: {{Content: `{"iocs":[{"type":"ip","value":"10.0.0.1"}]}`, CostUSD: 0.001}},
		AgentReasoning: {{Content: `{"classification":"true_positive","confidence":0.85,"severity":"high",
			"recommended_actions":[{"action":"monitor","target":"web-01","tier":0}]}`, CostUSD: 0.05}},
	})
	ioc, _ := NewIOCExtractor(llm, NewMemoryIOCCache())
	enr, _ := NewContextEnricher(NewMemoryIOCCache(), NewMemoryUEBA(), NewMemoryIncidents())
	ctem, _ := NewCTEMCorrelator(NewMemoryExposures())
	atlas, _ := NewATLASMapper(NewMemoryATLASTaxonomy(), NewMemoryTechniqueSearch())
	rsn, _ := NewReasoner(llm)
	f := newFixture(t, Agents{IOCExtractor: ioc, ContextEnricher: enr, CTEMCorrelator: ctem, ATLASMapper: atlas, Reasoner: rsn})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.GreaterOrEqual(t, inv.LLMCalls, 1)
	assert.Greater(t, inv.TotalCostUSD, 0.0)
	assert.GreaterOrEqual(t, len(inv.DecisionChain), 3)
	assert.Len(t, inv.IOCMatches, 1)
}

// Checklist 23 and 24.
func TestRunFPNoMatchOrUnconfigured(t *testing.T) {
	fp := &fixedFP{}
	f := newFixture(t, Agents{}, WithFPShortCircuit(fp))
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.EqualValues(t, 1, fp.calls.Load())
	f2 := newFixture(t, Agents{})
	inv, err = f2.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	// A failing FP store never auto-closes and never fails the run.
	f3 := newFixture(t, Agents{}, WithFPShortCircuit(&fixedFP{m: FPMatch{Matched: true, PatternID: "p", Confidence: 1}, err: errors.New("store down")}))
	inv, err = f3.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, ClassificationTruePositive, inv.Classification)
}

// Checklist 25 and 213.
func TestRunIOCNodeFails(t *testing.T) {
	ioc := NodeFunc(func(context.Context, *Investigation) error { return errors.New("IOC extraction failed") })
	f := newFixture(t, Agents{IOCExtractor: ioc})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateFailed, inv.State)
	last := inv.DecisionChain[len(inv.DecisionChain)-1]
	assert.Equal(t, "unrecoverable_error", last.Action)
	assert.Contains(t, last.Error, "IOC extraction failed")
	assert.Equal(t, []string{"received>parsing", "parsing>failed"}, seq(f.rec.all()))
	sc := f.rec.byType(taxonomy.InvestigationStateChanged)[1]
	assert.Equal(t, taxonomy.SeverityWarning, sc.Severity)
	assert.Equal(t, "failed", sc.Outcome[audit.KeyOutcomeStatus])
	assert.Contains(t, sc.Outcome[audit.KeyErrorDetails], "IOC extraction failed")
}

// Checklist 26.
func TestRunCTEMNodeFails(t *testing.T) {
	ctem := NodeFunc(func(context.Context, *Investigation) error { return errors.New("neo4j down") })
	f := newFixture(t, Agents{CTEMCorrelator: ctem})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.Equal(t, 1, countEntries(inv, func(e DecisionEntry) bool {
		return e.Action == "node_failed" && e.Agent == "ctem_correlator"
	}))
	en := f.rec.byType(taxonomy.InvestigationEnriched)
	require.Len(t, en, 1)
	assert.Equal(t, "ctem_correlator: neo4j down", en[0].Outcome[audit.KeyErrorDetails])
}

// Checklist 27: counters merge without multiplication.
func TestParallelEnrichmentCountsOnce(t *testing.T) {
	add := func(q, l int, c float64) Node {
		return NodeFunc(func(_ context.Context, inv *Investigation) error {
			inv.QueriesExecuted += q
			inv.LLMCalls += l
			inv.TotalCostUSD += c
			return nil
		})
	}
	pre := NodeFunc(func(_ context.Context, inv *Investigation) error {
		inv.QueriesExecuted = 7
		inv.LLMCalls = 1
		return nil
	})
	f := newFixture(t, Agents{IOCExtractor: pre, ContextEnricher: add(1, 0, 0), CTEMCorrelator: add(1, 1, 0.25), ATLASMapper: add(1, 0, 0.5)})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, 7+3, inv.QueriesExecuted)
	assert.Equal(t, 2, inv.LLMCalls)
	assert.InDelta(t, 0.75, inv.TotalCostUSD, 1e-12)
	// A failed node's deltas are not merged.
	fail := NodeFunc(func(_ context.Context, inv *Investigation) error { inv.QueriesExecuted += 100; return errors.New("x") })
	f = newFixture(t, Agents{ContextEnricher: fail, CTEMCorrelator: add(2, 0, 0)})
	inv, _ = f.g.Run(ctxb, testAlert())
	assert.Equal(t, 2, inv.QueriesExecuted)
}

// Checklist 28.
func TestEnrichmentPanicRecovered(t *testing.T) {
	boom := NodeFunc(func(context.Context, *Investigation) error { panic("kaboom") })
	f := newFixture(t, Agents{ATLASMapper: boom})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.Equal(t, 1, countEntries(inv, func(e DecisionEntry) bool {
		return e.Agent == "atlas_mapper" && e.Action == "node_failed" && e.Error == "node panicked: kaboom"
	}))
	// A panic in a graph stage node is E11.
	f = newFixture(t, Agents{Reasoner: NodeFunc(func(context.Context, *Investigation) error { panic("bad") })})
	inv, err = f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateFailed, inv.State)
}

// Checklist 29.
func TestNodeCannotChangeState(t *testing.T) {
	rogue := NodeFunc(func(_ context.Context, inv *Investigation) error { inv.State = StateClosed; return nil })
	f := newFixture(t, Agents{IOCExtractor: rogue, ContextEnricher: rogue, Reasoner: NodeFunc(func(ctx context.Context, inv *Investigation) error {
		inv.State = StateFailed
		return verdictNode("true_positive", 0.9, "").Execute(ctx, inv)
	})})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.Equal(t, []string{"received>parsing", "parsing>enriching", "investigation.enriched", "enriching>reasoning",
		"alert.classified", "reasoning>responding", "responding>closed"}, seq(f.rec.all()))
}

// Checklist 30.
func TestCancelDuringEnrichmentThenContinue(t *testing.T) {
	ctx, cancel := context.WithCancel(ctxb)
	slow := NodeFunc(func(c context.Context, inv *Investigation) error { cancel(); <-c.Done(); return c.Err() })
	f := newFixture(t, Agents{ContextEnricher: slow})
	inv, err := f.g.Run(ctx, testAlert())
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, StateEnriching, inv.State)
	stored, _ := f.repo.Load(ctxb, inv.InvestigationID)
	assert.Equal(t, StateEnriching, stored.State)
	assert.False(t, hasEntry(stored, "context_enricher", "node_failed"))

	g2, err := New(f.repo, Agents{Reasoner: verdictNode("true_positive", 0.9, ""), Responder: f.responder}, WithAuditProducer(f.rec))
	require.NoError(t, err)
	done, err := g2.Continue(ctxb, inv.InvestigationID)
	require.NoError(t, err)
	assert.Equal(t, StateClosed, done.State)
	// The checkpoint's own event is emitted again on resume (at least once),
	// with the id of the first emission, so the trail dedupes to the
	// uninterrupted sequence.
	all := f.rec.all()
	assert.Equal(t, []string{"received>parsing", "parsing>enriching", "parsing>enriching", "investigation.enriched",
		"enriching>reasoning", "alert.classified", "reasoning>responding", "responding>closed"}, seq(all))
	assert.Equal(t, all[1].AuditID, all[2].AuditID)
	assert.Equal(t, []string{"received>parsing", "parsing>enriching", "investigation.enriched", "enriching>reasoning",
		"alert.classified", "reasoning>responding", "responding>closed"}, seq(dedupe(all)))
}

// Checklist 31.
func TestSaveFailureAtE3(t *testing.T) {
	repo := &failingRepo{MemoryRepository: NewMemoryRepository(), fail: func(inv *Investigation) bool {
		return inv.State == StateEnriching
	}}
	rec := &recProducer{}
	g, err := New(repo, Agents{Reasoner: verdictNode("true_positive", 0.9, ""), Responder: &countResponder{}}, WithAuditProducer(rec))
	require.NoError(t, err)
	inv, err := g.Run(ctxb, testAlert())
	require.ErrorIs(t, err, errDisk)
	require.NotNil(t, inv)
	assert.Equal(t, StateFailed, inv.State, "E11 was recorded with a detached context")
	assert.Equal(t, []string{"received>parsing", "parsing>failed"}, seq(rec.all()))
	stored, _ := repo.Load(ctxb, inv.InvestigationID)
	assert.Equal(t, StateFailed, stored.State)
	assert.False(t, hasEntry(stored, "graph", "start_enrichment"))
}

// Checklist 32.
func TestRunMissingTenant(t *testing.T) {
	f := newFixture(t, Agents{})
	a := testAlert()
	a.TenantID = "  "
	inv, err := f.g.Run(ctxb, a)
	assert.ErrorIs(t, err, ErrMissingTenant)
	assert.Nil(t, inv)
	all, _ := f.repo.ListByState(ctxb, StateReceived, 0)
	assert.Empty(t, all)
	assert.Empty(t, f.rec.all())
}

// Checklist 35 and 37.
func TestRunFPPath(t *testing.T) {
	fp := &fixedFP{m: FPMatch{Matched: true, PatternID: "FP-001", Confidence: 0.95, Threshold: 0.9, PatternsChecked: 1, Queries: 2}}
	llm := &countingLLM{f: func(LLMRequest) (LLMResponse, error) { return LLMResponse{}, errors.New("must not be called") }}
	ioc, _ := NewIOCExtractor(llm, nil)
	rsn, _ := NewReasoner(llm)
	f := newFixture(t, Agents{IOCExtractor: ioc, Reasoner: rsn}, WithFPShortCircuit(fp))
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.Equal(t, ClassificationFalsePositive, inv.Classification)
	assert.Equal(t, 0.95, inv.Confidence)
	assert.Zero(t, llm.calls.Load(), "an FP closure makes no LLM call")
	assert.Zero(t, inv.LLMCalls)
	assert.Equal(t, 2, inv.QueriesExecuted)
	assert.Equal(t, 1, countEntries(inv, func(e DecisionEntry) bool {
		return e.Agent == "fp_short_circuit" && e.Action == "auto_close_fp" && e.PatternID == "FP-001"
	}))
	assert.Zero(t, f.responder.calls.Load())
}

// Checklist 38.
func TestRunFPShadowedTenant(t *testing.T) {
	fp := &fixedFP{m: FPMatch{Matched: true, PatternID: "FP-001", Confidence: 0.95}}
	sm, _ := NewShadowMode(NewMemoryTenantConfigs(), NewMemoryShadowLog())
	f := newFixture(t, Agents{}, WithFPShortCircuit(fp), WithShadowMode(sm))
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.NotEqual(t, ClassificationFalsePositive, inv.Classification)
	assert.True(t, hasEntry(inv, "orchestrator", "shadow_fp_match"))
	assert.Equal(t, StateAwaitingHuman, inv.State, "shadow mode sends the verdict to a human")
	assert.Empty(t, f.rec.byType(taxonomy.AlertAutoClosed))
}

// Checklist 39.
func TestRunLowConfidenceCritical(t *testing.T) {
	f := newFixture(t, Agents{Reasoner: verdictNode("suspicious", 0.4, "critical")})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingHuman, inv.State)
	assert.True(t, inv.RequiresHumanApproval)
	assert.Equal(t, []string{ReasonLowConfidenceHighSeverity}, inv.EscalationReasons)
	assert.Zero(t, f.responder.calls.Load())
	// Low confidence on a medium alert does not need a human.
	f = newFixture(t, Agents{Reasoner: verdictNode("suspicious", 0.4, "medium")})
	inv, _ = f.g.Run(ctxb, testAlert())
	assert.Equal(t, StateClosed, inv.State)
}

// Checklist 40.
func TestRunDestructiveAction(t *testing.T) {
	llm := NewStaticLLM(map[string][]LLMResponse{AgentReasoning: {{Content: `{"classification":"true_positive",
		"confidence":0.9,"severity":"critical","recommended_actions":[{"action":"isolate_endpoint","target":"web-01","tier":2}]}`}}})
	rsn, _ := NewReasoner(llm)
	f := newFixture(t, Agents{Reasoner: rsn})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingHuman, inv.State)
	assert.True(t, inv.RequiresHumanApproval)
	assert.Equal(t, []string{ReasonDestructiveAction}, inv.EscalationReasons)
}

// Checklist 41.
func TestRunEscalatesToStrongerTier(t *testing.T) {
	var reqs []LLMRequest
	var mu sync.Mutex
	llm := LLMFunc(func(_ context.Context, req LLMRequest) (LLMResponse, error) {
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		if req.AgentID == AgentReasoningEscalate {
			return LLMResponse{Content: `{"classification":"true_positive","confidence":0.9}`, CostUSD: 0.2}, nil
		}
		return LLMResponse{Content: `{"classification":"suspicious","confidence":0.4,"severity":"critical"}`, CostUSD: 0.05}, nil
	})
	esc := &fakeEscalator{should: true}
	rsn, _ := NewReasoner(llm, WithEscalator(esc))
	f := newFixture(t, Agents{Reasoner: rsn})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, 0.9, inv.Confidence)
	assert.GreaterOrEqual(t, inv.LLMCalls, 2)
	assert.EqualValues(t, 1, esc.recorded.Load())
	require.Len(t, reqs, 2)
	assert.Equal(t, taxonomy.Tier1Plus, reqs[1].Tier)
	require.NotNil(t, reqs[1].PreviousConfidence)
	assert.Equal(t, 0.4, *reqs[1].PreviousConfidence)
	assert.Equal(t, "critical", reqs[1].Severity)
}

type fakeEscalator struct {
	should   bool
	recorded atomic.Int64
}

func (e *fakeEscalator) ShouldEscalate(float64, string) bool { return e.should }
func (e *fakeEscalator) RecordEscalation()                   { e.recorded.Add(1) }

// atlasNode sets fixed ATLAS techniques (as a detection pipeline would).
func atlasNode(ts ...ATLASTechnique) Node {
	return NodeFunc(func(_ context.Context, inv *Investigation) error {
		inv.ATLASTechniques = append([]ATLASTechnique(nil), ts...)
		return nil
	})
}

// Checklist 42–46.
func TestTrustConstraint(t *testing.T) {
	untrustedFail := ATLASTechnique{ATLASID: "AML.T0051", TelemetryTrustLevel: TrustUntrusted, AttestationStatus: "fail"}
	untrustedUnavail := ATLASTechnique{ATLASID: "AML.T0054", TelemetryTrustLevel: TrustUntrusted, AttestationStatus: "unavailable"}
	trustedPass := ATLASTechnique{ATLASID: "AML.T0043", TelemetryTrustLevel: TrustTrusted, AttestationStatus: "pass"}
	llmAdded := ATLASTechnique{ATLASID: "AML.T0020", Source: SourceReasoning}
	isConstraint := func(e DecisionEntry) bool { return e.Step == "trust_constraint" }
	isAssessment := func(e DecisionEntry) bool { return e.Step == "trust_assessment" }

	cases := []struct {
		name       string
		techs      []ATLASTechnique
		wantState  State
		constraint int
		assessment string
	}{
		{"all untrusted", []ATLASTechnique{untrustedFail, untrustedUnavail}, StateAwaitingHuman, 1, ""},
		{"mixed", []ATLASTechnique{untrustedFail, trustedPass}, StateClosed, 0, "fail,pass"},
		{"trusted only", []ATLASTechnique{trustedPass}, StateClosed, 0, "pass"},
		{"none", nil, StateClosed, 0, ""},
		{"LLM-added entry cannot defeat it", []ATLASTechnique{untrustedFail, llmAdded}, StateAwaitingHuman, 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Agents{ATLASMapper: atlasNode(c.techs...)})
			inv, err := f.g.Run(ctxb, testAlert())
			require.NoError(t, err)
			assert.Equal(t, c.wantState, inv.State)
			assert.Equal(t, c.constraint, countEntries(inv, isConstraint))
			if c.constraint > 0 {
				assert.True(t, inv.RequiresHumanApproval)
				assert.Contains(t, inv.EscalationReasons, ReasonUntrustedTelemetry)
			}
			if c.assessment != "" {
				require.Equal(t, 1, countEntries(inv, isAssessment))
				for _, e := range inv.DecisionChain {
					if isAssessment(e) {
						assert.Equal(t, c.assessment, e.AttestationStatus)
					}
				}
			} else {
				assert.Zero(t, countEntries(inv, isAssessment))
			}
		})
	}
	// The reasoner appending an LLM ATLAS id after untrusted detections:
	// still forced.
	llm := NewStaticLLM(map[string][]LLMResponse{AgentReasoning: {{Content: `{"classification":"true_positive",
		"confidence":0.95,"atlas_techniques":["AML.T0020"]}`}}})
	rsn, _ := NewReasoner(llm)
	f := newFixture(t, Agents{ATLASMapper: atlasNode(untrustedFail), Reasoner: rsn})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	require.Len(t, inv.ATLASTechniques, 2)
	assert.Equal(t, StateAwaitingHuman, inv.State)
}

// Checklist 47, 48, 49.
func TestShadowModeInGraph(t *testing.T) {
	configs, log := NewMemoryTenantConfigs(), NewMemoryShadowLog()
	sm, _ := NewShadowMode(configs, log)
	f := newFixture(t, Agents{}, WithShadowMode(sm))
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Zero(t, f.responder.calls.Load())
	assert.Equal(t, StateAwaitingHuman, inv.State)
	assert.True(t, inv.RequiresHumanApproval)
	assert.True(t, inv.ShadowMode)
	assert.Equal(t, []string{ReasonShadowMode}, inv.EscalationReasons)
	assert.Equal(t, 1, countEntries(inv, func(e DecisionEntry) bool { return e.Step == "shadow_mode" }))
	entries, _ := log.Entries(ctxb, "t-001", "impossible_travel")
	require.Len(t, entries, 1, "recorded under the alert's rule family")
	assert.Equal(t, ClassificationTruePositive, entries[0].ShadowDecision)
	assert.Equal(t, inv.InvestigationID, entries[0].InvestigationID)

	// Shadow inactive (signed-off tenant): normal execution.
	require.NoError(t, configs.Set(ctxb, TenantConfig{TenantID: "t-001", GoLiveSignedOff: true}))
	inv, err = f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.False(t, inv.ShadowMode)

	// No manager at all: works.
	inv, err = newFixture(t, Agents{}).g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
}

type fakePolicy struct {
	need    bool
	reasons []string
	err     error
}

func (p fakePolicy) RequiresApproval(context.Context, *Investigation) (bool, []string, error) {
	return p.need, p.reasons, p.err
}

// Checklist 50, and the policy failing closed.
func TestActionPolicyRaisesReview(t *testing.T) {
	f := newFixture(t, Agents{}, WithActionPolicy(fakePolicy{need: true, reasons: []string{"destructive_action", "zone_consequence:safety_life"}}))
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingHuman, inv.State)
	assert.Equal(t, []string{ReasonDestructiveAction, "zone_consequence:safety_life"}, inv.EscalationReasons)

	f = newFixture(t, Agents{}, WithActionPolicy(fakePolicy{err: errors.New("zone store down")}))
	inv, err = f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingHuman, inv.State)
	assert.Contains(t, inv.EscalationReasons, ReasonActionPolicyUnavailable)
}

// Checklist 51.
func TestApprovalGateOpen(t *testing.T) {
	gate := &fakeGate{}
	f := newFixture(t, Agents{Reasoner: verdictNode("suspicious", 0.4, "critical")}, WithApprovalGate(gate))
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	require.Len(t, gate.opens, 1)
	assert.Equal(t, []string{ReasonLowConfidenceHighSeverity}, gate.opens[0])
	assert.Equal(t, "appr-"+inv.InvestigationID, inv.ApprovalID)
	stored, _ := f.repo.Load(ctxb, inv.InvestigationID)
	assert.Equal(t, inv.ApprovalID, stored.ApprovalID)
	assert.False(t, stored.GatePending)

	gate = &fakeGate{openErr: errors.New("slack down")}
	f = newFixture(t, Agents{Reasoner: verdictNode("suspicious", 0.4, "critical")}, WithApprovalGate(gate))
	inv, err = f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingHuman, inv.State)
	assert.True(t, hasEntry(inv, "graph", "approval_request_failed"))
}

func TestApprovalGateDecidesAtOnce(t *testing.T) {
	gate := &fakeGate{openOut: OutcomeGranted}
	f := newFixture(t, Agents{Reasoner: verdictNode("suspicious", 0.4, "critical")}, WithApprovalGate(gate))
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.EqualValues(t, 1, f.responder.calls.Load())
	assert.Equal(t, []string{"received>parsing", "parsing>enriching", "investigation.enriched", "enriching>reasoning",
		"alert.classified", "reasoning>awaiting_human", "alert.escalated", "awaiting_human>responding", "responding>closed"},
		seq(f.rec.all()))
}

// awaiting runs an investigation into awaiting_human.
func awaiting(t *testing.T, f *fixture, sev string) *Investigation {
	t.Helper()
	a := testAlert()
	a.Severity = "high"
	inv, err := f.g.Run(ctxb, a)
	require.NoError(t, err)
	require.Equal(t, StateAwaitingHuman, inv.State)
	if sev != "x" {
		stored, _ := f.repo.Load(ctxb, inv.InvestigationID)
		stored.Severity = sev
		require.NoError(t, f.repo.Save(ctxb, stored))
	}
	return inv
}

func lowConfFixture(t *testing.T, opts ...Option) *fixture {
	return newFixture(t, Agents{Reasoner: verdictNode("suspicious", 0.4, "critical", Action{Action: "disable_account", Target: "bob"})}, opts...)
}

// Checklist 52, 53.
func TestResumeApproveDeny(t *testing.T) {
	f := lowConfFixture(t)
	inv := awaiting(t, f, "x")
	got, err := f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictApprove, Approver: "alice", Channel: "slack"})
	require.NoError(t, err)
	assert.Equal(t, StateClosed, got.State)
	assert.EqualValues(t, 1, f.responder.calls.Load())
	var granted DecisionEntry
	for _, e := range got.DecisionChain {
		if e.Action == "approval_granted" {
			granted = e
		}
	}
	assert.Equal(t, "human", granted.Agent)
	assert.Equal(t, "alice", granted.Details["approver"])
	assert.Equal(t, "slack", granted.Details["channel"])
	sc := f.rec.byType(taxonomy.InvestigationStateChanged)
	e8 := sc[len(sc)-2]
	assert.Equal(t, taxonomy.ActorHuman, e8.ActorType)
	assert.Equal(t, "alice", e8.ActorID)

	inv = awaiting(t, f, "")
	got, err = f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictDeny, Approver: "bob"})
	require.NoError(t, err)
	assert.Equal(t, StateClosed, got.State)
	assert.Equal(t, ClassificationSuspicious, got.Classification, "a verdict is kept; rejected only fills an empty one")
	assert.True(t, hasEntry(got, "human", "approval_rejected"))
	assert.EqualValues(t, 1, f.responder.calls.Load())
}

// Checklist 54, 55, 59, 63.
func TestResumeErrors(t *testing.T) {
	f := lowConfFixture(t)
	_, err := f.g.Resume(ctxb, "nope", HumanDecision{Verdict: VerdictApprove, Approver: "a"})
	assert.ErrorIs(t, err, ErrNotFound)

	closed, _ := newFixtureRun(t, f)
	got, err := f.g.Resume(ctxb, closed.InvestigationID, HumanDecision{Verdict: VerdictApprove, Approver: "a"})
	assert.ErrorIs(t, err, ErrNotAwaitingHuman)
	require.NotNil(t, got)
	assert.Equal(t, StateClosed, got.State)

	repo := &failingRepo{MemoryRepository: NewMemoryRepository()}
	g, _ := New(repo, Agents{Reasoner: verdictNode("x", 0, ""), Responder: &countResponder{}})
	_, err = g.Resume(ctxb, "any", HumanDecision{Verdict: VerdictApprove})
	assert.ErrorIs(t, err, ErrApproverRequired)
	_, err = g.Resume(ctxb, "any", HumanDecision{Verdict: "maybe", Approver: "a"})
	assert.ErrorIs(t, err, ErrInvalidVerdict)
	assert.Zero(t, repo.saves.Load())

	_, err = f.g.Continue(ctxb, closed.InvestigationID)
	assert.ErrorIs(t, err, ErrTerminal)
	inv := awaiting(t, f, "x")
	_, err = f.g.Continue(ctxb, inv.InvestigationID)
	assert.ErrorIs(t, err, ErrAwaitingHuman)
	_, err = f.g.Continue(ctxb, "nope")
	assert.ErrorIs(t, err, ErrNotFound)
}

// newFixtureRun runs a closing investigation in f's repository.
func newFixtureRun(t *testing.T, f *fixture) (*Investigation, error) {
	g, err := New(f.repo, Agents{Reasoner: verdictNode("true_positive", 0.9, ""), Responder: &countResponder{}}, WithIDGenerator(seqIDs("closed")))
	require.NoError(t, err)
	inv, err := g.Run(ctxb, testAlert())
	require.NoError(t, err)
	require.Equal(t, StateClosed, inv.State)
	return inv, nil
}

// Checklist 56, 57, 58, 214.
func TestResumeTimeoutWithoutGate(t *testing.T) {
	f := lowConfFixture(t)
	inv := awaiting(t, f, "critical")
	f.rec.mu.Lock()
	f.rec.evs = nil
	f.rec.mu.Unlock()
	got, err := f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictTimeout})
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingHuman, got.State)
	assert.Equal(t, "suspicious", got.Classification, "an existing verdict is kept")
	esc := f.rec.byType(taxonomy.ApprovalEscalated)
	require.Len(t, esc, 1)
	assert.Equal(t, "critical", esc[0].Decision[audit.KeySeverityAssigned])
	assert.Equal(t, taxonomy.ActorSystem, esc[0].ActorType)
	assert.Empty(t, f.rec.byType(taxonomy.InvestigationStateChanged), "no state change")

	// Empty classification → escalated.
	f2 := newFixture(t, Agents{Reasoner: verdictNode("", 0.4, "critical")})
	inv = awaiting(t, f2, "critical")
	got, _ = f2.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictTimeout})
	assert.Equal(t, ClassificationEscalated, got.Classification)

	f3 := newFixture(t, Agents{Reasoner: verdictNode("", 0.4, "critical")})
	inv = awaiting(t, f3, "medium")
	got, err = f3.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictTimeout})
	require.NoError(t, err)
	assert.Equal(t, StateClosed, got.State)
	assert.Equal(t, ClassificationTimedOut, got.Classification)
	assert.True(t, hasEntry(got, "approval_gate", "approval_timed_out"))
}

// Checklist 60.
func TestResumeThroughGate(t *testing.T) {
	gate := &fakeGate{}
	f := newFixture(t, Agents{Reasoner: verdictNode("", 0.4, "critical")}, WithApprovalGate(gate))
	inv := awaiting(t, f, "x")
	got, err := f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictApprove, Approver: "alice"})
	require.NoError(t, err)
	assert.Equal(t, StateClosed, got.State)
	assert.True(t, hasEntry(got, "human", "approval_granted"))
	assert.True(t, hasEntry(got, "response_agent", "response_complete"))

	inv = awaiting(t, f, "x")
	got, err = f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictDeny, Approver: "bob"})
	require.NoError(t, err)
	assert.Equal(t, StateClosed, got.State)
	assert.Equal(t, ClassificationRejected, got.Classification)
	assert.Empty(t, f.rec.byType(taxonomy.ApprovalEscalated), "with a gate the graph emits no approval events")

	// A gate error comes back with the unchanged investigation.
	gate.resolve = func(HumanDecision) (ApprovalOutcome, error) { return "", errors.New("role too low") }
	inv = awaiting(t, f, "x")
	got, err = f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictApprove, Approver: "eve"})
	assert.EqualError(t, err, "role too low")
	assert.Equal(t, StateAwaitingHuman, got.State)
}

// Checklist 61.
func TestExpireApprovals(t *testing.T) {
	gate := &fakeGate{}
	f := newFixture(t, Agents{Reasoner: verdictNode("", 0.4, "critical")}, WithApprovalGate(gate))
	a := awaiting(t, f, "x")
	b := awaiting(t, f, "x")
	c := newFixture(t, Agents{}).g // a graph without a gate
	none, err := c.ExpireApprovals(ctxb)
	assert.NoError(t, err)
	assert.Nil(t, none)

	gate.expired = []ExpiredApproval{
		{InvestigationID: a.InvestigationID, ApprovalID: a.ApprovalID, Outcome: OutcomeTimedOutClosed},
		{InvestigationID: b.InvestigationID, ApprovalID: b.ApprovalID, Outcome: OutcomeTimedOutEscalated},
		{InvestigationID: "gone", Outcome: OutcomeTimedOutClosed},
	}
	out, err := f.g.ExpireApprovals(ctxb)
	require.NoError(t, err)
	require.Len(t, out, 2)
	ga, _ := f.repo.Load(ctxb, a.InvestigationID)
	gb, _ := f.repo.Load(ctxb, b.InvestigationID)
	assert.Equal(t, StateClosed, ga.State)
	assert.Equal(t, ClassificationTimedOut, ga.Classification)
	assert.Equal(t, StateAwaitingHuman, gb.State)
	assert.Equal(t, ClassificationEscalated, gb.Classification)
	last := f.rec.byType(taxonomy.InvestigationStateChanged)
	e10 := last[len(last)-1]
	assert.Equal(t, taxonomy.ActorSystem, e10.ActorType)
	assert.Equal(t, ActorApprovalGate, e10.ActorID)

	// A second sweep naming a closed investigation changes nothing.
	gate.expired = []ExpiredApproval{{InvestigationID: a.InvestigationID, Outcome: OutcomeTimedOutClosed}}
	out, err = f.g.ExpireApprovals(ctxb)
	require.NoError(t, err)
	assert.Empty(t, out)
}

// Checklist 62.
func TestConcurrentResumeRespondsOnce(t *testing.T) {
	f := lowConfFixture(t)
	inv := awaiting(t, f, "x")
	var wg sync.WaitGroup
	var ok, notAwaiting atomic.Int64
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictApprove, Approver: "alice"})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrNotAwaitingHuman):
				notAwaiting.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, f.responder.calls.Load())
	assert.EqualValues(t, 1, ok.Load())
	assert.EqualValues(t, 49, notAwaiting.Load())
}

// Checklist 62a.
func TestResumeAppliesDecisionRecordedBeforeCrash(t *testing.T) {
	gate := &fakeGate{}
	f := newFixture(t, Agents{Reasoner: verdictNode("", 0.4, "critical")}, WithApprovalGate(gate))
	inv := awaiting(t, f, "x")
	// The gate already granted it (the process died before E8).
	gate.resolve = func(HumanDecision) (ApprovalOutcome, error) {
		return OutcomeGranted, fmt.Errorf("wrapped: %w", ErrApprovalClosed)
	}
	got, err := f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictApprove, Approver: "bob"})
	require.NoError(t, err)
	assert.Equal(t, StateClosed, got.State)
	assert.EqualValues(t, 1, f.responder.calls.Load())
	assert.Empty(t, f.rec.byType(taxonomy.ApprovalGranted))
	// A closed approval that was never decided by a human (left open) is
	// not applied.
	gate.resolve = func(HumanDecision) (ApprovalOutcome, error) { return OutcomeTimedOutLeftOpen, ErrApprovalClosed }
	inv = awaiting(t, f, "x")
	_, err = f.g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictApprove, Approver: "bob"})
	assert.ErrorIs(t, err, ErrApprovalClosed)
}

// Checklist 33.
func TestDecodeAlert(t *testing.T) {
	a, err := DecodeAlert([]byte(`{"alert_id":"a","parsed_entities":{"accounts":[{"entity_type":"account","primary_value":"bob"}]},"alert_name":"X"}`))
	require.NoError(t, err)
	assert.Equal(t, "default", a.TenantID)
	assert.EqualValues(t, "medium", a.Severity)
	assert.Equal(t, "X", a.Title)
	assert.Equal(t, "bob", a.Entities.Accounts[0].PrimaryValue)

	a, err = DecodeAlert([]byte(`{"alert_id":"a","title":"T","severity":" HIGH ","techniques":["T1078"],"description":"d",
		"source":"sentinel","entities":{"hosts":[{"primary_value":"h"}]},"rule_family":"rf","asset_class":"server"}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"T1078"}, a.Techniques)
	assert.Equal(t, "d", a.Description)
	assert.Equal(t, "sentinel", a.DataSource)
	assert.EqualValues(t, "high", a.Severity)
	assert.Equal(t, "h", a.Entities.Hosts[0].PrimaryValue)
	assert.Equal(t, "rf", a.RuleFamily)
	assert.Equal(t, "server", a.AssetClass)

	// Techniques inside the entity block are lifted.
	a, err = DecodeAlert([]byte(`{"alert_id":"a","parsed_entities":{"techniques":["T1566"],"description":"inner"}}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"T1566"}, a.Techniques)
	assert.Equal(t, "inner", a.Description)

	_, err = DecodeAlert([]byte(`{not json`))
	assert.ErrorIs(t, err, ErrInvalidAlert)

	// Round trip through MarshalJSON.
	b, err := a.MarshalJSON()
	require.NoError(t, err)
	back, err := DecodeAlert(b)
	require.NoError(t, err)
	assert.Equal(t, a.Techniques, back.Techniques)
}

func TestNewValidation(t *testing.T) {
	_, err := New(NewMemoryRepository(), Agents{Responder: &countResponder{}})
	assert.ErrorIs(t, err, ErrMissingNode)
	_, err = New(NewMemoryRepository(), Agents{Reasoner: verdictNode("", 0, "")})
	assert.ErrorIs(t, err, ErrMissingNode)
	_, err = New(nil, Agents{Reasoner: verdictNode("", 0, ""), Responder: &countResponder{}})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(NewMemoryRepository(), Agents{Reasoner: verdictNode("", 0, ""), Responder: &countResponder{}}, WithClock(nil))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewContextEnricher(nil, nil, nil, WithRetrievalTier("tier_9"))
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestResponderErrorFails(t *testing.T) {
	f := newFixture(t, Agents{})
	f.responder.err = errors.New("EDR unreachable")
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateFailed, inv.State)
	assert.Equal(t, []string{"received>parsing", "parsing>enriching", "investigation.enriched", "enriching>reasoning",
		"alert.classified", "reasoning>responding", "responding>failed"}, seq(f.rec.all()))
}

func TestAutoCloseActionEmitsAutoClosed(t *testing.T) {
	f := newFixture(t, Agents{Reasoner: verdictNode("false_positive", 0.97, "low", Action{Action: "auto_close", Target: "alert-1"})})
	inv, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	ac := f.rec.byType(taxonomy.AlertAutoClosed)
	require.Len(t, ac, 1)
	assert.Equal(t, ActorOrchestrator, ac[0].ActorID)
	assert.Equal(t, "", ac[0].Context[audit.KeyFPPatternMatched])
	assert.Equal(t, "responding", ac[0].Outcome[audit.KeyStateBefore])
}
