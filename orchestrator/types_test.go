package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/entityparser"
)

// Checklist 1.
func TestStatesExactlyEight(t *testing.T) {
	want := []State{"received", "parsing", "enriching", "reasoning", "awaiting_human", "responding", "closed", "failed"}
	assert.Equal(t, want, States())
	for _, s := range want {
		assert.True(t, s.Valid(), s)
	}
	assert.False(t, State("escalated").Valid())
	assert.False(t, State("").Valid())
}

// Checklist 2.
func TestStateTerminal(t *testing.T) {
	assert.Equal(t, StateClosed, State("closed"))
	for _, s := range States() {
		assert.Equal(t, s == StateClosed || s == StateFailed, s.Terminal(), s)
	}
}

// Checklist 3.
func TestAgentRolesExactlySix(t *testing.T) {
	assert.Equal(t, []AgentRole{"ioc_extractor", "context_enricher", "reasoning_agent", "response_agent",
		"ctem_correlator", "atlas_mapper"}, AgentRoles())
}

// Checklist 4.
func TestNewInvestigationDefaults(t *testing.T) {
	inv := NewInvestigation("inv-1")
	assert.Equal(t, StateReceived, inv.State)
	assert.Equal(t, "unknown", inv.RiskState)
	assert.Empty(t, inv.IOCMatches)
	assert.Empty(t, inv.UEBAContext)
	assert.Empty(t, inv.CTEMExposures)
	assert.Empty(t, inv.ATLASTechniques)
	assert.Empty(t, inv.SimilarIncidents)
	assert.Empty(t, inv.PlaybookMatches)
	assert.Empty(t, inv.DecisionChain)
	assert.Empty(t, inv.RecommendedActions)
	assert.Zero(t, inv.LLMCalls)
	assert.Zero(t, inv.TotalCostUSD)
	assert.Zero(t, inv.QueriesExecuted)
	assert.Zero(t, inv.Confidence)
	assert.False(t, inv.RequiresHumanApproval)
	assert.Empty(t, inv.Classification)
}

// Checklist 5 and 7.
func TestInvestigationFieldsReadBack(t *testing.T) {
	inv := NewInvestigation("inv-1")
	inv.State, inv.Severity, inv.Confidence, inv.Classification = StateReasoning, "critical", 0.85, "true_positive"
	inv.LLMCalls, inv.TotalCostUSD = 3, 0.15
	assert.Equal(t, StateReasoning, inv.State)
	assert.Equal(t, "critical", inv.Severity)
	assert.Equal(t, 0.85, inv.Confidence)
	assert.Equal(t, "true_positive", inv.Classification)
	assert.Equal(t, 3, inv.LLMCalls)
	assert.Equal(t, 0.15, inv.TotalCostUSD)

	inv.State = StateParsing
	inv.LLMCalls++
	inv.DecisionChain = append(inv.DecisionChain, NewDecisionEntry("a", "b", t0))
	assert.Equal(t, StateParsing, inv.State)
	assert.Equal(t, 4, inv.LLMCalls)
	assert.Len(t, inv.DecisionChain, 1)
}

