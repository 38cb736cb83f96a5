package router

import (
	"encoding/json"
	"testing"

	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tasksOfTier(t taxonomy.ModelTier) []TaskType {
	var out []TaskType
	for _, tt := range KnownTaskTypes() {
		if b, _ := BaseTier(tt); b == t {
			out = append(out, tt)
		}
	}
	return out
}

// Checklist 1-3: six task types per tier, including the named ones.
func TestTaskTableTiers(t *testing.T) {
	t0 := tasksOfTier(taxonomy.Tier0)
	assert.Len(t, t0, 6)
	assert.Subset(t, t0, []TaskType{TaskIOCExtraction, TaskLogSummarisation, TaskAlertClassification, TaskSeverityAssessment})
	t1 := tasksOfTier(taxonomy.Tier1)
	assert.Len(t, t1, 6)
	assert.Subset(t, t1, []TaskType{TaskInvestigation, TaskCTEMCorrelation, TaskATLASReasoning, TaskAttackPathAnalysis})
	t2 := tasksOfTier(taxonomy.Tier2)
	assert.Len(t, t2, 6)
	assert.Subset(t, t2, []TaskType{TaskFPPatternTraining, TaskPlaybookGeneration, TaskDetectionRuleGeneration})
	assert.Empty(t, tasksOfTier(taxonomy.Tier1Plus), "no task maps to tier_1_plus by default")
}

// Checklist 4, 5: 18 entries; every task has capabilities and vice versa.
func TestTaskTableSize(t *testing.T) {
	require.Len(t, KnownTaskTypes(), 18)
	for _, tt := range KnownTaskTypes() {
		_, ok := TaskCapabilities(tt)
		assert.True(t, ok, tt)
		_, ok = BaseTier(tt)
		assert.True(t, ok, tt)
	}
	_, ok := TaskCapabilities("unknown_task_xyz")
	assert.False(t, ok)
}

// Checklist 6: latency SLOs by tier; no task requires extended thinking.
func TestTaskLatencySLO(t *testing.T) {
	for _, tt := range tasksOfTier(taxonomy.Tier0) {
		c, _ := TaskCapabilities(tt)
		assert.Equal(t, 3, c.LatencySLOSeconds, tt)
	}
	for _, tt := range tasksOfTier(taxonomy.Tier2) {
		c, _ := TaskCapabilities(tt)
		assert.Equal(t, 86400, c.LatencySLOSeconds, tt)
	}
	for _, tt := range KnownTaskTypes() {
		c, _ := TaskCapabilities(tt)
		assert.False(t, c.RequiresExtendedThinking, tt)
	}
}

// Checklist 7 (issue 5 decision): taxonomy.ModelTier is the tier type;
// tier_1_plus is written, tier_1+ accepted; unknown values error.
func TestTiersAreTaxonomyTiers(t *testing.T) {
	assert.Equal(t, []taxonomy.ModelTier{"tier_0", "tier_1", "tier_1_plus", "tier_2"}, taxonomy.ModelTiers())
	got, err := taxonomy.ParseModelTier("tier_1+")
	require.NoError(t, err)
	assert.Equal(t, taxonomy.Tier1Plus, got)
	_, err = taxonomy.ParseModelTier("tier_9")
	assert.Error(t, err)

	var d Decision
	require.NoError(t, json.Unmarshal([]byte(`{"tier":"tier_1+"}`), &d))
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"tier":"tier_1_plus"`)
}

// The named order function: batch is not above tier 0.
func TestCapabilityRank(t *testing.T) {
	assert.Equal(t, 0, CapabilityRank(taxonomy.Tier0))
	assert.Equal(t, 1, CapabilityRank(taxonomy.Tier1))
	assert.Equal(t, 2, CapabilityRank(taxonomy.Tier1Plus))
	assert.Equal(t, 0, CapabilityRank(taxonomy.Tier2))
	assert.Equal(t, -1, CapabilityRank("tier_x"))
	assert.Equal(t, taxonomy.Tier1, MoreCapable(taxonomy.Tier2, taxonomy.Tier1))
	assert.Equal(t, taxonomy.Tier1, MoreCapable(taxonomy.Tier1, taxonomy.Tier1))
	assert.Equal(t, taxonomy.Tier2, MoreCapable(taxonomy.Tier2, taxonomy.Tier0), "tie keeps the first")
}

// Checklist 8: exactly four providers.
func TestProviders(t *testing.T) {
	assert.Equal(t, []Provider{"anthropic", "openai", "local", "groq"}, Providers())
}
