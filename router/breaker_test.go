package router

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func breaker(t *testing.T, clk *fakeClock, threshold int, timeout time.Duration, opts ...Option) *CircuitBreaker {
	t.Helper()
	b, err := NewCircuitBreaker("anthropic", BreakerConfig{FailureThreshold: threshold, RecoveryTimeout: timeout},
		append([]Option{WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	return b
}

func fail(b *CircuitBreaker, n int) {
	for range n {
		b.RecordFailure()
	}
}

// Checklist 66.
func TestCircuitStates(t *testing.T) {
	assert.Equal(t, []CircuitState{"closed", "open", "half_open"}, CircuitStates())
}

// Checklist 67-70.
func TestBreakerThreshold(t *testing.T) {
	clk := at(100)
	b := breaker(t, clk, 0, 0)
	assert.Equal(t, StateClosed, b.State())
	assert.True(t, b.Available())
	fail(b, 4)
	assert.Equal(t, StateClosed, b.State())
	assert.True(t, b.Available())
	b.RecordFailure()
	assert.Equal(t, StateOpen, b.State())
	assert.False(t, b.Available())

	b2 := breaker(t, clk, 2, 0)
	fail(b2, 2)
	assert.False(t, b2.Available())
}

// Checklist 71.
func TestBreakerSuccessResetsCount(t *testing.T) {
	b := breaker(t, at(0), 5, 0)
	fail(b, 3)
	b.RecordSuccess()
	fail(b, 4)
	assert.Equal(t, StateClosed, b.State())
}

// Checklist 72, 73: lazy promotion strictly after the timeout.
func TestBreakerTimeline(t *testing.T) {
	clk := at(100)
	b := breaker(t, clk, 2, 30*time.Second)
	fail(b, 2)
	clk.Set(time.Unix(129, 0))
	assert.Equal(t, StateOpen, b.State())
	assert.False(t, b.Available())
	clk.Set(time.Unix(130, 0))
	assert.Equal(t, StateOpen, b.State(), "30 s is not > 30 s")
	clk.Set(time.Unix(131, 0))
	assert.Equal(t, StateHalfOpen, b.State())
	assert.True(t, b.Available())
}

// Checklist 74-78.
func TestBreakerHalfOpenOutcomes(t *testing.T) {
	open := func(observe bool) (*CircuitBreaker, *fakeClock) {
		clk := at(100)
		b := breaker(t, clk, 1, 10*time.Second)
		b.RecordFailure()
		clk.Set(time.Unix(111, 0))
		if observe {
			require.Equal(t, StateHalfOpen, b.State())
		}
		return b, clk
	}
	for _, observe := range []bool{true, false} {
		b, _ := open(observe)
		b.RecordSuccess()
		assert.Equal(t, StateClosed, b.State(), "observe=%v", observe)
		b, _ = open(observe)
		b.RecordFailure()
		assert.Equal(t, StateOpen, b.State(), "observe=%v", observe)
	}

	clk := at(100)
	b := breaker(t, clk, 1, 5*time.Second)
	b.RecordFailure()
	clk.Set(time.Unix(106, 0))
	assert.True(t, b.Available())
	assert.Equal(t, StateHalfOpen, b.State())
}

// Checklist 79.
func TestBreakerDefaults(t *testing.T) {
	b, err := NewCircuitBreaker("x", BreakerConfig{})
	require.NoError(t, err)
	assert.Equal(t, BreakerConfig{5, 30 * time.Second, DefaultProbeTimeout}, b.Config())
	_, err = NewCircuitBreaker("x", BreakerConfig{FailureThreshold: -1})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewCircuitBreaker("x", BreakerConfig{RecoveryTimeout: -1})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewCircuitBreaker("", BreakerConfig{})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewCircuitBreaker("x", BreakerConfig{}, WithMonthlyHardCap(1))
	assert.ErrorIs(t, err, ErrInvalidConfig, "spend options do not apply to a breaker")
}

// Open re-arm: failures while open restart the recovery timeout.
func TestBreakerOpenRearm(t *testing.T) {
	clk := at(100)
	rec := &recorder{}
	b := breaker(t, clk, 2, 30*time.Second, WithAuditProducer(rec))
	fail(b, 2)
	clk.Set(time.Unix(120, 0))
	fail(b, 2)
	clk.Set(time.Unix(140, 0))
	assert.Equal(t, StateOpen, b.State(), "re-armed at t=120")
	clk.Set(time.Unix(151, 0))
	assert.Equal(t, StateHalfOpen, b.State())
	assert.Len(t, rec.byType(taxonomy.CircuitBreakerOpened), 1)
}

// Issue 5: half-open admits exactly one probe at a time.
func TestBreakerSingleProbe(t *testing.T) {
	clk := at(0)
	b := breaker(t, clk, 1, 10*time.Second)
	b.RecordFailure()
	ok, _ := b.Allow()
	assert.False(t, ok, "open refuses")
	clk.Advance(11 * time.Second)

	var admitted, probes atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, probe := b.Allow()
			if ok {
				admitted.Add(1)
			}
			if probe {
				probes.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), admitted.Load())
	assert.Equal(t, int32(1), probes.Load())
	assert.False(t, b.Available(), "the probe is in flight")
	assert.Equal(t, StateHalfOpen, b.State())

	// Released probe: the next caller probes.
	b.ReleaseProbe()
	ok, probe := b.Allow()
	assert.True(t, ok && probe)

	// A probe that never reports is replaced after ProbeTimeout.
	ok, _ = b.Allow()
	assert.False(t, ok)
	clk.Advance(DefaultProbeTimeout - time.Second)
	ok, _ = b.Allow()
	assert.False(t, ok)
	clk.Advance(time.Second)
	ok, probe = b.Allow()
	assert.True(t, ok && probe)

	// Its success closes the breaker; closed admits everyone, no probes.
	b.RecordSuccess()
	for range 3 {
		ok, probe = b.Allow()
		assert.True(t, ok)
		assert.False(t, probe)
	}
}

// Issue 5: manual reset works from open and half-open and is audited with
// the operator as actor.
func TestBreakerManualReset(t *testing.T) {
	clk := at(0)
	rec := &recorder{}
	b := breaker(t, clk, 1, 30*time.Second, WithAuditProducer(rec))
	b.RecordFailure()
	clk.Advance(5 * time.Second)
	b.Reset("alice@example.com")
	assert.Equal(t, StateClosed, b.State())
	ok, probe := b.Allow()
	assert.True(t, ok)
	assert.False(t, probe)
	closed := rec.byType(taxonomy.CircuitBreakerClosed)
	require.Len(t, closed, 1)
	assert.Equal(t, taxonomy.ActorHuman, closed[0].ActorType)
	assert.Equal(t, "alice@example.com", closed[0].ActorID)
	assert.Equal(t, ReasonManualReset, closed[0].Context["reason"])
	assert.Equal(t, int64(5000), closed[0].Context["open_duration_ms"])
	assert.Equal(t, "open", closed[0].Outcome[audit.KeyStateBefore])

	// The failure count is cleared too.
	b.RecordFailure()
	assert.Equal(t, StateOpen, b.State())
	clk.Advance(31 * time.Second)
	b.Reset("")
	closed = rec.byType(taxonomy.CircuitBreakerClosed)
	require.Len(t, closed, 2)
	assert.Equal(t, "half_open", closed[1].Outcome[audit.KeyStateBefore])
	assert.Equal(t, taxonomy.ActorSystem, closed[1].ActorType)
	assert.Equal(t, ActorID, closed[1].ActorID)

	b.Reset("bob") // closed: nothing to audit
	assert.Len(t, rec.byType(taxonomy.CircuitBreakerClosed), 2)
}

// Checklist 80: 64 goroutines hammer a breaker under -race.
func TestBreakerConcurrent(t *testing.T) {
	clk := at(0)
	rec := &recorder{}
	b := breaker(t, clk, 3, time.Second, WithAuditProducer(rec))
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				switch (g + i) % 5 {
				case 0, 1:
					b.RecordFailure()
				case 2:
					b.RecordSuccess()
				case 3:
					b.Allow()
				default:
					clk.Advance(100 * time.Millisecond)
				}
				assert.Contains(t, CircuitStates(), b.State())
			}
		}()
	}
	wg.Wait()
	// Events alternate: every closed follows an opened (transition order).
	open := false
	for _, e := range rec.all() {
		switch e.Type {
		case taxonomy.CircuitBreakerOpened:
			if e.Outcome[audit.KeyStateBefore] == "closed" {
				assert.False(t, open, "opened from closed while open")
			}
			open = true
		case taxonomy.CircuitBreakerClosed:
			assert.True(t, open, "closed without being open")
			open = false
		}
	}
}

