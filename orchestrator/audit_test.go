package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// edgePath is one path through the graph: how to build the graph, how to
// drive it, and the exact event sequence it must produce.
type edgePath struct {
	name  string
	edges []string
	build func(t *testing.T, p audit.Producer) (*Graph, *MemoryRepository)
	drive func(t *testing.T, g *Graph, repo *MemoryRepository) *Investigation
	want  []string
}

func pathGraph(t *testing.T, p audit.Producer, repo Repository, agents Agents, opts ...Option) *Graph {
	t.Helper()
	if agents.Reasoner == nil {
		agents.Reasoner = verdictNode(ClassificationTruePositive, 0.85, "", Action{Action: "monitor", Target: "web-01"})
	}
	if agents.Responder == nil {
		agents.Responder = &countResponder{}
	}
	base := []Option{WithAuditProducer(p), WithClock(newClock().Now), WithIDGenerator(seqIDs("inv"))}
	g, err := New(repo, agents, append(base, opts...)...)
	require.NoError(t, err)
	return g
}

func runAlert(t *testing.T, g *Graph) *Investigation {
	t.Helper()
	inv, err := g.Run(ctxb, testAlert())
	require.NoError(t, err)
	return inv
}

func lowConf() Agents {
	return Agents{Reasoner: verdictNode(ClassificationSuspicious, 0.4, "critical", Action{Action: "disable_account", Target: "bob"})}
}

var prefixToReasoning = []string{"received>parsing", "parsing>enriching", "investigation.enriched", "enriching>reasoning", "alert.classified"}

func withPrefix(rest ...string) []string {
	return append(append([]string{}, prefixToReasoning...), rest...)
}

