package router

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var anthropicDown = fakeHealth{down: map[Provider]bool{ProviderAnthropic: true}, level: taxonomy.DegradationSecondaryActive}

// Checklist 151 (issue 5: the real tenant; empty stays "unknown").
func TestAuditFailoverEvent(t *testing.T) {
	rec := &recorder{}
	r := newRouter(t, WithHealth(anthropicDown), WithAuditProducer(rec))
	d := route(t, r, TaskContext{TaskType: TaskIOCExtraction})
	fo := rec.byType(taxonomy.RoutingProviderFailover)
	require.Len(t, fo, 1)
	e := fo[0]
	assert.Equal(t, UnknownTenantID, e.TenantID)
	assert.Equal(t, taxonomy.SeverityWarning, e.Severity)
	assert.Equal(t, taxonomy.ActorSystem, e.ActorType)
	assert.Equal(t, ActorID, e.ActorID)
	assert.Equal(t, audit.Fields{
		"primary_provider": "anthropic", "fallback_provider": "openai", "task_type": "ioc_extraction",
		"primary_model_id": ModelHaiku, "fallback_model_id": ModelGPT4oMini, "llm_model_tier": "tier_0",
		"routing_decision_id": d.ID, "degradation_level": "secondary_active",
	}, e.Context)
	assert.Equal(t, audit.Fields{
		"decision_type":           "failover",
		"reasoning_summary":       "primary provider anthropic unavailable; using openai/" + ModelGPT4oMini,
		"alternatives_considered": []string{},
	}, e.Decision)
	assert.Equal(t, audit.Fields{"outcome_status": "success"}, e.Outcome)
	assert.Equal(t, []taxonomy.EventType{taxonomy.RoutingProviderFailover, taxonomy.RoutingTierSelected}, rec.types(),
		"failover before tier_selected")

	rec.reset()
	route(t, r, TaskContext{TaskType: TaskIOCExtraction, TenantID: "acme", InvestigationID: "inv-9", AlertID: "al-3"})
	e = rec.byType(taxonomy.RoutingProviderFailover)[0]
	assert.Equal(t, "acme", e.TenantID)
	assert.Equal(t, "inv-9", e.InvestigationID)
	assert.Equal(t, "al-3", e.AlertID)
}

// Checklist 152.
func TestAuditNoFailoverWhenHealthy(t *testing.T) {
	rec := &recorder{}
	r := newRouter(t, WithHealth(fakeHealth{}), WithAuditProducer(rec))
	route(t, r, TaskContext{TaskType: TaskIOCExtraction})
	assert.Empty(t, rec.byType(taxonomy.RoutingProviderFailover))
	assert.Len(t, rec.byType(taxonomy.RoutingTierSelected), 1)
}

// Checklist 153, 154 and the HELPERS rule: a nil producer, a recording one
// and a panicking one give identical decisions (ids aside), for every rule.
func TestAuditNilProducerIdentical(t *testing.T) {
	cases := []TaskContext{
		{TaskType: TaskIOCExtraction},
		{TaskType: TaskInvestigation, TimeBudgetSeconds: 2},
		{TaskType: TaskPlaybookGeneration, AlertSeverity: "critical", RequiresReasoning: true},
		{TaskType: TaskIOCExtraction, ContextTokens: 150000},
		{TaskType: TaskInvestigation, AlertSeverity: "high", PreviousConfidence: conf(0.2), ContextTokens: 130000},
		{TaskType: "custom", TenantID: "t"},
		{TaskType: TaskIOCExtraction, MinTier: taxonomy.Tier1},
		{TaskType: TaskIOCExtraction, AlertSeverity: "high", PreviousConfidence: conf(0.9), MinTier: taxonomy.Tier1Plus, ContextTokens: 130000},
	}
	for _, health := range []HealthChecker{nil, anthropicDown, fakeHealth{down: map[Provider]bool{ProviderAnthropic: true, ProviderOpenAI: true}}} {
		base := []Option{}
		if health != nil {
			base = append(base, WithHealth(health))
		}
		plain := newRouter(t, base...)
		withRec := newRouter(t, append(base, WithAuditProducer(&recorder{}))...)
		var logs bytes.Buffer
		panicky := newRouter(t, append(base, WithAuditProducer(panicProducer{}), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
		for _, tc := range cases {
			want := route(t, plain, tc)
			for _, r := range []*Router{withRec, panicky} {
				got, err := r.Route(bg, tc)
				require.NoError(t, err)
				want.ID, got.ID = "", ""
				assert.Equal(t, want, got, "%+v", tc)
			}
		}
		assert.Contains(t, logs.String(), "audit producer panicked")
	}
}

// Checklist 155: routing.tier_selected for the decision.
func TestAuditTierSelected(t *testing.T) {
	rec := &recorder{}
	h, _ := NewHealthRegistry()
	h.RecordFailure(ProviderOpenAI)
	r := newRouter(t, WithHealth(h), WithAuditProducer(rec))
	d := route(t, r, TaskContext{TaskType: TaskInvestigation, TenantID: "t1", InvestigationID: "inv-1", AlertID: "a-1",
		ContextTokens: 5000, AlertSeverity: "High", PreviousConfidence: conf(0.7)})
	sel := rec.byType(taxonomy.RoutingTierSelected)
	require.Len(t, sel, 1)
	e := sel[0]
	assert.Equal(t, "t1", e.TenantID)
	assert.Equal(t, "inv-1", e.InvestigationID)
	assert.Equal(t, "a-1", e.AlertID)
	assert.Equal(t, taxonomy.SeverityInfo, e.Severity)
	assert.Equal(t, ActorID, e.ActorID)
	assert.Equal(t, audit.Fields{
		KeyRoutingDecisionID: d.ID, "task_type": "investigation", "llm_provider": "anthropic",
		"llm_model_id": ModelSonnet, "llm_model_tier": "tier_1", "context_tokens": 5000,
		"time_budget_seconds": 30, "alert_severity": "high", "requires_reasoning": false,
		"previous_confidence": 0.7, "is_fallback": false, "degradation_level": "full_capability",
		"provider_health": audit.Fields{"openai": "closed"},
	}, e.Context)
	assert.Equal(t, audit.Fields{
		"decision_type": "route", "reasoning_summary": "base=tier_1",
		"constraints_applied": []string{}, "alternatives_considered": []string{ModelGPT4o},
	}, e.Decision)
	assert.Equal(t, audit.Fields{"outcome_status": "success"}, e.Outcome)

	// Escalation: tier written tier_1_plus, constraints are the tags after base.
	rec.reset()
	d = route(t, r, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.1), TimeBudgetSeconds: 1})
	e = rec.byType(taxonomy.RoutingTierSelected)[0]
	assert.Equal(t, "tier_1_plus", e.Context["llm_model_tier"])
	assert.Equal(t, []string{"time_budget<3s→tier_0", "low_confidence_escalation→tier_1_plus"}, e.Decision["constraints_applied"])
	assert.Equal(t, d.Reason, e.Decision["reasoning_summary"])
	assert.Equal(t, UnknownTenantID, e.TenantID)
}