// Checklist 6.
func TestInvestigationJSONRoundTrip(t *testing.T) {
	inv := NewInvestigation("inv-1")
	inv.Entities.Hosts = []entityparser.Entity{entity(entityparser.Host, "web-01")}
	inv.DecisionChain = append(inv.DecisionChain, NewDecisionEntry("graph", "start", t0).WithConfidence(0.5))
	inv.IOCMatches = []IOC{{Type: "ip", Value: "10.0.0.1", Intel: map[string]any{"severity": "high"}}}
	inv.CTEMExposures = []Exposure{{ExposureKey: "exp-1", UpdatedAt: t0, Stale: true, SLADeadlineHours: 24}}
	inv.CreatedAt, inv.UpdatedAt = t0, t0
	b, err := json.Marshal(inv)
	require.NoError(t, err)
	got, err := DecodeInvestigation(b)
	require.NoError(t, err)
	assert.Equal(t, "inv-1", got.InvestigationID)
	assert.Equal(t, StateReceived, got.State)
	assert.Equal(t, "web-01", got.Entities.Hosts[0].PrimaryValue)
	assert.Len(t, got.DecisionChain, 1)
	assert.Equal(t, 0.5, *got.DecisionChain[0].Confidence)
	assert.Equal(t, inv.IOCMatches, got.IOCMatches)
	assert.Equal(t, inv.CTEMExposures, got.CTEMExposures)
	// Re-encoding the decoded value gives the same bytes: nothing lost.
	b2, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(b2))

	// Unknown keys are ignored.
	_, err = DecodeInvestigation([]byte(`{"investigation_id":"x","state":"parsing","surprise":1}`))
	assert.NoError(t, err)
}

// Checklist 8.
func TestCaseFactsDefaults(t *testing.T) {
	inv := NewInvestigation("inv-1")
	assert.Empty(t, inv.CaseFacts.Entities)
	assert.Zero(t, inv.CaseFacts.TokenEstimate)
	inv.CaseFacts = CaseFacts{Entities: []string{"host-1"}, TokenEstimate: 50}
	assert.Equal(t, []string{"host-1"}, inv.CaseFacts.Entities)
	assert.Equal(t, 50, inv.CaseFacts.TokenEstimate)
}

// Checklist 9.
func TestDecodeInvalidState(t *testing.T) {
	_, err := DecodeInvestigation([]byte(`{"investigation_id":"x","state":"escalated"}`))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidState)
}

func TestCloneIsDeep(t *testing.T) {
	inv := NewInvestigation("inv-1")
	inv.Entities.Accounts = []entityparser.Entity{{PrimaryValue: "a", Properties: map[string]any{"k": []any{"x"}}}}
	inv.IOCMatches = []IOC{{Type: "ip", Value: "1.2.3.4", Intel: map[string]any{"campaigns": []any{"APT28"}}}}
	inv.DecisionChain = []DecisionEntry{NewDecisionEntry("a", "b", t0).WithConfidence(0.3).WithDetails(map[string]any{"r": []any{"x"}})}
	inv.Embedding = []float32{1, 2}
	c := inv.Clone()
	c.Entities.Accounts[0].Properties["k"].([]any)[0] = "changed"
	c.IOCMatches[0].Intel["campaigns"].([]any)[0] = "changed"
	*c.DecisionChain[0].Confidence = 0.9
	c.DecisionChain[0].Details["r"].([]any)[0] = "changed"
	c.Embedding[0] = 9
	assert.Equal(t, "x", inv.Entities.Accounts[0].Properties["k"].([]any)[0])
	assert.Equal(t, "APT28", inv.IOCMatches[0].Intel["campaigns"].([]any)[0])
	assert.Equal(t, 0.3, *inv.DecisionChain[0].Confidence)
	assert.Equal(t, "x", inv.DecisionChain[0].Details["r"].([]any)[0])
	assert.Equal(t, float32(1), inv.Embedding[0])
	assert.Nil(t, (*Investigation)(nil).Clone())
}

// Checklist 34.
func TestSummaryKeys(t *testing.T) {
	inv := NewInvestigation("inv-1")
	b, err := json.Marshal(inv.Summary())
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"investigation_id", "alert_id", "classification", "confidence", "severity",
		"state", "llm_calls", "total_cost_usd", "requires_human_approval"}, keys)
}

func TestEdgesTable(t *testing.T) {
	ids := map[string]bool{}
	for _, e := range Edges() {
		ids[e.ID] = true
		assert.True(t, CanTransition(e.From, e.To))
	}
	assert.Len(t, ids, 12)
	assert.False(t, CanTransition(StateClosed, StateResponding))
	assert.False(t, CanTransition(StateFailed, StateParsing))
	assert.True(t, CanTransition(StateClosed, StateParsing))
}