func edgePaths() []edgePath {
	memBuild := func(agents func() Agents, opts ...Option) func(t *testing.T, p audit.Producer) (*Graph, *MemoryRepository) {
		return func(t *testing.T, p audit.Producer) (*Graph, *MemoryRepository) {
			repo := NewMemoryRepository()
			return pathGraph(t, p, repo, agents(), opts...), repo
		}
	}
	none := func() Agents { return Agents{} }
	resume := func(d HumanDecision) func(t *testing.T, g *Graph, repo *MemoryRepository) *Investigation {
		return func(t *testing.T, g *Graph, _ *MemoryRepository) *Investigation {
			inv := runAlert(t, g)
			require.Equal(t, StateAwaitingHuman, inv.State)
			out, err := g.Resume(ctxb, inv.InvestigationID, d)
			require.NoError(t, err)
			return out
		}
	}
	fpMatch := func() FPChecker {
		return &fixedFP{m: FPMatch{Matched: true, PatternID: "fp-1", Confidence: 0.95, Threshold: 0.9, PatternsChecked: 1, Queries: 2}}
	}
	failWhen := func(st State) func(t *testing.T, p audit.Producer) (*Graph, *MemoryRepository) {
		return func(t *testing.T, p audit.Producer) (*Graph, *MemoryRepository) {
			mem := NewMemoryRepository()
			repo := &failingRepo{MemoryRepository: mem, fail: func(inv *Investigation) bool { return inv.State == st }}
			return pathGraph(t, p, repo, lowConf()), mem
		}
	}
	runExpectErr := func(t *testing.T, g *Graph, repo *MemoryRepository) *Investigation {
		inv, err := g.Run(ctxb, testAlert())
		require.ErrorIs(t, err, errDisk)
		return inv
	}
	return []edgePath{
		{name: "happy", edges: []string{"E1", "E3", "E4", "E6", "E7"}, build: memBuild(none),
			drive: func(t *testing.T, g *Graph, _ *MemoryRepository) *Investigation { return runAlert(t, g) },
			want:  withPrefix("reasoning>responding", "responding>closed")},
		{name: "fp close", edges: []string{"E1", "E2"},
			build: memBuild(none, WithFPShortCircuit(fpMatch())),
			drive: func(t *testing.T, g *Graph, _ *MemoryRepository) *Investigation { return runAlert(t, g) },
			want:  []string{"received>parsing", "parsing>closed", "alert.short_circuited", "alert.auto_closed"}},
		{name: "escalate", edges: []string{"E5"}, build: memBuild(lowConf),
			drive: func(t *testing.T, g *Graph, _ *MemoryRepository) *Investigation { return runAlert(t, g) },
			want:  withPrefix("reasoning>awaiting_human", "alert.escalated")},
		{name: "approve", edges: []string{"E8", "E7"}, build: memBuild(lowConf),
			drive: resume(HumanDecision{Verdict: VerdictApprove, Approver: "alice"}),
			want:  withPrefix("reasoning>awaiting_human", "alert.escalated", "awaiting_human>responding", "responding>closed")},
		{name: "deny", edges: []string{"E9"}, build: memBuild(lowConf),
			drive: resume(HumanDecision{Verdict: VerdictDeny, Approver: "alice"}),
			want:  withPrefix("reasoning>awaiting_human", "alert.escalated", "awaiting_human>closed")},
		{name: "timeout medium", edges: []string{"E10"},
			build: memBuild(func() Agents {
				return Agents{Reasoner: verdictNode(ClassificationSuspicious, 0.9, "medium", Action{Action: "x", Tier: 2})}
			}),
			drive: resume(HumanDecision{Verdict: VerdictTimeout}),
			want:  withPrefix("reasoning>awaiting_human", "alert.escalated", "awaiting_human>closed")},
		{name: "timeout critical", edges: nil, build: memBuild(lowConf),
			drive: resume(HumanDecision{Verdict: VerdictTimeout}),
			want:  withPrefix("reasoning>awaiting_human", "alert.escalated", "approval.escalated")},
		{name: "fail from received", edges: []string{"E11"}, build: failWhen(StateParsing), drive: runExpectErr,
			want: []string{"received>failed"}},
		{name: "fail from parsing", edges: []string{"E11"}, build: failWhen(StateEnriching), drive: runExpectErr,
			want: []string{"received>parsing", "parsing>failed"}},
		{name: "fail from enriching", edges: []string{"E11"}, build: failWhen(StateReasoning), drive: runExpectErr,
			want: []string{"received>parsing", "parsing>enriching", "enriching>failed"}},
		{name: "fail from reasoning", edges: []string{"E11"}, build: memBuild(func() Agents {
			return Agents{Reasoner: NodeFunc(func(context.Context, *Investigation) error { return errors.New("llm down") })}
		}), drive: func(t *testing.T, g *Graph, _ *MemoryRepository) *Investigation { return runAlert(t, g) },
			want: []string{"received>parsing", "parsing>enriching", "investigation.enriched", "enriching>reasoning", "reasoning>failed"}},
		{name: "fail from awaiting_human", edges: []string{"E11"}, build: failWhen(StateResponding),
			drive: func(t *testing.T, g *Graph, _ *MemoryRepository) *Investigation {
				inv := runAlert(t, g)
				out, err := g.Resume(ctxb, inv.InvestigationID, HumanDecision{Verdict: VerdictApprove, Approver: "alice"})
				require.ErrorIs(t, err, errDisk)
				return out
			},
			want: withPrefix("reasoning>awaiting_human", "alert.escalated", "awaiting_human>failed")},
		{name: "fail from responding", edges: []string{"E11"}, build: func(t *testing.T, p audit.Producer) (*Graph, *MemoryRepository) {
			repo := NewMemoryRepository()
			return pathGraph(t, p, repo, Agents{Responder: &countResponder{err: errors.New("EDR down")}}), repo
		}, drive: func(t *testing.T, g *Graph, _ *MemoryRepository) *Investigation { return runAlert(t, g) },
			want: withPrefix("reasoning>responding", "responding>failed")},
		{name: "reopen", edges: []string{"E12"},
			build: memBuild(none, WithFPShortCircuit(fpMatch())),
			drive: func(t *testing.T, g *Graph, _ *MemoryRepository) *Investigation {
				inv := runAlert(t, g)
				out, err := g.Reopen(ctxb, inv.InvestigationID, "fp-1", Actor{Type: taxonomy.ActorHuman, ID: "carol"})
				require.NoError(t, err)
				return out
			},
			want: []string{"received>parsing", "parsing>closed", "alert.short_circuited", "alert.auto_closed", "closed>parsing"}},
	}
}