// Checklist 157-159 (breaker part): events and their fields.
func TestBreakerEvents(t *testing.T) {
	clk := at(100)
	rec := &recorder{}
	b := breaker(t, clk, 5, 30*time.Second, WithAuditProducer(rec))
	fail(b, 5)
	opened := rec.byType(taxonomy.CircuitBreakerOpened)
	require.Len(t, opened, 1)
	e := opened[0]
	assert.Equal(t, SystemTenantID, e.TenantID)
	assert.Equal(t, taxonomy.SeverityWarning, e.Severity)
	assert.Equal(t, taxonomy.ActorSystem, e.ActorType)
	assert.Equal(t, ActorID, e.ActorID)
	assert.Equal(t, audit.Fields{
		"provider": "anthropic", "failure_threshold": 5, "recovery_timeout_seconds": 30.0,
		"consecutive_failures": 5, "reason": ReasonFailureThresholdReached,
	}, e.Context)
	assert.Equal(t, audit.Fields{"state_before": "closed", "state_after": "open"}, e.Outcome)

	fail(b, 5) // 159: already open
	assert.Len(t, rec.byType(taxonomy.CircuitBreakerOpened), 1)

	// 158: probe fails, then a later probe succeeds.
	clk.Advance(31 * time.Second)
	b.RecordFailure()
	opened = rec.byType(taxonomy.CircuitBreakerOpened)
	require.Len(t, opened, 2)
	assert.Equal(t, ReasonProbeFailed, opened[1].Context["reason"])
	assert.Equal(t, 1, opened[1].Context["consecutive_failures"])
	assert.Equal(t, "half_open", opened[1].Outcome["state_before"])

	clk.Advance(31 * time.Second)
	b.RecordSuccess()
	closed := rec.byType(taxonomy.CircuitBreakerClosed)
	require.Len(t, closed, 1)
	assert.GreaterOrEqual(t, closed[0].Context["open_duration_ms"], int64(30000))
	assert.Equal(t, ReasonProbeSucceeded, closed[0].Context["reason"])
	assert.Equal(t, taxonomy.SeverityInfo, closed[0].Severity)
	assert.Equal(t, audit.Fields{"state_before": "half_open", "state_after": "closed"}, closed[0].Outcome)
}
