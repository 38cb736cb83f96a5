package router

import (
	"bytes"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func route(t *testing.T, r *Router, tc TaskContext) Decision {
	t.Helper()
	d, err := r.Route(bg, tc)
	require.NoError(t, err)
	return d
}

func newRouter(t *testing.T, opts ...Option) *Router {
	t.Helper()
	r, err := New(opts...)
	require.NoError(t, err)
	return r
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Checklist 33, 37, 39.
func TestRouteIOCExtraction(t *testing.T) {
	d := route(t, newRouter(t), TaskContext{TaskType: TaskIOCExtraction})
	assert.Equal(t, taxonomy.Tier0, d.Tier)
	assert.Contains(t, d.Model.ModelID, "haiku")
	assert.Equal(t, 2048, d.MaxTokens)
	assert.Equal(t, 0.1, d.Temperature)
	assert.Contains(t, d.Reason, "base=tier_0")
	assert.True(t, d.UsePromptCaching)
	assert.Regexp(t, uuidV4, d.ID)
	assert.Equal(t, []string{ModelGPT4oMini}, d.FallbackModelIDs())
	assert.False(t, d.IsFallback)
	assert.Equal(t, taxonomy.DegradationFullCapability, d.DegradationLevel)
}

// Checklist 34-36.
func TestRouteBaseTiers(t *testing.T) {
	r := newRouter(t)
	d := route(t, r, TaskContext{TaskType: TaskInvestigation})
	assert.Equal(t, taxonomy.Tier1, d.Tier)
	assert.Contains(t, d.Model.ModelID, "sonnet")
	assert.Equal(t, 8192, d.MaxTokens)

	d = route(t, r, TaskContext{TaskType: TaskFPPatternTraining})
	assert.Equal(t, taxonomy.Tier2, d.Tier)
	assert.True(t, d.Model.BatchEligible)
	assert.Equal(t, 16384, d.MaxTokens)
	assert.NotNil(t, d.Fallbacks)
	assert.Empty(t, d.Fallbacks)

	d = route(t, r, TaskContext{TaskType: "unknown_task_xyz"})
	assert.Equal(t, taxonomy.Tier1, d.Tier)
	assert.Equal(t, "base=tier_1", d.Reason)
}

// Checklist 38: without failover the model is the tier's registry entry.
func TestRouteModelIsRegistryEntry(t *testing.T) {
	r, models := newRouter(t), DefaultModels()
	for _, task := range KnownTaskTypes() {
		d := route(t, r, TaskContext{TaskType: task})
		assert.Equal(t, models[d.Tier], d.Model, task)
		base, _ := BaseTier(task)
		assert.Equal(t, base, d.Tier, task)
	}
}

// Checklist 40-42.
func TestRouteTimeBudget(t *testing.T) {
	r := newRouter(t)
	d := route(t, r, TaskContext{TaskType: TaskInvestigation, TimeBudgetSeconds: 2})
	assert.Equal(t, taxonomy.Tier0, d.Tier)
	assert.Contains(t, d.Reason, "time_budget<3s")
	assert.Equal(t, taxonomy.Tier1, route(t, r, TaskContext{TaskType: TaskInvestigation, TimeBudgetSeconds: 3}).Tier)
	assert.Equal(t, taxonomy.Tier0, route(t, r, TaskContext{TaskType: TaskAttackPathAnalysis, TimeBudgetSeconds: 1}).Tier)
}

// Checklist 43-47.
func TestRouteSeverity(t *testing.T) {
	r := newRouter(t)
	assert.Equal(t, taxonomy.Tier1, route(t, r, TaskContext{TaskType: TaskIOCExtraction, AlertSeverity: "critical", RequiresReasoning: true}).Tier)
	assert.Equal(t, taxonomy.Tier0, route(t, r, TaskContext{TaskType: TaskIOCExtraction, AlertSeverity: "critical"}).Tier)
	assert.Equal(t, taxonomy.Tier0, route(t, r, TaskContext{TaskType: TaskIOCExtraction, AlertSeverity: "high", RequiresReasoning: true}).Tier)

	d := route(t, r, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", RequiresReasoning: true})
	assert.Equal(t, taxonomy.Tier1, d.Tier)
	assert.NotContains(t, d.Reason, "critical+reasoning")

	d = route(t, r, TaskContext{TaskType: TaskPlaybookGeneration, AlertSeverity: "critical", RequiresReasoning: true})
	assert.Equal(t, taxonomy.Tier1, d.Tier, "tier_2 has capability rank 0 and is lifted")
	assert.Contains(t, d.Reason, "critical+reasoning→min_tier_1")
}

// Checklist 48-51.
func TestRouteContextSize(t *testing.T) {
	r := newRouter(t)
	d := route(t, r, TaskContext{TaskType: TaskIOCExtraction, ContextTokens: 150000})
	assert.Equal(t, taxonomy.Tier1, d.Tier)
	assert.Contains(t, d.Reason, "context>100k")
	assert.Equal(t, taxonomy.Tier0, route(t, r, TaskContext{TaskType: TaskIOCExtraction, ContextTokens: 100000}).Tier)
	assert.Equal(t, taxonomy.Tier1, route(t, r, TaskContext{TaskType: TaskInvestigation, ContextTokens: 150000}).Tier)
	assert.Equal(t, taxonomy.Tier1, route(t, r, TaskContext{TaskType: TaskIOCExtraction, TimeBudgetSeconds: 1, ContextTokens: 150000}).Tier)
	assert.Equal(t, taxonomy.Tier2, route(t, r, TaskContext{TaskType: TaskFPPatternTraining, ContextTokens: 150000}).Tier)
}

// Checklist 52-58.
func TestRouteEscalation(t *testing.T) {
	r := newRouter(t)
	d := route(t, r, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.4)})
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier)
	assert.True(t, d.UseExtendedThinking)
	assert.Contains(t, d.Reason, "low_confidence_escalation")
	assert.Equal(t, 16384, d.MaxTokens)

	assert.Equal(t, taxonomy.Tier1Plus, route(t, r, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "high", PreviousConfidence: conf(0.3)}).Tier)
	assert.Equal(t, taxonomy.Tier1, route(t, r, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.6)}).Tier)
	assert.Equal(t, taxonomy.Tier1, route(t, r, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "medium", PreviousConfidence: conf(0.3)}).Tier)
	assert.Equal(t, taxonomy.Tier1, route(t, r, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical"}).Tier)
	assert.Equal(t, taxonomy.Tier0, route(t, r, TaskContext{TaskType: TaskInvestigation, TimeBudgetSeconds: 1, AlertSeverity: "critical", RequiresReasoning: true}).Tier)
	assert.Equal(t, taxonomy.Tier1Plus, route(t, r, TaskContext{TaskType: TaskInvestigation, TimeBudgetSeconds: 1, AlertSeverity: "critical", PreviousConfidence: conf(0.3)}).Tier)
}

// Checklist 59: the escalation budget gates Route.
func TestRouteEscalationBudget(t *testing.T) {
	p := DefaultEscalationPolicy()
	p.MaxEscalationsPerHour = 1
	m, err := NewEscalationManager(p, WithClock(at(1000).Now))
	require.NoError(t, err)
	r := newRouter(t, WithEscalationManager(m))
	tc := TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.2)}
	assert.Equal(t, taxonomy.Tier1Plus, route(t, r, tc).Tier)
	assert.Equal(t, taxonomy.Tier1, route(t, r, tc).Tier)
	assert.Equal(t, 1, m.EscalationsThisHour())
}