// TestEveryEdgeEventSequence drives every edge E1–E12 (E11 from each
// non-terminal state) and asserts the exact event sequence of each path.
func TestEveryEdgeEventSequence(t *testing.T) {
	covered := map[string]bool{}
	for _, p := range edgePaths() {
		t.Run(p.name, func(t *testing.T) {
			rec := &recProducer{}
			g, repo := p.build(t, rec)
			inv := p.drive(t, g, repo)
			require.NotNil(t, inv)
			assert.Equal(t, p.want, seq(rec.all()))
			for _, e := range p.edges {
				covered[e] = true
			}
			for _, ev := range rec.all() {
				assert.Equal(t, "t-001", ev.TenantID)
				assert.Equal(t, inv.InvestigationID, ev.InvestigationID)
				assert.Equal(t, "alert-1", ev.AlertID)
				assert.Equal(t, "full_capability", ev.Context[audit.KeyDegradationLevel])
				assert.True(t, audit.ValidUUID(ev.AuditID))
				if ev.Type == taxonomy.InvestigationStateChanged {
					assert.Equal(t, ev.Outcome[audit.KeyStateBefore], ev.Context[KeyFromState])
					assert.Equal(t, ev.Outcome[audit.KeyStateAfter], ev.Context[KeyToState])
					assert.NotEmpty(t, ev.Decision[audit.KeyReasoningSummary])
					assert.Contains(t, ev.Outcome, audit.KeyCostIncurredUSD)
				}
			}
		})
	}
	for i := 1; i <= 12; i++ {
		assert.True(t, covered[fmt.Sprintf("E%d", i)], "edge E%d not driven", i)
	}
}

// Checklist 207, 209.
func TestHappyPathStateChangedFields(t *testing.T) {
	f := newFixture(t, Agents{})
	_, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	sc := f.rec.byType(taxonomy.InvestigationStateChanged)
	require.Len(t, sc, 5)
	wantEdges := [][2]string{{"received", "parsing"}, {"parsing", "enriching"}, {"enriching", "reasoning"},
		{"reasoning", "responding"}, {"responding", "closed"}}
	for i, e := range sc {
		assert.Equal(t, wantEdges[i][0], e.Outcome[audit.KeyStateBefore])
		assert.Equal(t, wantEdges[i][1], e.Outcome[audit.KeyStateAfter])
		assert.Equal(t, "success", e.Outcome[audit.KeyOutcomeStatus])
		assert.Equal(t, taxonomy.ActorAgent, e.ActorType)
		assert.Equal(t, ActorOrchestrator, e.ActorID)
		assert.Equal(t, taxonomy.SeverityInfo, e.Severity)
	}
	en := f.rec.byType(taxonomy.InvestigationEnriched)
	require.Len(t, en, 1)
	assert.Equal(t, "unknown", en[0].Context[audit.KeyRiskState])
	assert.Equal(t, 0, en[0].Context[audit.KeyCTEMExposuresMatched])
	cl := f.rec.byType(taxonomy.AlertClassified)
	require.Len(t, cl, 1)
	assert.Equal(t, "classify", cl[0].Decision[audit.KeyDecisionType])
	assert.Equal(t, "true_positive", cl[0].Decision[audit.KeyClassification])
	assert.Equal(t, []string{"monitor"}, cl[0].Decision[audit.KeyRecommendedActions])
	assert.Equal(t, []string{"jsmith@example.com", "web-01", "10.0.0.1"}, cl[0].EntityIDs)
}

// Checklist 208.
func TestFPPathEvents(t *testing.T) {
	f := newFixture(t, Agents{}, WithFPShortCircuit(&fixedFP{m: FPMatch{Matched: true, PatternID: "fp-1", Confidence: 0.95, Threshold: 0.9, PatternsChecked: 3, Queries: 4}}))
	_, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	evs := f.rec.all()
	require.Equal(t, []string{"received>parsing", "parsing>closed", "alert.short_circuited", "alert.auto_closed"}, seq(evs))
	sc, ac := evs[2], evs[3]
	assert.Equal(t, "fp-1", ac.Context[audit.KeyFPPatternMatched])
	assert.Equal(t, 0.95, ac.Decision[audit.KeyConfidence])
	assert.Equal(t, "auto_close", ac.Decision[audit.KeyDecisionType])
	assert.Equal(t, ActorFPShortCircuit, ac.ActorID)
	assert.Equal(t, "fp-1", ac.Context[KeyPatternID])
	assert.Equal(t, "short_circuit", sc.Decision[audit.KeyDecisionType])
	assert.Equal(t, "fp_pattern:fp-1 threshold 0.9", sc.Decision[audit.KeyConfidenceBasis])
	assert.Equal(t, 3, sc.Context[audit.KeyFPPatternsChecked])
	assert.Equal(t, "parsing", sc.Outcome[audit.KeyStateBefore])
	assert.Equal(t, "closed", sc.Outcome[audit.KeyStateAfter])
}

