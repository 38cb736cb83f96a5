package orchestrator

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/taxonomy"
)

func invOf(a Alert) *Investigation {
	inv := NewInvestigation("inv-1")
	inv.TenantID, inv.AlertID, inv.Severity = a.TenantID, a.AlertID, string(a.Severity)
	inv.Entities, inv.Techniques, inv.Description, inv.Embedding = a.Entities, a.Techniques, a.Description, a.Embedding
	return inv
}

// cacheCounter wraps an IOC cache and records lookups.
type cacheCounter struct {
	IOCCache
	tenants []string
	err     error
}

func (c *cacheCounter) GetIOC(ctx context.Context, tenant, typ, v string) (map[string]any, bool, error) {
	c.tenants = append(c.tenants, tenant)
	if c.err != nil {
		return nil, false, c.err
	}
	return c.IOCCache.GetIOC(ctx, tenant, typ, v)
}

const threeIOCs = `{"iocs":[{"type":"ip","value":"10.0.0.1"},{"type":"hash","value":"d41d8cd98f00b204e9800998ecf8427e"},{"type":"domain","value":"evil.example"}]}`

// Checklist 64–68.
func TestIOCExtractor(t *testing.T) {
	llm := NewStaticLLM(map[string][]LLMResponse{AgentIOCExtractor: {{Content: threeIOCs, CostUSD: 0.005}}})
	mem := NewMemoryIOCCache()
	mem.Put("t-001", "ip", "10.0.0.1", map[string]any{"confidence": 0.95, "severity": "high", "campaigns": []any{"APT28"}})
	mem.Put("t-002", "domain", "evil.example", map[string]any{"leak": true})
	cache := &cacheCounter{IOCCache: mem}
	x, err := NewIOCExtractor(llm, cache)
	require.NoError(t, err)
	a := testAlert()
	a.Embedding = []float32{0.5, 0.25}
	inv := invOf(a)
	inv.State = StateParsing
	require.NoError(t, x.Execute(ctxb, inv))
	require.Len(t, inv.IOCMatches, 3)
	assert.Equal(t, "ip", inv.IOCMatches[0].Type)
	assert.Equal(t, "10.0.0.1", inv.IOCMatches[0].Value)
	assert.Equal(t, StateParsing, inv.State)
	assert.Equal(t, 1, inv.LLMCalls)
	assert.InDelta(t, 0.005, inv.TotalCostUSD, 1e-12)
	reqs := llm.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, AgentIOCExtractor, reqs[0].AgentID)
	assert.Equal(t, TaskIOCExtraction, reqs[0].TaskType)
	assert.Equal(t, taxonomy.Tier0, reqs[0].Tier)
	assert.NotContains(t, reqs[0].UserContent, "embedding")
	assert.Contains(t, reqs[0].UserContent, "jsmith@example.com")
	assert.Equal(t, []string{"t-001", "t-001", "t-001"}, cache.tenants)
	assert.Equal(t, 3, inv.QueriesExecuted)
	assert.Equal(t, 0.95, inv.IOCMatches[0].Intel["confidence"])
	assert.Equal(t, []any{"APT28"}, inv.IOCMatches[0].Intel["campaigns"])
	assert.Nil(t, inv.IOCMatches[2].Intel, "another tenant's intel never leaks")
}

// Checklist 69–71.
func TestParseIOCs(t *testing.T) {
	assert.Len(t, ParseIOCs(`{"iocs":[{"type":"ip","value":"1.2.3.4"}]}`), 1)
	got := ParseIOCs(`[{"type":"hash","value":"abc"}]`)
	require.Len(t, got, 1)
	assert.Equal(t, "hash", got[0].Type)
	for _, bad := range []string{"not json", "", `{"data":[1,2,3]}`, `{"iocs":"x"}`, `[1,2]`} {
		assert.Empty(t, ParseIOCs(bad), bad)
	}
	got = ParseIOCs(`{"iocs":[{"type":"banana","value":"x"},{"type":"ip","value":""},{"type":"IP","value":"1.1.1.1"},{"type":7,"value":"x"},"str"]}`)
	require.Len(t, got, 1)
	assert.Equal(t, IOC{Type: "ip", Value: "1.1.1.1"}, got[0])
	many := `{"iocs":[` + strings.Repeat(`{"type":"ip","value":"1.1.1.1"},`, MaxIOCs+10) + `{"type":"ip","value":"1.1.1.1"}]}`
	assert.Len(t, ParseIOCs(many), MaxIOCs)
}