// Checklist 60.
func TestRouteFailover(t *testing.T) {
	h := fakeHealth{down: map[Provider]bool{ProviderAnthropic: true}, level: taxonomy.DegradationSecondaryActive}
	d := route(t, newRouter(t, WithHealth(h)), TaskContext{TaskType: TaskIOCExtraction})
	assert.Equal(t, ModelGPT4oMini, d.Model.ModelID)
	assert.True(t, d.IsFallback)
	assert.Empty(t, d.Fallbacks)
	assert.Equal(t, taxonomy.Tier0, d.Tier)
	assert.Equal(t, 2048, d.MaxTokens)
	assert.Equal(t, 0.1, d.Temperature)
	assert.Contains(t, d.Reason, "primary_unavailable→fallback(openai)")
	assert.Contains(t, d.Reason, "degradation=secondary_active")
	assert.Equal(t, taxonomy.DegradationSecondaryActive, d.DegradationLevel)
}

// Checklist 61: both down keeps the primary and warns.
func TestRouteBothDown(t *testing.T) {
	var logs bytes.Buffer
	h := fakeHealth{down: map[Provider]bool{ProviderAnthropic: true, ProviderOpenAI: true}, level: taxonomy.DegradationDeterministicOnly}
	r := newRouter(t, WithHealth(h), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	d := route(t, r, TaskContext{TaskType: TaskInvestigation})
	assert.Equal(t, ModelSonnet, d.Model.ModelID)
	assert.Equal(t, ProviderAnthropic, d.Model.Provider)
	assert.False(t, d.IsFallback)
	assert.Equal(t, []string{ModelGPT4o}, d.FallbackModelIDs())
	assert.Equal(t, taxonomy.DegradationDeterministicOnly, d.DegradationLevel)
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "provider=anthropic")
	assert.Contains(t, logs.String(), "tier=tier_1")
}