// Checklist 210.
func TestEscalatedEvent(t *testing.T) {
	f := newFixture(t, lowConf())
	_, err := f.g.Run(ctxb, testAlert())
	require.NoError(t, err)
	esc := f.rec.byType(taxonomy.AlertEscalated)
	require.Len(t, esc, 1)
	assert.Equal(t, "awaiting_human", esc[0].Outcome[audit.KeyStateAfter])
	assert.Equal(t, "pending_approval", esc[0].Outcome[audit.KeyOutcomeStatus])
	assert.Equal(t, "low_confidence_high_severity", esc[0].Decision[audit.KeyReasoningSummary])
	assert.Equal(t, []string{"low_confidence_high_severity"}, esc[0].Decision[audit.KeyConstraintsApplied])
	assert.Equal(t, "critical", esc[0].Decision[audit.KeySeverityAssigned])
}

// stripped is what must not depend on audit: state, the decision chain
// without timestamps, counters and verdict.
func stripped(inv *Investigation) string {
	var chain []string
	for _, e := range inv.DecisionChain {
		c := ""
		if e.Confidence != nil {
			c = fmt.Sprint(*e.Confidence)
		}
		chain = append(chain, fmt.Sprint(e.Step, "|", e.Agent, "|", e.Action, "|", e.PatternID, "|", e.Error, "|", c, "|", e.Reasoning))
	}
	return fmt.Sprint(inv.InvestigationID, inv.State, inv.Classification, inv.Confidence, inv.Severity, inv.LLMCalls,
		inv.TotalCostUSD, inv.QueriesExecuted, inv.RequiresHumanApproval, inv.EscalationReasons, inv.ApprovalID,
		inv.ShadowMode, len(inv.ActionResults), chain)
}

// Checklist 211: nil producer, identical results on every path.
func TestNilProducerIdenticalOnEveryPath(t *testing.T) {
	for _, p := range edgePaths() {
		t.Run(p.name, func(t *testing.T) {
			g1, r1 := p.build(t, &recProducer{})
			with := p.drive(t, g1, r1)
			g2, r2 := p.build(t, nil)
			without := p.drive(t, g2, r2)
			assert.Equal(t, stripped(with), stripped(without))
			s1, _ := r1.Load(ctxb, with.InvestigationID)
			s2, _ := r2.Load(ctxb, without.InvestigationID)
			if s1 != nil || s2 != nil {
				require.NotNil(t, s1)
				require.NotNil(t, s2)
				assert.Equal(t, stripped(s1), stripped(s2))
			}
		})
	}
}

// Checklist 212.
func TestPanickingProducer(t *testing.T) {
	rec := &recProducer{panic: true}
	g := pathGraph(t, rec, NewMemoryRepository(), Agents{})
	inv, err := g.Run(ctxb, testAlert())
	require.NoError(t, err)
	assert.Equal(t, StateClosed, inv.State)
	assert.Equal(t, uint64(7), g.AuditPanics())
}

// Checklist 216.
func TestEveryEventTypeInTaxonomy(t *testing.T) {
	rec := &recProducer{}
	for _, p := range edgePaths() {
		g, repo := p.build(t, rec)
		p.drive(t, g, repo)
	}
	ks, _ := NewKillSwitches(NewMemoryKillSwitches(), WithAuditProducer(rec))
	require.NoError(t, ks.Activate(ctxb, DimensionTenant, "t-1", Actor{ID: "a"}, "r"))
	require.NoError(t, ks.Deactivate(ctxb, DimensionTenant, "t-1", Actor{ID: "a"}, "r"))
	sm, _ := NewShadowMode(NewMemoryTenantConfigs(), NewMemoryShadowLog(), WithAuditProducer(rec))
	require.NoError(t, sm.RecordShadowDecision(ctxb, "t-1", "rf", "fp", 0.9, "i"))
	require.NoError(t, sm.GoLive(ctxb, "t-1", "ciso", "2026-03-01"))
	seen := map[taxonomy.EventType]bool{}
	for _, e := range rec.all() {
		seen[e.Type] = true
		assert.NotEmpty(t, e.Type.Category(), e.Type)
		assert.True(t, e.ActorType.Valid(), e.Type)
		assert.NotEmpty(t, e.TenantID, e.Type)
		assert.NotEmpty(t, e.ActorID, e.Type)
	}
	for _, want := range []taxonomy.EventType{taxonomy.InvestigationStateChanged, taxonomy.InvestigationEnriched,
		taxonomy.AlertClassified, taxonomy.AlertShortCircuited, taxonomy.AlertAutoClosed, taxonomy.AlertEscalated,
		taxonomy.ApprovalEscalated, taxonomy.KillSwitchActivated, taxonomy.KillSwitchDeactivated,
		taxonomy.ShadowDecisionLogged, taxonomy.ShadowGoLiveApproved} {
		assert.True(t, seen[want], want)
	}
}