// Checklist 72, and an LLM error.
func TestIOCExtractorErrors(t *testing.T) {
	llm := NewStaticLLM(map[string][]LLMResponse{AgentIOCExtractor: {{Content: threeIOCs}}})
	x, _ := NewIOCExtractor(llm, &cacheCounter{IOCCache: NewMemoryIOCCache(), err: errors.New("redis down")})
	inv := invOf(testAlert())
	require.NoError(t, x.Execute(ctxb, inv))
	assert.Len(t, inv.IOCMatches, 3)
	assert.Nil(t, inv.IOCMatches[0].Intel)

	x, _ = NewIOCExtractor(LLMFunc(func(context.Context, LLMRequest) (LLMResponse, error) {
		return LLMResponse{}, errors.New("provider down")
	}), nil)
	assert.Error(t, x.Execute(ctxb, invOf(testAlert())))
	_, err := NewIOCExtractor(nil, nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorIs(t, x.Execute(ctxb, nil), ErrNilInvestigation)
}

type uebaStub struct {
	*MemoryUEBA
	err   error
	deeps atomic.Int64
}

func (u *uebaStub) Lookup(ctx context.Context, tenant, v string) (UEBARecord, bool, error) {
	if u.err != nil {
		return UEBARecord{}, false, u.err
	}
	return u.MemoryUEBA.Lookup(ctx, tenant, v)
}

func (u *uebaStub) DeepContext(ctx context.Context, tenant, v string) (map[string]any, bool, error) {
	u.deeps.Add(1)
	return u.MemoryUEBA.DeepContext(ctx, tenant, v)
}

type incidentStub struct {
	hits    []IncidentHit
	err     error
	calls   int
	tenant  string
	limit   int
	vectors [][]float32
}

func (s *incidentStub) SearchSimilar(_ context.Context, tenant string, v []float32, limit int) ([]IncidentHit, error) {
	s.calls++
	s.tenant, s.limit = tenant, limit
	s.vectors = append(s.vectors, v)
	return s.hits, s.err
}

type intelStub struct {
	calls atomic.Int64
}

func (s *intelStub) TechniqueIntel(_ context.Context, id string) (map[string]any, bool, error) {
	s.calls.Add(1)
	return map[string]any{"name": "Phishing " + id}, true, nil
}

// Checklist 73–77, 79, 82–87.
func TestContextEnricher(t *testing.T) {
	cache := NewMemoryIOCCache()
	cache.Put("t-001", "ip", "10.0.0.1", map[string]any{"severity": "high"})
	ueba := &uebaStub{MemoryUEBA: NewMemoryUEBA()}
	ueba.Put("t-001", "jsmith@example.com", UEBARecord{RiskScore: 0.75, RiskState: "high",
		Anomalies: []any{"unusual_login", map[string]any{"event": "login", "at": "02:00"}}})
	ueba.Put("t-002", "web-01", UEBARecord{RiskState: "low"})
	ueba.PutDeep("t-001", "10.0.0.1", map[string]any{"first_seen": "2026-01-01"})
	e, err := NewContextEnricher(cache, ueba, &incidentStub{})
	require.NoError(t, err)
	inv := invOf(testAlert())
	inv.State = StateEnriching
	inv.Techniques = []string{"T1566", "T1078"}
	inv.IOCMatches = []IOC{{Type: "ip", Value: "10.0.0.1"}, {Type: "domain", Value: "evil.example"}}
	require.NoError(t, e.Execute(ctxb, inv))
	assert.Equal(t, "high", inv.IOCMatches[0].Intel["severity"])
	require.Len(t, inv.UEBAContext, 1, "the other tenant's record is not read")
	assert.Equal(t, "high", inv.UEBAContext[0].RiskState)
	assert.Equal(t, "high", inv.RiskState)
	assert.GreaterOrEqual(t, inv.QueriesExecuted, 1)
	assert.Equal(t, StateEnriching, inv.State)
	assert.Contains(t, inv.CaseFacts.Entities, "jsmith@example.com")
	assert.Contains(t, inv.CaseFacts.Entities, "web-01")
	require.Len(t, inv.CaseFacts.IOCs, 2)
	assert.Equal(t, "10.0.0.1", inv.CaseFacts.IOCs[0].Value)
	assert.ElementsMatch(t, []string{"T1566", "T1078"}, inv.CaseFacts.Techniques)
	assert.Greater(t, inv.CaseFacts.TokenEstimate, 0)
	require.Len(t, inv.CaseFacts.Timeline, 1, "only object anomalies are timeline events")
	assert.Nil(t, inv.CaseFacts.DeepContext, "tier_0 never deep-retrieves")
	assert.Zero(t, ueba.deeps.Load())

	// No UEBA record → no_baseline; a UEBA error → unknown; cache errors
	// keep the IOCs.
	e2, _ := NewContextEnricher(&cacheCounter{IOCCache: cache, err: errors.New("down")}, NewMemoryUEBA(), nil)
	inv = invOf(testAlert())
	inv.IOCMatches = []IOC{{Type: "ip", Value: "10.0.0.1"}}
	require.NoError(t, e2.Execute(ctxb, inv))
	assert.Equal(t, "no_baseline", inv.RiskState)
	assert.Len(t, inv.IOCMatches, 1)
	e3, _ := NewContextEnricher(nil, &uebaStub{MemoryUEBA: NewMemoryUEBA(), err: errors.New("down")}, nil)
	inv = invOf(testAlert())
	require.NoError(t, e3.Execute(ctxb, inv))
	assert.Equal(t, "unknown", inv.RiskState)

	// Deep retrieval at tier_1_plus.
	intel := &intelStub{}
	e4, _ := NewContextEnricher(cache, ueba, nil, WithRetrievalTier(taxonomy.Tier1Plus), WithThreatIntel(intel))
	inv = invOf(testAlert())
	inv.Techniques = []string{"T1566"}
	inv.IOCMatches = []IOC{{Type: "ip", Value: "10.0.0.1"}}
	require.NoError(t, e4.Execute(ctxb, inv))
	require.NotEmpty(t, inv.CaseFacts.DeepContext)
	assert.GreaterOrEqual(t, intel.calls.Load(), int64(1))
	assert.Equal(t, "technique_intel", inv.CaseFacts.DeepContext[0]["type"])
	assert.Equal(t, "Phishing T1566", inv.CaseFacts.DeepContext[0]["name"])
	assert.Equal(t, "entity_deep_context", inv.CaseFacts.DeepContext[1]["type"])
	assert.Equal(t, "2026-01-01", inv.CaseFacts.DeepContext[1]["first_seen"])
	// Without threat intel, technique context is unavailable.
	e5, _ := NewContextEnricher(nil, nil, nil, WithRetrievalTier(taxonomy.Tier1))
	inv = invOf(testAlert())
	inv.Techniques = []string{"T1566"}
	require.NoError(t, e5.Execute(ctxb, inv))
	assert.Equal(t, "unavailable", inv.CaseFacts.DeepContext[0]["detail"])
}

// Checklist 78.
func TestRiskStateOf(t *testing.T) {
	rs := func(states ...string) []UEBAContext {
		out := []UEBAContext{}
		for _, s := range states {
			out = append(out, UEBAContext{RiskState: s})
		}
		return out
	}
	assert.Equal(t, "no_baseline", riskStateOf(nil))
	assert.Equal(t, "high", riskStateOf(rs("high")))
	assert.Equal(t, "medium", riskStateOf(rs("medium")))
	assert.Equal(t, "low", riskStateOf(rs("low")))
	assert.Equal(t, "high", riskStateOf(rs("low", "high")))
	assert.Equal(t, "no_baseline", riskStateOf(rs("unknown")))
}

// Checklist 80, 81.
func TestSimilarIncidents(t *testing.T) {
	age := 200.0
	inc := &incidentStub{hits: []IncidentHit{
		{ID: "s1", IncidentID: "INC-1", Title: "old phish", Score: 0.85, TenantID: "t-001", Techniques: []string{"T1566"}, AgeDays: &age, RareImportant: true},
		{ID: "s2", Title: "other tenant", Score: 0.99, TenantID: "t-999"},
		{ID: "s3", Title: "recent", Score: 0.5, TenantID: "t-001"},
	}}
	e, _ := NewContextEnricher(nil, nil, inc)
	inv := invOf(testAlert())
	inv.Techniques = []string{"T1566"}
	inv.Embedding = []float32{1, 0}
	require.NoError(t, e.Execute(ctxb, inv))
	assert.Equal(t, 1, inc.calls)
	assert.Equal(t, "t-001", inc.tenant)
	assert.Equal(t, 5, inc.limit)
	require.Len(t, inv.SimilarIncidents, 2, "another tenant's incident is dropped")
	assert.Equal(t, "INC-1", inv.SimilarIncidents[0].IncidentID)
	assert.InDelta(t, 0.7047444874, inv.SimilarIncidents[0].CompositeScore, 1e-9)
	assert.Equal(t, "s3", inv.SimilarIncidents[1].IncidentID)

	// No embedding (or no description): no search.
	inc2 := &incidentStub{}
	e2, _ := NewContextEnricher(nil, nil, inc2)
	inv = invOf(testAlert())
	require.NoError(t, e2.Execute(ctxb, inv))
	assert.Zero(t, inc2.calls)
	inv = invOf(testAlert())
	inv.Embedding, inv.Description = []float32{1}, ""
	require.NoError(t, e2.Execute(ctxb, inv))
	assert.Zero(t, inc2.calls)
}

// Checklist 88.
func TestScoreIncidentGolden(t *testing.T) {
	s := ScoreIncident(0.9, 0, true, 0.5, false)
	assert.InDelta(t, 1.0, s.RecencyDecay, 1e-9)
	assert.InDelta(t, 0.885, s.Composite, 1e-9)
	s = ScoreIncident(0.5, 30, false, 0, false)
	assert.InDelta(t, 0.629141452, s.RecencyDecay, 1e-9)
	assert.InDelta(t, 0.388742436, s.Composite, 1e-9)
	s = ScoreIncident(0.85, 200, true, 1.0, true)
	assert.InDelta(t, 0.215814958, s.RecencyDecay, 1e-9)
	assert.InDelta(t, 0.704744487, s.Composite, 1e-9)
	assert.Equal(t, ScoreIncident(0.5, 0, true, 0, false), ScoreIncident(0.5, -10, true, 0, false))
}

type exposureStub struct {
	exps  map[string][]Exposure
	calls []string
	err   error
}

func (s *exposureStub) OpenExposures(_ context.Context, tenant, asset string) ([]Exposure, error) {
	s.calls = append(s.calls, tenant+"/"+asset)
	return s.exps[asset], s.err
}

// Checklist 89–93.
func TestCTEMCorrelator(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	st := &exposureStub{exps: map[string][]Exposure{
		"web-01":   {{ExposureKey: "exp-001", AssetID: "web-01", Severity: "HIGH", UpdatedAt: now.Add(-time.Hour)}},
		"10.0.0.1": {{ExposureKey: "exp-002", Severity: "critical", UpdatedAt: now.Add(-48 * time.Hour)}, {ExposureKey: "exp-003", Severity: "weird"}},
	}}
	c, err := NewCTEMCorrelator(st, WithClock(clk.Now))
	require.NoError(t, err)
	inv := invOf(testAlert())
	require.NoError(t, c.Execute(ctxb, inv))
	assert.Equal(t, []string{"t-001/web-01", "t-001/10.0.0.1"}, st.calls)
	assert.Equal(t, 2, inv.QueriesExecuted)
	require.Len(t, inv.CTEMExposures, 3)
	assert.Equal(t, "exp-001", inv.CTEMExposures[0].ExposureKey)
	assert.False(t, inv.CTEMExposures[0].Stale)
	assert.Equal(t, 72, inv.CTEMExposures[0].SLADeadlineHours)
	assert.True(t, inv.CTEMExposures[1].Stale)
	assert.Equal(t, 24, inv.CTEMExposures[1].SLADeadlineHours)
	assert.True(t, inv.CTEMExposures[2].Stale, "unknown update time is stale")
	assert.Equal(t, 720, inv.CTEMExposures[2].SLADeadlineHours)

	for sev, h := range map[string]int{"CRITICAL": 24, "HIGH": 72, "MEDIUM": 336, "LOW": 720, "": 720} {
		assert.Equal(t, h, SLADeadlineHours(sev))
	}
	assert.Equal(t, 24*time.Hour, ExposureStaleAfter)

	empty := &exposureStub{}
	c, _ = NewCTEMCorrelator(empty)
	inv = NewInvestigation("x")
	require.NoError(t, c.Execute(ctxb, inv))
	assert.Empty(t, inv.CTEMExposures)
	assert.Empty(t, empty.calls)

	c, _ = NewCTEMCorrelator(&exposureStub{err: errors.New("down")})
	assert.Error(t, c.Execute(ctxb, invOf(testAlert())))
}

type taxStub struct {
	m     map[string][]TaxonomyEntry
	calls []string
}

func (s *taxStub) ATLASForAttack(_ context.Context, id string) ([]TaxonomyEntry, error) {
	s.calls = append(s.calls, id)
	return s.m[id], nil
}

type searchStub struct {
	hits  []TechniqueHit
	err   error
	calls int
}

func (s *searchStub) SearchATLAS(context.Context, []float32, int) ([]TechniqueHit, error) {
	s.calls++
	return s.hits, s.err
}

// Checklist 94–100.
func TestATLASMapper(t *testing.T) {
	tax := &taxStub{m: map[string][]TaxonomyEntry{"T1078": {{TechniqueID: "AML.T0020", Name: "Poison Training Data"}}}}
	search := &searchStub{hits: []TechniqueHit{{Score: 0.87, TechniqueID: "AML.T0042", Name: "Verify Attack", RelatedAttackID: "T1595"},
		{Score: 0.75, TechniqueID: "AML.T0020"}}}
	m, err := NewATLASMapper(tax, search)
	require.NoError(t, err)
	inv := invOf(testAlert())
	inv.Techniques = []string{"T1078", "T1566"}
	inv.Embedding = []float32{1}
	require.NoError(t, m.Execute(ctxb, inv))
	assert.Equal(t, []string{"T1078", "T1566"}, tax.calls)
	require.Len(t, inv.ATLASTechniques, 2)
	assert.Equal(t, ATLASTechnique{ATLASID: "AML.T0020", ATLASName: "Poison Training Data", AttackID: "T1078", Confidence: 1, Source: "taxonomy"}, inv.ATLASTechniques[0])
	assert.Equal(t, "semantic_search", inv.ATLASTechniques[1].Source)
	assert.Equal(t, 0.87, inv.ATLASTechniques[1].Confidence)
	assert.GreaterOrEqual(t, inv.QueriesExecuted, 2)

	search2 := &searchStub{}
	m, _ = NewATLASMapper(&taxStub{}, search2)
	inv = invOf(testAlert())
	require.NoError(t, m.Execute(ctxb, inv))
	assert.Zero(t, search2.calls)

	m, _ = NewATLASMapper(&taxStub{}, &searchStub{err: errors.New("qdrant down")})
	inv = invOf(testAlert())
	inv.Embedding = []float32{1}
	require.NoError(t, m.Execute(ctxb, inv))
	assert.NotNil(t, inv.ATLASTechniques)
	assert.Empty(t, inv.ATLASTechniques)

	assert.Equal(t, []ATLASTechnique{{ATLASID: "a", Confidence: 1}, {ATLASID: "b", Confidence: 0.5}},
		MergeATLAS([]ATLASTechnique{{ATLASID: "a", Confidence: 0.2}, {ATLASID: ""}, {ATLASID: "b", Confidence: 0.5},
			{ATLASID: "a", Confidence: 1}, {ATLASID: "b", Confidence: 0.5, Source: "later"}}))
}

func reasonerWith(t *testing.T, contents ...string) (*Reasoner, *StaticLLM) {
	var rs []LLMResponse
	for _, c := range contents {
		rs = append(rs, LLMResponse{Content: c, CostUSD: 0.05})
	}
	llm := NewStaticLLM(map[string][]LLMResponse{AgentReasoning: rs[:1], AgentReasoningEscalate: rs[min(1, len(rs)-1):]})
	r, err := NewReasoner(llm)
	require.NoError(t, err)
	return r, llm
}

// Checklist 101–105, 107.
func TestReasoner(t *testing.T) {
	r, llm := reasonerWith(t, `{"classification":"true_positive","confidence":0.85,"severity":"high",
		"attack_techniques":["T1566"],"recommended_actions":[{"action":"monitor","target":"web-01","tier":0}],"reasoning":"phish"}`)
	inv := invOf(testAlert())
	require.NoError(t, r.Execute(ctxb, inv))
	assert.Equal(t, "true_positive", inv.Classification)
	assert.Equal(t, 0.85, inv.Confidence)
	assert.Equal(t, "high", inv.Severity)
	assert.Contains(t, inv.AttackTechniques, "T1566")
	require.Len(t, inv.RecommendedActions, 1)
	assert.Equal(t, "monitor", inv.RecommendedActions[0].Action)
	assert.Equal(t, 1, inv.LLMCalls)
	assert.InDelta(t, 0.05, inv.TotalCostUSD, 1e-12)
	assert.False(t, inv.RequiresHumanApproval)
	assert.Len(t, llm.Requests(), 1)
	req := llm.Requests()[0]
	assert.Equal(t, taxonomy.Tier1, req.Tier)
	assert.Equal(t, TaskInvestigation, req.TaskType)
	assert.Equal(t, "reasoning", inv.DecisionChain[len(inv.DecisionChain)-1].Step)

	r, _ = reasonerWith(t, `{"classification":"true_positive","confidence":0.9,"recommended_actions":[{"action":"isolate_endpoint","tier":2}]}`)
	inv = invOf(testAlert())
	require.NoError(t, r.Execute(ctxb, inv))
	assert.True(t, inv.RequiresHumanApproval)
	assert.Equal(t, []string{ReasonDestructiveAction}, HumanReviewReasons(inv))

	r, _ = reasonerWith(t, `{"classification":"suspicious","confidence":0.4,"severity":"critical"}`)
	inv = invOf(testAlert())
	require.NoError(t, r.Execute(ctxb, inv))
	assert.True(t, inv.RequiresHumanApproval)
	r, _ = reasonerWith(t, `{"classification":"suspicious","confidence":0.4,"severity":"medium"}`)
	inv = invOf(testAlert())
	require.NoError(t, r.Execute(ctxb, inv))
	assert.False(t, inv.RequiresHumanApproval)
}

// Checklist 106, 108.
func TestReasonerEscalation(t *testing.T) {
	esc := &fakeEscalator{should: true}
	llm := NewStaticLLM(map[string][]LLMResponse{
		AgentReasoning:         {{Content: `{"classification":"suspicious","confidence":0.4,"severity":"critical","recommended_actions":[{"action":"monitor"}]}`}},
		AgentReasoningEscalate: {{Content: `{"classification":"true_positive","confidence":0.85}`}},
	})
	r, _ := NewReasoner(llm, WithEscalator(esc))
	inv := invOf(testAlert())
	require.NoError(t, r.Execute(ctxb, inv))
	assert.Equal(t, 0.85, inv.Confidence)
	assert.Equal(t, "true_positive", inv.Classification)
	assert.Equal(t, "critical", inv.Severity, "absent fields keep the current value")
	assert.Equal(t, "monitor", inv.RecommendedActions[0].Action)
	assert.Equal(t, 2, inv.LLMCalls)
	assert.EqualValues(t, 1, esc.recorded.Load())
	reqs := llm.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, taxonomy.Tier1Plus, reqs[1].Tier)
	assert.Equal(t, AgentReasoningEscalate, reqs[1].AgentID)
	assert.Contains(t, reqs[1].SystemPrompt, "escalated analysis")

	// Lower escalated confidence: the first verdict is kept; still recorded.
	esc = &fakeEscalator{should: true}
	llm = NewStaticLLM(map[string][]LLMResponse{
		AgentReasoning:         {{Content: `{"classification":"suspicious","confidence":0.4}`}},
		AgentReasoningEscalate: {{Content: `{"classification":"true_positive","confidence":0.3}`}},
	})
	r, _ = NewReasoner(llm, WithEscalator(esc))
	inv = invOf(testAlert())
	require.NoError(t, r.Execute(ctxb, inv))
	assert.Equal(t, 0.4, inv.Confidence)
	assert.Equal(t, "suspicious", inv.Classification)
	assert.EqualValues(t, 1, esc.recorded.Load())

	// An escalated-call error keeps the first verdict and does not fail.
	esc = &fakeEscalator{should: true}
	r, _ = NewReasoner(LLMFunc(func(_ context.Context, req LLMRequest) (LLMResponse, error) {
		if req.AgentID == AgentReasoningEscalate {
			return LLMResponse{}, errors.New("opus down")
		}
		return LLMResponse{Content: `{"classification":"suspicious","confidence":0.4}`}, nil
	}), WithEscalator(esc))
	inv = invOf(testAlert())
	require.NoError(t, r.Execute(ctxb, inv))
	assert.Equal(t, 0.4, inv.Confidence)
	assert.Equal(t, 1, inv.LLMCalls)
	assert.EqualValues(t, 1, esc.recorded.Load())

	// No escalator: one call.
	r, llm2 := reasonerWith(t, `{"classification":"suspicious","confidence":0.4,"severity":"critical"}`)
	inv = invOf(testAlert())
	require.NoError(t, r.Execute(ctxb, inv))
	assert.Equal(t, 1, inv.LLMCalls)
	assert.Len(t, llm2.Requests(), 1)
}