// Checklist 62.
func TestRouteTier2NoFallback(t *testing.T) {
	h := fakeHealth{down: map[Provider]bool{ProviderAnthropic: true}}
	d := route(t, newRouter(t, WithHealth(h)), TaskContext{TaskType: TaskFPPatternTraining})
	assert.Equal(t, DefaultModels()[taxonomy.Tier2], d.Model)
	assert.False(t, d.IsFallback)
}

// Checklist 63: failover drops extended thinking the fallback cannot honour.
func TestRouteFailoverDropsThinking(t *testing.T) {
	h := fakeHealth{down: map[Provider]bool{ProviderAnthropic: true}}
	d := route(t, newRouter(t, WithHealth(h)), TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.3)})
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier)
	assert.Equal(t, ModelGPT4o, d.Model.ModelID)
	assert.False(t, d.UseExtendedThinking)
}

// Checklist 64 (issue 5): fallbacks too small for the prompt are never kept,
// and never chosen.
func TestRouteFallbackRespectsContext(t *testing.T) {
	tc := TaskContext{TaskType: TaskInvestigation, ContextTokens: 130000, AlertSeverity: "critical", PreviousConfidence: conf(0.3)}
	d := route(t, newRouter(t), tc)
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier)
	assert.Empty(t, d.Fallbacks, "gpt-4o has 128k context")

	rec := &recorder{}
	h := fakeHealth{down: map[Provider]bool{ProviderAnthropic: true}}
	d = route(t, newRouter(t, WithHealth(h), WithAuditProducer(rec)), TaskContext{TaskType: TaskIOCExtraction, ContextTokens: 150000})
	assert.Equal(t, ProviderAnthropic, d.Model.Provider, "150k tokens never go to a 128k model")
	assert.False(t, d.IsFallback)
	fo := rec.byType(taxonomy.RoutingProviderFailover)
	require.Len(t, fo, 1)
	assert.Equal(t, "failed", fo[0].Outcome["outcome_status"])

	// Exactly the window fits.
	d = route(t, newRouter(t, WithHealth(h)), TaskContext{TaskType: TaskInvestigation, ContextTokens: 128000})
	assert.Equal(t, ModelGPT4o, d.Model.ModelID)
}

// A primary whose own window cannot hold the prompt is replaced by a
// fallback that can, when one exists.
func TestRoutePrimaryTooSmall(t *testing.T) {
	c := DefaultCatalog()
	small := NewModelConfig(ProviderLocal, "small", 32000, 0, 0)
	c.Models[taxonomy.Tier1] = small
	c.Fallbacks[taxonomy.Tier1] = []ModelConfig{NewModelConfig(ProviderAnthropic, ModelSonnet, 200000, 3, 15)}
	rec := &recorder{}
	r := newRouter(t, WithCatalog(c), WithAuditProducer(rec))
	d := route(t, r, TaskContext{TaskType: "triage", ContextTokens: 50000})
	assert.Equal(t, ModelSonnet, d.Model.ModelID)
	assert.True(t, d.IsFallback)
	assert.Contains(t, d.Reason, "context>window→fallback(anthropic)")
	assert.Empty(t, rec.byType(taxonomy.RoutingProviderFailover), "not a provider outage")

	d = route(t, r, TaskContext{TaskType: "triage", ContextTokens: 250000})
	assert.Equal(t, "small", d.Model.ModelID)
	assert.Contains(t, d.Reason, "context_exceeds_window")

	d = route(t, r, TaskContext{TaskType: "triage", ContextTokens: 1000})
	assert.Equal(t, "small", d.Model.ModelID)
}

type selection struct {
	p        Provider
	t        taxonomy.ModelTier
	fallback bool
}