// Checklist 10 and 11.
func TestDecisionEntryConfidenceKey(t *testing.T) {
	e := NewDecisionEntry("ioc_extractor", "start", t0)
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "ioc_extractor", m["agent"])
	assert.Equal(t, "start", m["action"])
	assert.Contains(t, m, "timestamp")
	assert.NotContains(t, m, "confidence")

	e = e.WithConfidence(0.85).WithDetails(map[string]any{"key": "value"})
	assert.Equal(t, 0.85, *e.Confidence)
	assert.Equal(t, "value", e.Details["key"])
}

// Checklist 12 and 15.
func TestMemoryRepositorySaveLoad(t *testing.T) {
	ctx := context.Background()
	r := NewMemoryRepository()
	inv := NewInvestigation("inv-1")
	inv.AlertID, inv.TenantID = "a-1", "t-1"
	require.NoError(t, r.Save(ctx, inv))
	got, err := r.Load(ctx, "inv-1")
	require.NoError(t, err)
	assert.Equal(t, "a-1", got.AlertID)
	assert.Equal(t, "t-1", got.TenantID)
	assert.Equal(t, StateReceived, got.State)
	inv.State = StateParsing // the stored copy is independent
	got2, _ := r.Load(ctx, "inv-1")
	assert.Equal(t, StateReceived, got2.State)
	got2.TenantID = "mutated"
	got3, _ := r.Load(ctx, "inv-1")
	assert.Equal(t, "t-1", got3.TenantID)

	require.NoError(t, r.Save(ctx, inv))
	list, err := r.ListByState(ctx, StateParsing, 0)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	none, _ := r.ListByState(ctx, StateReceived, 0)
	assert.Empty(t, none)
}

// Checklist 13.
func TestFileRepositoryPersistsJSON(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, err := OpenFileRepository(dir)
	require.NoError(t, err)
	inv := NewInvestigation("inv-42")
	require.NoError(t, r.Save(ctx, inv))
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	require.Len(t, files, 1)
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var env struct {
		V map[string]any `json:"v"`
	}
	require.NoError(t, json.Unmarshal(raw, &env))
	assert.Equal(t, "inv-42", env.V["investigation_id"])

	// Reopen: the checkpoint survives a restart.
	require.NoError(t, r.Close())
	r2, err := OpenFileRepository(dir)
	require.NoError(t, err)
	got, err := r2.Load(ctx, "inv-42")
	require.NoError(t, err)
	assert.Equal(t, "inv-42", got.InvestigationID)
	_, err = r2.Load(ctx, "nope")
	assert.ErrorIs(t, err, ErrNotFound)
}

// Checklist 14.
func TestLoadUnknown(t *testing.T) {
	_, err := NewMemoryRepository().Load(context.Background(), "nope")
	assert.True(t, errors.Is(err, ErrNotFound))
}

// Checklist 16.
func TestTransitionAppendsOneEntryAndSavesOnce(t *testing.T) {
	repo := &failingRepo{MemoryRepository: NewMemoryRepository()}
	g, err := New(repo, Agents{Reasoner: verdictNode("x", 0, ""), Responder: &countResponder{}}, WithClock(newClock().Now))
	require.NoError(t, err)
	inv := NewInvestigation("inv-1")
	e := NewDecisionEntry("ioc_extractor", "start_ioc_extraction", time.Time{}).WithConfidence(0.9)
	require.NoError(t, g.checkpoint(context.Background(), inv, "full_capability", StateParsing, e, agentActor, nil))
	assert.Equal(t, StateParsing, inv.State)
	require.Len(t, inv.DecisionChain, 1)
	assert.Equal(t, "ioc_extractor", inv.DecisionChain[0].Agent)
	assert.Equal(t, 0.9, *inv.DecisionChain[0].Confidence)
	assert.Equal(t, t0, inv.DecisionChain[0].Timestamp)
	assert.EqualValues(t, 1, repo.saves.Load())

	// An edge outside the table is a TransitionError and saves nothing.
	err = g.checkpoint(context.Background(), inv, "full_capability", StateResponding, e, agentActor, nil)
	assert.ErrorIs(t, err, ErrInvalidTransition)
	assert.EqualValues(t, 1, repo.saves.Load())
	assert.Equal(t, StateParsing, inv.State)
}