// Checklist 109, 113.
func TestReasoningContent(t *testing.T) {
	inv := invOf(testAlert())
	inv.SimilarIncidents = []SimilarIncident{{IncidentID: "INC-1", Title: strings.Repeat("é", 40000)}}
	ev, rt, err := reasoningBlocks(inv)
	require.NoError(t, err)
	assert.Contains(t, ev, `"alert_id":"alert-1"`)
	assert.Contains(t, ev, `"severity":"high"`)
	assert.Contains(t, rt, `"similar_incidents"`)
	assert.Contains(t, rt, `"ueba_context"`)
	content, err := BuildReasoningContent(inv, taxonomy.Tier1)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(content, ev+"\n\n"))
	kept := strings.TrimPrefix(content, ev+"\n\n")
	assert.Equal(t, 32768, utf8.RuneCountInString(kept))
	assert.True(t, utf8.ValidString(kept))
	content, _ = BuildReasoningContent(inv, taxonomy.Tier1Plus)
	assert.Equal(t, rt, strings.TrimPrefix(content, ev+"\n\n"), "tier_1_plus holds it all")
	assert.Equal(t, 16384*4, RetrievalBudgetChars(taxonomy.Tier2))
	assert.Equal(t, 4096*4, RetrievalBudgetChars(taxonomy.Tier0))
	assert.Equal(t, 8192*4, RetrievalBudgetChars("tier_9"))
}