type selectionSpy struct {
	mu    sync.Mutex
	calls []selection
}

func (s *selectionSpy) RecordProviderSelection(p Provider, t taxonomy.ModelTier, fb bool) {
	s.mu.Lock()
	s.calls = append(s.calls, selection{p, t, fb})
	s.mu.Unlock()
}

// Checklist 65.
func TestRouteSelectionRecorder(t *testing.T) {
	spy := &selectionSpy{}
	h := fakeHealth{down: map[Provider]bool{ProviderAnthropic: true}}
	route(t, newRouter(t, WithHealth(h), WithSelectionRecorder(spy)), TaskContext{TaskType: TaskIOCExtraction})
	assert.Equal(t, []selection{{ProviderOpenAI, taxonomy.Tier0, true}}, spy.calls)

	spy2 := &selectionSpy{}
	route(t, newRouter(t, WithSelectionRecorder(spy2)), TaskContext{TaskType: TaskInvestigation})
	assert.Equal(t, []selection{{ProviderAnthropic, taxonomy.Tier1, false}}, spy2.calls)

	m := NewMetrics()
	route(t, newRouter(t, WithSelectionRecorder(m)), TaskContext{TaskType: TaskInvestigation})
	assert.Equal(t, []ProviderSelection{{ProviderAnthropic, taxonomy.Tier1, 1, 0}}, m.ProviderSelections())
}

// With a real registry, a half-open primary is probed by exactly one route;
// the others fail over until the probe reports.
func TestRouteHalfOpenSingleProbe(t *testing.T) {
	clk := at(100)
	h, err := NewHealthRegistry(WithClock(clk.Now))
	require.NoError(t, err)
	for range 5 {
		h.RecordFailure(ProviderAnthropic)
	}
	r := newRouter(t, WithHealth(h))
	tc := TaskContext{TaskType: TaskInvestigation}
	d := route(t, r, tc)
	assert.True(t, d.IsFallback)
	assert.False(t, d.HealthProbe)

	clk.Advance(31 * time.Second)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		probes []Decision
		fb     int
	)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := r.Route(bg, tc)
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			if d.IsFallback {
				fb++
			} else {
				probes = append(probes, d)
			}
		}()
	}
	wg.Wait()
	require.Len(t, probes, 1)
	assert.Equal(t, 31, fb)
	assert.True(t, probes[0].HealthProbe)
	assert.Equal(t, ProviderAnthropic, probes[0].Model.Provider)
	assert.Equal(t, taxonomy.DegradationSecondaryActive, probes[0].DegradationLevel, "half-open is not recovered yet")

	h.RecordSuccess(ProviderAnthropic)
	d = route(t, r, tc)
	assert.False(t, d.IsFallback)
	assert.False(t, d.HealthProbe)
	assert.Equal(t, taxonomy.DegradationFullCapability, d.DegradationLevel)
}

// 10k concurrent routes under -race, sharing a registry, metrics, an
// escalation manager and a producer.
func TestRouteConcurrent10k(t *testing.T) {
	clk := at(0)
	h, _ := NewHealthRegistry(WithClock(clk.Now))
	m := NewMetrics()
	esc, _ := NewEscalationManager(DefaultEscalationPolicy(), WithClock(clk.Now))
	rec := &recorder{}
	r := newRouter(t, WithHealth(h), WithSelectionRecorder(m), WithEscalationManager(esc), WithAuditProducer(rec))
	const n = 10000
	tasks := KnownTaskTypes()
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%97 == 0 {
				h.RecordFailure(ProviderAnthropic)
			}
			if i%89 == 0 {
				h.RecordSuccess(ProviderAnthropic)
			}
			tc := TaskContext{TaskType: tasks[i%len(tasks)], AlertSeverity: "high", TenantID: "t"}
			if i%3 == 0 {
				tc.PreviousConfidence = conf(0.1)
			}
			d, err := r.Route(bg, tc)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = d.ID
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		require.False(t, seen[id], "duplicate decision id")
		seen[id] = true
	}
	total := 0
	for _, s := range m.ProviderSelections() {
		total += s.Total
	}
	assert.Equal(t, n, total)
	assert.Len(t, rec.byType(taxonomy.RoutingTierSelected), n)
	assert.LessOrEqual(t, esc.EscalationsThisHour(), DefaultMaxEscalationsPerHour)
}
