package router

import (
	"context"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Through the real audit.Emitter: every router event encodes as a valid
// record (none invalid, none sanitised), with the keys and tenants the spec
// names.
func TestEmitterRealEncoding(t *testing.T) {
	sink := audit.NewRecorder()
	em, err := audit.New(sink, audit.WithSourceService("llm-router"))
	require.NoError(t, err)

	clk := newClock(jan)
	h, err := NewHealthRegistry(WithClock(clk.Now), WithAuditProducer(em))
	require.NoError(t, err)
	r := newRouter(t, WithHealth(h), WithAuditProducer(em))
	g := guard(t, clk, WithAuditProducer(em), WithMonthlyHardCap(0.5), WithMonthlySoftLimit(0.01))

	d := route(t, r, TaskContext{TaskType: TaskInvestigation, TenantID: "acme", InvestigationID: "inv-1",
		PreviousConfidence: conf(0.5), AlertSeverity: "critical", ContextTokens: 12000})
	for range 5 {
		h.RecordFailure(ProviderAnthropic)
	}
	d2 := route(t, r, TaskContext{TaskType: TaskIOCExtraction, TenantID: "acme"})
	require.True(t, d2.IsFallback)
	res, err := g.Reserve(bg, SpendRequest{TenantID: "acme", Model: d.Model, InputTokens: 1000, MaxOutputTokens: 1000})
	require.NoError(t, err)
	require.NoError(t, g.Settle(bg, res, 0.02))
	_, err = g.Reserve(bg, SpendRequest{TenantID: "acme", Model: d.Model, InputTokens: 1000, MaxOutputTokens: 10000})
	require.ErrorIs(t, err, ErrSpendLimitExceeded)
	clk.Advance(31 * time.Second)
	h.Reset(ProviderAnthropic, "oncall@example.com")

	require.NoError(t, em.Close(context.Background()))
	st := em.Stats()
	assert.Equal(t, uint64(0), st.Invalid)
	assert.Equal(t, uint64(0), st.Sanitized)
	assert.Equal(t, uint64(0), st.Dropped)

	var types []taxonomy.EventType
	for _, rec := range sink.Records() {
		types = append(types, rec.EventType)
	}
	assert.Equal(t, []taxonomy.EventType{
		taxonomy.RoutingTierSelected,
		taxonomy.CircuitBreakerOpened, taxonomy.DegradationEntered,
		taxonomy.RoutingProviderFailover, taxonomy.RoutingTierSelected,
		taxonomy.SpendSoftLimit, taxonomy.SpendHardLimit,
		taxonomy.CircuitBreakerClosed, taxonomy.DegradationExited,
	}, types)

	sel := sink.ByType(taxonomy.RoutingTierSelected)[0]
	assert.Equal(t, "acme", sel.TenantID)
	assert.Equal(t, "inv-1", sel.InvestigationID)
	assert.Equal(t, taxonomy.CategoryDecision, sel.EventCategory)
	assert.Equal(t, d.ID, sel.Context[KeyRoutingDecisionID])
	assert.Equal(t, "tier_1_plus", sel.Context["llm_model_tier"])
	assert.Equal(t, "route", sel.Decision["decision_type"])

	fo := sink.ByType(taxonomy.RoutingProviderFailover)[0]
	assert.Equal(t, "acme", fo.TenantID, "the real tenant")
	assert.Equal(t, taxonomy.SeverityWarning, fo.Severity)
	assert.Equal(t, map[string]any{"anthropic": "open"}, fo.Context["provider_health"])

	for _, typ := range []taxonomy.EventType{taxonomy.CircuitBreakerOpened, taxonomy.DegradationEntered,
		taxonomy.SpendSoftLimit, taxonomy.SpendHardLimit, taxonomy.CircuitBreakerClosed, taxonomy.DegradationExited} {
		rec := sink.ByType(typ)[0]
		assert.Equal(t, SystemTenantID, rec.TenantID, typ)
	}
	hard := sink.ByType(taxonomy.SpendHardLimit)[0]
	assert.Equal(t, taxonomy.SeverityCritical, hard.Severity)
	assert.Equal(t, "acme", hard.Context["triggering_tenant_id"])
	assert.Equal(t, "blocked_by_guardrail", hard.Outcome["outcome_status"])
	closed := sink.ByType(taxonomy.CircuitBreakerClosed)[0]
	assert.Equal(t, taxonomy.ActorHuman, closed.ActorType)
	assert.Equal(t, "oncall@example.com", closed.ActorID)
}
