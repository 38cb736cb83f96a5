package router

import (
	"sort"
	"sync"

	"github.com/socwarden/warden/taxonomy"
)

// Outcome is one completed LLM call, as reported to [Metrics].
type Outcome struct {
	Success    bool
	CostUSD    float64
	LatencyMS  float64
	Confidence float64
}

// TierOutcome aggregates the outcomes of one task type on one tier.
type TierOutcome struct {
	Total          int     `json:"total"`
	Success        int     `json:"success"`
	TotalCostUSD   float64 `json:"total_cost_usd"`
	TotalLatencyMS float64 `json:"total_latency_ms"`
	ConfidenceSum  float64 `json:"confidence_sum"`
}

func (o TierOutcome) per(v float64) float64 {
	if o.Total == 0 {
		return 0
	}
	return v / float64(o.Total)
}

// SuccessRate is Success/Total (0 when empty).
func (o TierOutcome) SuccessRate() float64 { return o.per(float64(o.Success)) }

// AvgCost is TotalCostUSD/Total (0 when empty).
func (o TierOutcome) AvgCost() float64 { return o.per(o.TotalCostUSD) }

// AvgLatencyMS is TotalLatencyMS/Total (0 when empty).
func (o TierOutcome) AvgLatencyMS() float64 { return o.per(o.TotalLatencyMS) }

// AvgConfidence is ConfidenceSum/Total (0 when empty).
func (o TierOutcome) AvgConfidence() float64 { return o.per(o.ConfidenceSum) }

// OutcomeSummary is the derived view of a TierOutcome.
type OutcomeSummary struct {
	Total         int     `json:"total"`
	SuccessRate   float64 `json:"success_rate"`
	AvgCost       float64 `json:"avg_cost"`
	AvgLatencyMS  float64 `json:"avg_latency_ms"`
	AvgConfidence float64 `json:"avg_confidence"`
}

// ProviderSelection counts Route's selections of one provider on one tier.
type ProviderSelection struct {
	Provider Provider           `json:"provider"`
	Tier     taxonomy.ModelTier `json:"tier"`
	Total    int                `json:"total"`
	Fallback int                `json:"fallback"`
}

// DefaultMaxMetricKeys bounds the distinct task:tier keys [Metrics] keeps;
// outcomes beyond it aggregate under [OverflowKey].
const DefaultMaxMetricKeys = 1024

// Metrics aggregates routing outcomes per "<task_type>:<tier>" and provider
// selections per provider and tier. It implements [SelectionRecorder]. Safe
// for concurrent use; memory is bounded by DefaultMaxMetricKeys.
type Metrics struct {
	// mu guards both maps.
	mu         sync.Mutex
	outcomes   map[string]*TierOutcome
	selections map[selectionKey]*ProviderSelection
}

type selectionKey struct {
	p Provider
	t taxonomy.ModelTier
}

var _ SelectionRecorder = (*Metrics)(nil)

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{outcomes: map[string]*TierOutcome{}, selections: map[selectionKey]*ProviderSelection{}}
}

// RecordOutcome adds o to the "<taskType>:<tier>" aggregate.
func (m *Metrics) RecordOutcome(taskType, tier string, o Outcome) {
	key := taskType + ":" + tier
	m.mu.Lock()
	defer m.mu.Unlock()
	agg := m.outcomes[key]
	if agg == nil {
		if len(m.outcomes) >= DefaultMaxMetricKeys {
			key = OverflowKey
			agg = m.outcomes[key]
		}
		if agg == nil {
			agg = &TierOutcome{}
			m.outcomes[key] = agg
		}
	}
	agg.Total++
	if o.Success {
		agg.Success++
	}
	agg.TotalCostUSD += o.CostUSD
	agg.TotalLatencyMS += o.LatencyMS
	agg.ConfidenceSum += o.Confidence
}

// Outcome returns the aggregate of taskType on tier.
func (m *Metrics) Outcome(taskType, tier string) (TierOutcome, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.outcomes[taskType+":"+tier]
	if !ok {
		return TierOutcome{}, false
	}
	return *o, true
}

// Outcomes returns a copy of every aggregate.
func (m *Metrics) Outcomes() map[string]TierOutcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]TierOutcome, len(m.outcomes))
	for k, v := range m.outcomes {
		out[k] = *v
	}
	return out
}

// Summary returns the derived view of every aggregate.
func (m *Metrics) Summary() map[string]OutcomeSummary {
	out := map[string]OutcomeSummary{}
	for k, o := range m.Outcomes() {
		out[k] = OutcomeSummary{Total: o.Total, SuccessRate: o.SuccessRate(), AvgCost: o.AvgCost(),
			AvgLatencyMS: o.AvgLatencyMS(), AvgConfidence: o.AvgConfidence()}
	}
	return out
}

// RecordProviderSelection implements [SelectionRecorder].
func (m *Metrics) RecordProviderSelection(p Provider, t taxonomy.ModelTier, isFallback bool) {
	k := selectionKey{p, t}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.selections[k]
	if s == nil {
		if len(m.selections) >= DefaultMaxMetricKeys {
			return
		}
		s = &ProviderSelection{Provider: p, Tier: t}
		m.selections[k] = s
	}
	s.Total++
	if isFallback {
		s.Fallback++
	}
}

// ProviderSelections returns the selection counts sorted by provider, then
// tier.
func (m *Metrics) ProviderSelections() []ProviderSelection {
	m.mu.Lock()
	out := make([]ProviderSelection, 0, len(m.selections))
	for _, s := range m.selections {
		out = append(out, *s)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Tier < out[j].Tier
	})
	return out
}
