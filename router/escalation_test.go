package router

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func escalation(t *testing.T, clk *fakeClock, p EscalationPolicy) *EscalationManager {
	t.Helper()
	m, err := NewEscalationManager(p, WithClock(clk.Now))
	require.NoError(t, err)
	return m
}

var customPolicy = EscalationPolicy{ConfidenceThreshold: 0.5, ApplicableSeverities: []string{"critical"}, MaxEscalationsPerHour: 3}

// Checklist 117, 118.
func TestEscalationPolicies(t *testing.T) {
	p := DefaultEscalationPolicy()
	assert.Equal(t, 0.6, p.ConfidenceThreshold)
	assert.ElementsMatch(t, []string{"critical", "high"}, p.ApplicableSeverities)
	assert.Equal(t, 10, p.MaxEscalationsPerHour)
	assert.Equal(t, 8192, p.ExtendedThinkingBudget)
	m := escalation(t, at(0), customPolicy)
	assert.Equal(t, 0.5, m.Policy().ConfidenceThreshold)
	assert.Equal(t, 3, m.Policy().MaxEscalationsPerHour)
}

// Checklist 119-121.
func TestShouldEscalate(t *testing.T) {
	m := escalation(t, at(0), DefaultEscalationPolicy())
	assert.True(t, m.ShouldEscalate(0.4, "critical"))
	assert.True(t, m.ShouldEscalate(0.5, "high"))
	assert.False(t, m.ShouldEscalate(0.6, "critical"))
	assert.False(t, m.ShouldEscalate(0.8, "critical"))
	assert.True(t, m.ShouldEscalate(0.0, "critical"))
	assert.True(t, m.ShouldEscalate(0.1, " CRITICAL"))
	assert.False(t, m.ShouldEscalate(math.NaN(), "critical"))
	assert.False(t, m.ShouldEscalate(0.3, "medium"))
	assert.False(t, m.ShouldEscalate(0.1, "low"))
	assert.False(t, m.ShouldEscalate(0.1, "informational"))

	c := escalation(t, at(0), customPolicy)
	assert.True(t, c.ShouldEscalate(0.49, "critical"))
	assert.False(t, c.ShouldEscalate(0.50, "critical"))
	assert.False(t, c.ShouldEscalate(0.3, "high"))
	assert.Equal(t, 0, m.EscalationsThisHour(), "asking records nothing")
}

// Checklist 122-126.
func TestEscalationBudget(t *testing.T) {
	clk := at(0)
	m := escalation(t, clk, DefaultEscalationPolicy())
	assert.Equal(t, 10, m.BudgetRemaining())
	m.RecordEscalation()
	assert.Equal(t, 9, m.BudgetRemaining())
	m.RecordEscalation()
	assert.Equal(t, 2, m.EscalationsThisHour())
	for range 8 {
		m.RecordEscalation()
	}
	assert.False(t, m.ShouldEscalate(0.3, "critical"))
	assert.Equal(t, 0, m.BudgetRemaining())
	m.RecordEscalation() // beyond the budget: saturates, bounded memory
	assert.Equal(t, 10, m.EscalationsThisHour())

	clk.Advance(3601 * time.Second)
	assert.Equal(t, 10, m.BudgetRemaining())
	assert.True(t, m.ShouldEscalate(0.3, "critical"))

	c := escalation(t, at(0), customPolicy)
	assert.Equal(t, 3, c.BudgetRemaining())
	for range 3 {
		c.RecordEscalation()
	}
	assert.False(t, c.ShouldEscalate(0.3, "critical"))
}

// Checklist 127 (issue 5: the tier is written tier_1_plus).
func TestEscalationTier(t *testing.T) {
	m := escalation(t, at(0), DefaultEscalationPolicy())
	assert.Equal(t, taxonomy.Tier1Plus, m.EscalationTier())
	assert.Equal(t, "tier_1_plus", string(m.EscalationTier()))
}

func TestEscalationValidation(t *testing.T) {
	for _, p := range []EscalationPolicy{
		{ConfidenceThreshold: 1.1},
		{ConfidenceThreshold: math.NaN()},
		{ConfidenceThreshold: 0.5, MaxEscalationsPerHour: -1},
		{ConfidenceThreshold: 0.5, ExtendedThinkingBudget: -1},
	} {
		_, err := NewEscalationManager(p)
		assert.ErrorIs(t, err, ErrInvalidConfig)
	}
	m, err := NewEscalationManager(EscalationPolicy{ConfidenceThreshold: 0.5, ApplicableSeverities: []string{"critical"}})
	require.NoError(t, err)
	assert.False(t, m.ShouldEscalate(0.1, "critical"), "a zero budget never escalates")
}

// Concurrent routes can never take more than the budget.
func TestEscalationConcurrentBudget(t *testing.T) {
	m := escalation(t, at(0), DefaultEscalationPolicy())
	r := newRouter(t, WithEscalationManager(m))
	var wg sync.WaitGroup
	var mu sync.Mutex
	escalated := 0
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := r.Route(bg, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.1)})
			if err == nil && d.Tier == taxonomy.Tier1Plus {
				mu.Lock()
				escalated++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 10, escalated)
	assert.Equal(t, 10, m.EscalationsThisHour())
}