// Checklist 110–112.
func TestParseVerdict(t *testing.T) {
	v := ParseVerdict(`{"classification":"false_positive","confidence":0.7}`, "high")
	assert.Equal(t, "false_positive", v.Classification)
	assert.Equal(t, 0.7, v.Confidence)
	assert.Equal(t, "high", v.Severity)
	v = ParseVerdict("not json", "")
	assert.Equal(t, "investigation_required", v.Classification)
	assert.Zero(t, v.Confidence)
	assert.Equal(t, "medium", v.Severity)
	for _, c := range []string{`"high"`, `1.7`, `-0.1`, `null`} {
		assert.Zero(t, ParseVerdict(`{"confidence":`+c+`}`, "").Confidence, c)
	}
	assert.Equal(t, "investigation_required", ParseVerdict(`{"classification":"maybe"}`, "").Classification)
	tiers := ParseVerdict(`{"recommended_actions":[{"action":"a","tier":1.5},{"action":"b","tier":9},{"action":"c","tier":-1},
		{"action":"d","tier":"2"},{"action":"e","tier":"x"},{"action":"f"},{"action":""},{"tier":2},"str",{"action":"g","tier":0.01}]}`, "")
	got := map[string]Tier{}
	for _, a := range tiers.RecommendedActions {
		got[a.Action] = a.Tier
	}
	assert.Equal(t, map[string]Tier{"a": 2, "b": 2, "c": 0, "d": 2, "e": 0, "f": 0, "g": 1}, got)
	assert.Equal(t, ReviewConfidenceThreshold, 0.6)
	assert.Equal(t, DestructiveTier, 2)
	ids := ParseVerdict(`{"attack_techniques":["T1566","t1059.001","bogus","T1566"],"atlas_techniques":["AML.T0051","T1566"]}`, "")
	assert.Equal(t, []string{"T1566", "T1059.001"}, ids.AttackTechniques)
	assert.Equal(t, []string{"AML.T0051"}, ids.ATLASTechniques)
}

func TestEntitiesViewNeverHasEmbedding(t *testing.T) {
	inv := invOf(testAlert())
	inv.Embedding = []float32{1, 2, 3}
	inv.Entities.AttackTechniques = []entityparser.Entity{entity(entityparser.AttackTechnique, "T1059")}
	s, err := entitiesJSON(inv)
	require.NoError(t, err)
	assert.NotContains(t, s, "embedding")
	assert.Contains(t, s, `"merged_attack_techniques"`)
	assert.Contains(t, s, `"T1059"`)
}