// Checklist 17.
func TestListByStateOrderAndLimit(t *testing.T) {
	ctx := context.Background()
	for name, r := range map[string]Repository{"memory": NewMemoryRepository(), "file": mustFileRepo(t)} {
		t.Run(name, func(t *testing.T) {
			none, err := r.ListByState(ctx, StateAwaitingHuman, 10)
			require.NoError(t, err)
			assert.Empty(t, none)
			for i := range 60 {
				inv := NewInvestigation(string(rune('a'+i%26)) + time.Duration(i).String())
				inv.State, inv.UpdatedAt = StateAwaitingHuman, t0.Add(time.Duration(i)*time.Minute)
				require.NoError(t, r.Save(ctx, inv))
			}
			got, err := r.ListByState(ctx, StateAwaitingHuman, 3)
			require.NoError(t, err)
			require.Len(t, got, 3)
			assert.True(t, got[0].UpdatedAt.After(got[1].UpdatedAt))
			assert.Equal(t, t0.Add(59*time.Minute), got[0].UpdatedAt)
			all, _ := r.ListByState(ctx, StateAwaitingHuman, 0)
			assert.Len(t, all, DefaultListLimit)
		})
	}
}

func mustFileRepo(t *testing.T) *FileRepository {
	t.Helper()
	r, err := OpenFileRepository(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestFileRepositoryClosedByPattern(t *testing.T) {
	ctx := context.Background()
	r := mustFileRepo(t)
	mk := func(id, tenant string, st State, class, pattern string) {
		inv := NewInvestigation(id)
		inv.TenantID, inv.State, inv.Classification = tenant, st, class
		inv.DecisionChain = []DecisionEntry{{Agent: ActorFPShortCircuit, Action: "auto_close_fp", PatternID: pattern}}
		require.NoError(t, r.Save(ctx, inv))
	}
	mk("i1", "t1", StateClosed, ClassificationFalsePositive, "p1")
	mk("i2", "t1", StateClosed, ClassificationFalsePositive, "p2")
	mk("i3", "t2", StateClosed, ClassificationFalsePositive, "p1")
	mk("i4", "t1", StateParsing, ClassificationFalsePositive, "p1")
	ids, err := r.ClosedByPattern(ctx, "t1", "p1")
	require.NoError(t, err)
	assert.Equal(t, []string{"i1"}, ids)
}

func TestNaNNeverBreaksACheckpoint(t *testing.T) {
	r := mustFileRepo(t)
	f := newFixture(t, Agents{Reasoner: NodeFunc(func(_ context.Context, inv *Investigation) error {
		nan := 0.0
		nan = nan / nan
		inv.Confidence = nan
		inv.TotalCostUSD = nan
		inv.DecisionChain = append(inv.DecisionChain, NewDecisionEntry("x", "y", t0))
		inv.DecisionChain[len(inv.DecisionChain)-1].Confidence = &nan
		return nil
	})})
	g, err := New(r, f.g.agents, WithClock(f.clk.Now))
	require.NoError(t, err)
	inv, err := g.Run(context.Background(), testAlert())
	require.NoError(t, err)
	// NaN confidence on a high alert is "not confident": a human decides.
	assert.Equal(t, StateAwaitingHuman, inv.State)
	assert.Zero(t, inv.Confidence)
	stored, err := r.Load(context.Background(), inv.InvestigationID)
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingHuman, stored.State)
}
