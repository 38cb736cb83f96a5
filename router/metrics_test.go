package router

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 128, 129.
func TestTierOutcomeDerived(t *testing.T) {
	var z TierOutcome
	assert.Equal(t, 0, z.Total)
	assert.Equal(t, 0, z.Success)
	assert.Equal(t, 0.0, z.TotalCostUSD)
	for _, v := range []float64{z.SuccessRate(), z.AvgCost(), z.AvgLatencyMS(), z.AvgConfidence()} {
		assert.Equal(t, 0.0, v)
	}
	assert.Equal(t, 0.7, TierOutcome{Total: 10, Success: 7}.SuccessRate())
	assert.Equal(t, 0.5, TierOutcome{Total: 4, TotalCostUSD: 2.0}.AvgCost())
	assert.Equal(t, 100.0, TierOutcome{Total: 5, TotalLatencyMS: 500}.AvgLatencyMS())
	assert.InDelta(t, 0.8, TierOutcome{Total: 4, ConfidenceSum: 3.2}.AvgConfidence(), 1e-12)
}

// Checklist 130-134.
func TestMetricsOutcomes(t *testing.T) {
	m := NewMetrics()
	assert.Empty(t, m.Outcomes())
	assert.Empty(t, m.Summary())

	m.RecordOutcome("ioc_extraction", "tier_0", Outcome{true, 0.01, 50, 0.9})
	o, ok := m.Outcome("ioc_extraction", "tier_0")
	require.True(t, ok)
	assert.Equal(t, TierOutcome{1, 1, 0.01, 50, 0.9}, o)

	m.RecordOutcome("investigation", "tier_1", Outcome{Success: false})
	o, _ = m.Outcome("investigation", "tier_1")
	assert.Equal(t, 1, o.Total)
	assert.Equal(t, 0, o.Success)
	assert.Len(t, m.Outcomes(), 2)
	_, ok = m.Outcome("nope", "tier_0")
	assert.False(t, ok)

	m3 := NewMetrics()
	for i, c := range []float64{0.01, 0.02, 0.01} {
		m3.RecordOutcome("x", "tier_0", Outcome{Success: i < 2, CostUSD: c})
	}
	o, _ = m3.Outcome("x", "tier_0")
	assert.Equal(t, 3, o.Total)
	assert.Equal(t, 2, o.Success)
	assert.InDelta(t, 0.04, o.TotalCostUSD, 1e-12)
}

// Checklist 135, 136.
func TestMetricsSummary(t *testing.T) {
	m := NewMetrics()
	m.RecordOutcome("ioc_extraction", "tier_0", Outcome{true, 0.02, 100, 0.85})
	m.RecordOutcome("ioc_extraction", "tier_0", Outcome{false, 0.01, 200, 0.4})
	s := m.Summary()["ioc_extraction:tier_0"]
	assert.Equal(t, 2, s.Total)
	assert.Equal(t, 0.5, s.SuccessRate)
	assert.InDelta(t, 0.015, s.AvgCost, 1e-12)
	assert.Equal(t, 150.0, s.AvgLatencyMS)
	assert.InDelta(t, 0.625, s.AvgConfidence, 1e-12)

	m2 := NewMetrics()
	m2.RecordOutcome("a", "t0", Outcome{})
	m2.RecordOutcome("b", "t1", Outcome{})
	sum := m2.Summary()
	assert.ElementsMatch(t, []string{"a:t0", "b:t1"}, keys(sum))
	b, err := json.Marshal(sum["a:t0"])
	require.NoError(t, err)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(b, &obj))
	assert.ElementsMatch(t, []string{"total", "success_rate", "avg_cost", "avg_latency_ms", "avg_confidence"}, keys(obj))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Checklist 137.
func TestMetricsSuccessRates(t *testing.T) {
	m := NewMetrics()
	for i := range 10 {
		m.RecordOutcome("ioc_extraction", "tier_0", Outcome{Success: i != 0})
	}
	for i := range 5 {
		m.RecordOutcome("investigation", "tier_1", Outcome{Success: i != 0})
	}
	a, _ := m.Outcome("ioc_extraction", "tier_0")
	b, _ := m.Outcome("investigation", "tier_1")
	assert.Equal(t, 0.9, a.SuccessRate())
	assert.Equal(t, 0.8, b.SuccessRate())
	assert.Equal(t, 10, a.Total)
	assert.Equal(t, 5, b.Total)
}

func TestMetricsSelectionsAndBounds(t *testing.T) {
	m := NewMetrics()
	m.RecordProviderSelection(ProviderOpenAI, taxonomy.Tier0, true)
	m.RecordProviderSelection(ProviderAnthropic, taxonomy.Tier1, false)
	m.RecordProviderSelection(ProviderAnthropic, taxonomy.Tier0, false)
	m.RecordProviderSelection(ProviderAnthropic, taxonomy.Tier0, false)
	assert.Equal(t, []ProviderSelection{
		{ProviderAnthropic, taxonomy.Tier0, 2, 0},
		{ProviderAnthropic, taxonomy.Tier1, 1, 0},
		{ProviderOpenAI, taxonomy.Tier0, 1, 1},
	}, m.ProviderSelections())

	for i := range DefaultMaxMetricKeys + 10 {
		m.RecordOutcome(fmt.Sprintf("task-%d", i), "tier_1", Outcome{Success: true})
	}
	assert.LessOrEqual(t, len(m.Outcomes()), DefaultMaxMetricKeys+1)
	o, ok := m.Outcome(OverflowKey, "")
	_ = o
	assert.False(t, ok, "overflow key is stored bare")
	assert.Equal(t, 10, m.Outcomes()[OverflowKey].Total)
}

func TestMetricsConcurrent(t *testing.T) {
	m := NewMetrics()
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				m.RecordOutcome("x", "tier_0", Outcome{Success: true, CostUSD: 0.5})
				m.RecordProviderSelection(ProviderAnthropic, taxonomy.Tier0, false)
				_ = m.Summary()
			}
		}()
	}
	wg.Wait()
	o, _ := m.Outcome("x", "tier_0")
	assert.Equal(t, 3200, o.Total)
	assert.Equal(t, 1600.0, o.TotalCostUSD)
	assert.Equal(t, 3200, m.ProviderSelections()[0].Total)
}