// The real Emitter: events encode, carry the graph's ids and decode back.
func TestEventsThroughAuditEmitter(t *testing.T) {
	rec := audit.NewRecorder()
	em, err := audit.New(rec, audit.WithSourceService("orchestrator"))
	require.NoError(t, err)
	f := newFixture(t, Agents{}, WithFPShortCircuit(&fixedFP{m: FPMatch{Matched: true, PatternID: "fp-1", Confidence: 0.95, Threshold: 0.9}}))
	g := pathGraph(t, em, f.repo, Agents{}, WithFPShortCircuit(&fixedFP{m: FPMatch{Matched: true, PatternID: "fp-1", Confidence: 0.95, Threshold: 0.9}}))
	inv, err := g.Run(ctxb, testAlert())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(ctxb, 10*time.Second)
	defer cancel()
	require.NoError(t, em.Flush(ctx))
	recs := rec.Records()
	require.Len(t, recs, 4)
	var types []string
	for _, r := range recs {
		types = append(types, string(r.EventType))
		assert.Equal(t, inv.InvestigationID, r.InvestigationID)
		assert.Equal(t, "t-001", r.TenantID)
	}
	assert.Equal(t, []string{"investigation.state_changed", "investigation.state_changed", "alert.short_circuited", "alert.auto_closed"}, types)
	assert.Equal(t, "closed", recs[1].Outcome[audit.KeyStateAfter])
	assert.Equal(t, "fp-1", recs[3].Context[audit.KeyFPPatternMatched])
	assert.Equal(t, eventAuditID(inv.InvestigationID, 1), recs[0].AuditID)
	require.NoError(t, em.Close(ctx))
}

// Checklist 217.
func TestConcurrentRunsEventsOrderedPerInvestigation(t *testing.T) {
	rec := &recProducer{}
	g := pathGraph(t, rec, NewMemoryRepository(), Agents{
		ContextEnricher: NodeFunc(func(_ context.Context, inv *Investigation) error { inv.QueriesExecuted++; return nil }),
		CTEMCorrelator:  NodeFunc(func(_ context.Context, inv *Investigation) error { inv.QueriesExecuted++; return nil }),
	})
	const n = 200
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := testAlert()
			if i%3 == 0 {
				a.Severity = "critical"
			}
			inv, err := g.Run(ctxb, a)
			errs[i] = err
			if inv != nil {
				ids[i] = inv.InvestigationID
				if inv.QueriesExecuted != 2 {
					errs[i] = fmt.Errorf("queries %d", inv.QueriesExecuted)
				}
			}
		}()
	}
	wg.Wait()
	want := withPrefix("reasoning>responding", "responding>closed")
	seen := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		require.False(t, seen[ids[i]])
		seen[ids[i]] = true
		assert.Equal(t, want, seq(rec.forInv(ids[i])), ids[i])
	}
}

func TestPassthrough(t *testing.T) {
	rec := &recProducer{}
	deg := DegradationFunc(func(context.Context, string) (taxonomy.DegradationLevel, error) {
		return taxonomy.DegradationPassthrough, nil
	})
	repo := NewMemoryRepository()
	g := pathGraph(t, rec, repo, Agents{}, WithDegradation(deg))
	inv, err := g.Run(ctxb, testAlert())
	assert.ErrorIs(t, err, ErrPassthrough)
	assert.Nil(t, inv)
	list, _ := repo.ListByState(ctxb, StateReceived, 0)
	assert.Empty(t, list)
	esc := rec.byType(taxonomy.AlertEscalated)
	require.Len(t, esc, 1)
	assert.Equal(t, "passthrough", esc[0].Context[audit.KeyDegradationLevel])
	assert.Equal(t, "alert-1", esc[0].AlertID)
}
