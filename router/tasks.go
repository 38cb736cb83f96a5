package router

import (
	"slices"

	"github.com/socwarden/warden/taxonomy"
)

// Provider is an LLM provider name. It is taxonomy's type, so the names the
// router routes to are the names audit records carry.
type Provider = taxonomy.Provider

// The four known providers. Any other name is accepted by the health registry
// (it creates a breaker on first touch) but is not listed by [Providers].
const (
	ProviderAnthropic = taxonomy.ProviderAnthropic
	ProviderOpenAI    = taxonomy.ProviderOpenAI
	ProviderLocal     = taxonomy.ProviderLocal
	ProviderGroq      = taxonomy.ProviderGroq
)

// Providers returns the four known providers.
func Providers() []Provider { return taxonomy.Providers() }

// CapabilityRank orders tiers by reasoning capability, for "at least tier X"
// comparisons: tier_0 and tier_2 rank 0 (batch runs the tier-1 model but is
// not a step up from tier 0), tier_1 ranks 1, tier_1_plus ranks 2. An unknown
// tier ranks -1.
//
// This is deliberately not [taxonomy.ModelTier.Rank], which is the
// declaration order of the vocabulary.
func CapabilityRank(t taxonomy.ModelTier) int {
	switch t {
	case taxonomy.Tier0, taxonomy.Tier2:
		return 0
	case taxonomy.Tier1:
		return 1
	case taxonomy.Tier1Plus:
		return 2
	}
	return -1
}

// MoreCapable returns whichever of a and b has the higher [CapabilityRank];
// on a tie it returns a.
func MoreCapable(a, b taxonomy.ModelTier) taxonomy.ModelTier {
	if CapabilityRank(b) > CapabilityRank(a) {
		return b
	}
	return a
}

// TaskType names the kind of work an LLM call does, e.g. "investigation".
// Unknown non-empty task types are routed as tier_1 without a capability
// check.
type TaskType string

// The 18 known task types.
const (
	TaskIOCExtraction           TaskType = "ioc_extraction"
	TaskLogSummarisation        TaskType = "log_summarisation"
	TaskEntityNormalisation     TaskType = "entity_normalisation"
	TaskFPSuggestion            TaskType = "fp_suggestion"
	TaskAlertClassification     TaskType = "alert_classification"
	TaskSeverityAssessment      TaskType = "severity_assessment"
	TaskInvestigation           TaskType = "investigation"
	TaskCTEMCorrelation         TaskType = "ctem_correlation"
	TaskATLASReasoning          TaskType = "atlas_reasoning"
	TaskAttackPathAnalysis      TaskType = "attack_path_analysis"
	TaskIncidentReport          TaskType = "incident_report"
	TaskPlaybookSelection       TaskType = "playbook_selection"
	TaskFPPatternTraining       TaskType = "fp_pattern_training"
	TaskPlaybookGeneration      TaskType = "playbook_generation"
	TaskAgentRedTeam            TaskType = "agent_red_team"
	TaskDetectionRuleGeneration TaskType = "detection_rule_generation"
	TaskRetrospectiveAnalysis   TaskType = "retrospective_analysis"
	TaskThreatLandscapeSummary  TaskType = "threat_landscape_summary"
)

// Capabilities are what a task needs from a model.
type Capabilities struct {
	RequiresToolUse          bool `json:"requires_tool_use"`
	RequiresJSONReliability  bool `json:"requires_json_reliability"`
	MaxContextTokens         int  `json:"max_context_tokens"`
	LatencySLOSeconds        int  `json:"latency_slo_seconds"`
	RequiresExtendedThinking bool `json:"requires_extended_thinking"`
}

// Defaults of [DefaultCapabilities].
const (
	DefaultCapabilityContextTokens = 8192
	DefaultLatencySLOSeconds       = 30
)

// DefaultCapabilities returns the capabilities of a task nobody described:
// no tool use, no JSON reliability, 8,192 context tokens, 30 s, no extended
// thinking.
func DefaultCapabilities() Capabilities {
	return Capabilities{MaxContextTokens: DefaultCapabilityContextTokens, LatencySLOSeconds: DefaultLatencySLOSeconds}
}

type taskInfo struct {
	tier taxonomy.ModelTier
	caps Capabilities
}

const (
	sloFast  = 3
	sloDeep  = 30
	sloBatch = 86400
)

// taskTable is read-only after package initialisation.
var taskTable = map[TaskType]taskInfo{
	TaskIOCExtraction:           {taxonomy.Tier0, Capabilities{false, true, 4096, sloFast, false}},
	TaskLogSummarisation:        {taxonomy.Tier0, Capabilities{false, false, 8192, sloFast, false}},
	TaskEntityNormalisation:     {taxonomy.Tier0, Capabilities{false, true, 4096, sloFast, false}},
	TaskFPSuggestion:            {taxonomy.Tier0, Capabilities{false, true, 4096, sloFast, false}},
	TaskAlertClassification:     {taxonomy.Tier0, Capabilities{false, true, 4096, sloFast, false}},
	TaskSeverityAssessment:      {taxonomy.Tier0, Capabilities{false, true, 4096, sloFast, false}},
	TaskInvestigation:           {taxonomy.Tier1, Capabilities{true, true, 100000, sloDeep, false}},
	TaskCTEMCorrelation:         {taxonomy.Tier1, Capabilities{true, true, 50000, sloDeep, false}},
	TaskATLASReasoning:          {taxonomy.Tier1, Capabilities{true, true, 50000, sloDeep, false}},
	TaskAttackPathAnalysis:      {taxonomy.Tier1, Capabilities{true, true, 100000, sloDeep, false}},
	TaskIncidentReport:          {taxonomy.Tier1, Capabilities{false, true, 50000, sloDeep, false}},
	TaskPlaybookSelection:       {taxonomy.Tier1, Capabilities{true, true, 50000, sloDeep, false}},
	TaskFPPatternTraining:       {taxonomy.Tier2, Capabilities{false, true, 200000, sloBatch, false}},
	TaskPlaybookGeneration:      {taxonomy.Tier2, Capabilities{true, true, 100000, sloBatch, false}},
	TaskAgentRedTeam:            {taxonomy.Tier2, Capabilities{true, true, 200000, sloBatch, false}},
	TaskDetectionRuleGeneration: {taxonomy.Tier2, Capabilities{true, true, 100000, sloBatch, false}},
	TaskRetrospectiveAnalysis:   {taxonomy.Tier2, Capabilities{false, true, 200000, sloBatch, false}},
	TaskThreatLandscapeSummary:  {taxonomy.Tier2, Capabilities{false, false, 200000, sloBatch, false}},
}

// KnownTaskTypes returns the 18 known task types, sorted.
func KnownTaskTypes() []TaskType {
	out := make([]TaskType, 0, len(taskTable))
	for t := range taskTable {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// BaseTier returns the tier a known task type starts from; ok is false for an
// unknown task type (which Route treats as tier_1).
func BaseTier(t TaskType) (tier taxonomy.ModelTier, ok bool) {
	info, ok := taskTable[t]
	return info.tier, ok
}

// TaskCapabilities returns what a known task type needs from a model.
func TaskCapabilities(t TaskType) (Capabilities, bool) {
	info, ok := taskTable[t]
	return info.caps, ok
}
