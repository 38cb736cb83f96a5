package router

import (
	"sync"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func registry(t *testing.T, clk *fakeClock, opts ...Option) *HealthRegistry {
	t.Helper()
	h, err := NewHealthRegistry(append([]Option{WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	return h
}

func failN(h *HealthRegistry, p Provider, n int) {
	for range n {
		h.RecordFailure(p)
	}
}

// Checklist 81-84.
func TestRegistryAvailability(t *testing.T) {
	h := registry(t, at(0))
	assert.True(t, h.IsAvailable(ProviderAnthropic))
	h.RecordFailure(ProviderOpenAI)
	assert.True(t, h.IsAvailable(ProviderOpenAI))
	assert.Contains(t, h.Snapshot(), ProviderOpenAI, "breaker auto-created")

	failN(h, ProviderAnthropic, 5)
	assert.False(t, h.IsAvailable(ProviderAnthropic))
	assert.True(t, h.IsAvailable(ProviderOpenAI))

	failN(h, ProviderGroq, 4)
	h.RecordSuccess(ProviderGroq)
	h.RecordFailure(ProviderGroq)
	assert.True(t, h.IsAvailable(ProviderGroq))

	h.RecordFailure("custom-llm")
	assert.Equal(t, StateClosed, h.State("custom-llm"))
	assert.Equal(t, StateClosed, h.State("never-seen"))
	ok, probe := h.Allow("never-seen")
	assert.True(t, ok)
	assert.False(t, probe)
	assert.NotContains(t, h.Snapshot(), Provider("never-seen"), "asking does not create breakers")
}

// Checklist 85.
func TestRegistryRecovery(t *testing.T) {
	clk := at(100)
	h := registry(t, clk)
	failN(h, ProviderAnthropic, 5)
	clk.Set(time.Unix(131, 0))
	assert.True(t, h.IsAvailable(ProviderAnthropic))
	assert.Equal(t, StateHalfOpen, h.State(ProviderAnthropic))
	h.RecordSuccess(ProviderAnthropic)
	assert.True(t, h.IsAvailable(ProviderAnthropic))
	assert.Equal(t, StateClosed, h.State(ProviderAnthropic))
}

// Checklist 86-91.
func TestRegistryDegradation(t *testing.T) {
	clk := at(100)
	h := registry(t, clk)
	assert.Equal(t, taxonomy.DegradationFullCapability, h.DegradationLevel())
	assert.Equal(t, PolicyFor(taxonomy.DegradationFullCapability), h.Policy())

	failN(h, ProviderAnthropic, 5)
	assert.Equal(t, taxonomy.DegradationSecondaryActive, h.DegradationLevel())
	p := h.Policy()
	assert.Equal(t, 0.95, p.ConfidenceThresholdOverride)
	assert.False(t, p.ExtendedThinkingAvailable)

	failN(h, ProviderOpenAI, 5)
	assert.Equal(t, taxonomy.DegradationDeterministicOnly, h.DegradationLevel())

	clk.Set(time.Unix(131, 0))
	h.RecordSuccess(ProviderAnthropic)
	assert.Equal(t, taxonomy.DegradationFullCapability, h.DegradationLevel())
}

func TestPolicyFor(t *testing.T) {
	assert.Equal(t, DegradationPolicy{taxonomy.DegradationFullCapability, 0, true, taxonomy.Tier1Plus, false, true},
		PolicyFor(taxonomy.DegradationFullCapability))
	assert.Equal(t, DegradationPolicy{taxonomy.DegradationSecondaryActive, 0.95, false, taxonomy.Tier1, true, true},
		PolicyFor(taxonomy.DegradationSecondaryActive))
	assert.Equal(t, DegradationPolicy{taxonomy.DegradationDeterministicOnly, 1.0, false, taxonomy.Tier0, true, false},
		PolicyFor(taxonomy.DegradationDeterministicOnly))
	assert.False(t, PolicyFor(taxonomy.DegradationPassthrough).LLMCallsAllowed)
	assert.Equal(t, taxonomy.DegradationPassthrough, PolicyFor("bogus").Level, "unknown is most restrictive")
}

// Checklist 157 (registry part) and 158: breaker and degradation events in
// order, with their fields.
func TestRegistryEvents(t *testing.T) {
	clk := at(100)
	rec := &recorder{}
	h := registry(t, clk, WithAuditProducer(rec))
	h.RecordFailure(ProviderOpenAI) // openai breaker exists, closed
	failN(h, ProviderAnthropic, 5)
	assert.Equal(t, []taxonomy.EventType{taxonomy.CircuitBreakerOpened, taxonomy.DegradationEntered}, rec.types())
	entered := rec.byType(taxonomy.DegradationEntered)[0]
	assert.Equal(t, SystemTenantID, entered.TenantID)
	assert.Equal(t, taxonomy.SeverityWarning, entered.Severity)
	assert.Equal(t, ActorID, entered.ActorID)
	assert.Equal(t, "secondary_active", entered.Context[audit.KeyDegradationLevel])
	assert.Equal(t, "full_capability", entered.Context["previous_level"])
	assert.Equal(t, audit.Fields{"anthropic": "open", "openai": "closed"}, entered.Context[audit.KeyProviderHealth])
	assert.Equal(t, "degrade", entered.Decision[audit.KeyDecisionType])
	assert.Equal(t, "anthropic unavailable; openai available", entered.Decision[audit.KeyReasoningSummary])
	assert.Equal(t, audit.Fields{"state_before": "full_capability", "state_after": "secondary_active"}, entered.Outcome)

	// Half-open does not leave secondary_active; a failed probe re-opens
	// without a degradation event; a passed probe exits.
	rec.reset()
	clk.Advance(31 * time.Second)
	assert.Equal(t, StateHalfOpen, h.State(ProviderAnthropic))
	assert.Equal(t, taxonomy.DegradationSecondaryActive, h.DegradationLevel())
	h.RecordFailure(ProviderAnthropic)
	assert.Equal(t, []taxonomy.EventType{taxonomy.CircuitBreakerOpened}, rec.types())
	assert.Equal(t, ReasonProbeFailed, rec.all()[0].Context["reason"])

	clk.Advance(31 * time.Second)
	h.RecordSuccess(ProviderAnthropic)
	assert.Equal(t, []taxonomy.EventType{taxonomy.CircuitBreakerOpened, taxonomy.CircuitBreakerClosed, taxonomy.DegradationExited}, rec.types())
	closed := rec.byType(taxonomy.CircuitBreakerClosed)[0]
	assert.GreaterOrEqual(t, closed.Context["open_duration_ms"], int64(30000))
	exited := rec.byType(taxonomy.DegradationExited)[0]
	assert.Equal(t, taxonomy.SeverityInfo, exited.Severity)
	assert.Equal(t, "full_capability", exited.Context[audit.KeyDegradationLevel])

	// Both down: critical.
	rec.reset()
	failN(h, ProviderAnthropic, 5)
	failN(h, ProviderOpenAI, 5)
	ent := rec.byType(taxonomy.DegradationEntered)
	require.Len(t, ent, 2)
	assert.Equal(t, taxonomy.SeverityCritical, ent[1].Severity)
	assert.Equal(t, "deterministic_only", ent[1].Context[audit.KeyDegradationLevel])
	assert.Equal(t, "anthropic and openai unavailable", ent[1].Decision[audit.KeyReasoningSummary])

	// Manual reset of anthropic returns to full capability.
	rec.reset()
	h.Reset(ProviderAnthropic, "oncall")
	assert.Equal(t, taxonomy.DegradationFullCapability, h.DegradationLevel())
	assert.Equal(t, []taxonomy.EventType{taxonomy.CircuitBreakerClosed, taxonomy.DegradationExited}, rec.types())
	assert.Equal(t, map[Provider]CircuitState{ProviderAnthropic: StateClosed, ProviderOpenAI: StateOpen}, h.Snapshot())
}

// The operator floor: passthrough although the breakers are fine.
func TestRegistryDegradationFloor(t *testing.T) {
	rec := &recorder{}
	h := registry(t, at(0), WithAuditProducer(rec))
	require.NoError(t, h.SetDegradationFloor(taxonomy.DegradationPassthrough))
	assert.Equal(t, taxonomy.DegradationPassthrough, h.DegradationLevel())
	failN(h, ProviderAnthropic, 5)
	assert.Equal(t, taxonomy.DegradationPassthrough, h.DegradationLevel(), "floor is worse")
	require.NoError(t, h.SetDegradationFloor(taxonomy.DegradationFullCapability))
	assert.Equal(t, taxonomy.DegradationSecondaryActive, h.DegradationLevel())
	assert.ErrorIs(t, h.SetDegradationFloor("bogus"), ErrInvalidConfig)

	ent := rec.byType(taxonomy.DegradationEntered)
	require.Len(t, ent, 1)
	assert.Equal(t, taxonomy.SeverityCritical, ent[0].Severity)
	assert.Contains(t, ent[0].Decision[audit.KeyReasoningSummary], "operator floor passthrough")
	ex := rec.byType(taxonomy.DegradationExited)
	require.Len(t, ex, 1)
	assert.Equal(t, "secondary_active", ex[0].Context[audit.KeyDegradationLevel])
}

func TestRegistryConfig(t *testing.T) {
	h, err := NewHealthRegistry(WithBreakerConfig(BreakerConfig{FailureThreshold: 2}))
	require.NoError(t, err)
	assert.Equal(t, BreakerConfig{2, DefaultRecoveryTimeout, DefaultProbeTimeout}, h.BreakerConfig())
	failN(h, ProviderAnthropic, 2)
	assert.False(t, h.IsAvailable(ProviderAnthropic))

	_, err = NewHealthRegistry(WithBreakerConfig(BreakerConfig{RecoveryTimeout: -time.Second}))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewHealthRegistry(WithDegradationProviders(ProviderLocal, ProviderLocal))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewHealthRegistry(WithCatalog(DefaultCatalog()))
	assert.ErrorIs(t, err, ErrInvalidConfig, "router options do not apply")
	_, err = NewHealthRegistry(WithClock(nil))
	assert.ErrorIs(t, err, ErrInvalidConfig)

	// Custom degradation providers.
	h, err = NewHealthRegistry(WithDegradationProviders(ProviderLocal, ProviderGroq))
	require.NoError(t, err)
	failN(h, ProviderAnthropic, 5)
	assert.Equal(t, taxonomy.DegradationFullCapability, h.DegradationLevel())
	failN(h, ProviderLocal, 5)
	assert.Equal(t, taxonomy.DegradationSecondaryActive, h.DegradationLevel())
}

// Concurrent transitions from many goroutines: degradation events strictly
// alternate consistently (each one's previous level is the last one's new
// level), and the final level matches the breakers.
func TestRegistryConcurrentDegradation(t *testing.T) {
	clk := at(0)
	rec := &recorder{}
	h := registry(t, clk, WithAuditProducer(rec), WithBreakerConfig(BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Second}))
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				p := ProviderAnthropic
				if (g+i)%3 == 0 {
					p = ProviderOpenAI
				}
				switch (g * i) % 4 {
				case 0, 1:
					h.RecordFailure(p)
				case 2:
					h.RecordSuccess(p)
					h.Allow(p)
				default:
					clk.Advance(300 * time.Millisecond)
					_ = h.Snapshot()
				}
				_ = h.DegradationLevel()
			}
		}()
	}
	wg.Wait()
	last := "full_capability"
	for _, e := range rec.all() {
		if e.Type != taxonomy.DegradationEntered && e.Type != taxonomy.DegradationExited {
			continue
		}
		assert.Equal(t, last, e.Context["previous_level"])
		last = e.Context[audit.KeyDegradationLevel].(string)
	}
	assert.Equal(t, last, string(h.DegradationLevel()))
}