// Checklist 156.
func TestAuditFailoverNoFallback(t *testing.T) {
	rec := &recorder{}
	h := fakeHealth{down: map[Provider]bool{ProviderAnthropic: true, ProviderOpenAI: true}, level: taxonomy.DegradationDeterministicOnly}
	r := newRouter(t, WithHealth(h), WithAuditProducer(rec))
	route(t, r, TaskContext{TaskType: TaskInvestigation, TenantID: "t1"})
	fo := rec.byType(taxonomy.RoutingProviderFailover)
	require.Len(t, fo, 1)
	assert.Equal(t, "t1", fo[0].TenantID)
	assert.Equal(t, "", fo[0].Context["fallback_provider"])
	assert.Equal(t, "", fo[0].Context["fallback_model_id"])
	assert.Equal(t, audit.Fields{"outcome_status": "failed", "error_details": "no healthy fallback for tier tier_1"}, fo[0].Outcome)
	assert.Equal(t, "primary provider anthropic unavailable; no healthy fallback", fo[0].Decision["reasoning_summary"])
	assert.Equal(t, []string{ModelGPT4o}, fo[0].Decision["alternatives_considered"], "skipped because openai is down")
}

// Checklist 162: a sink that never drains, behind a non-blocking producer:
// 10,000 routes all return.
func TestAuditBlockedSinkNeverBlocksRoute(t *testing.T) {
	q := &queueProducer{ch: make(chan audit.Event, 16)}
	r := newRouter(t, WithHealth(anthropicDown), WithAuditProducer(q))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1250 {
				if _, err := r.Route(bg, TaskContext{TaskType: TaskIOCExtraction}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	assert.Len(t, q.ch, 16, "the queue filled and the rest was dropped, not waited for")
}

// Issue 5: the decision types the router writes are taxonomy's.
func TestDecisionTypesInTaxonomy(t *testing.T) {
	for _, d := range []taxonomy.DecisionType{taxonomy.DecisionRoute, taxonomy.DecisionFailover, taxonomy.DecisionDegrade, taxonomy.DecisionReject} {
		assert.True(t, d.Known(), d)
	}
	assert.Equal(t, "routing_decision_id", KeyRoutingDecisionID)
}

// Options are component-specific: passing one to the wrong constructor is a
// configuration error naming it.
func TestOptionsScoped(t *testing.T) {
	_, err := New(WithMonthlyHardCap(5))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "WithMonthlyHardCap", ce.Option)
	assert.Contains(t, err.Error(), "NewSpendGuard")
	_, err = NewSpendGuard(WithHealth(nil))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewEscalationManager(DefaultEscalationPolicy(), WithTenantQuotas(nil))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(WithClock(nil))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(nil, WithLogger(nil), WithAuditProducer(nil))
	assert.NoError(t, err, "nil option, nil logger and nil producer keep defaults")
}
