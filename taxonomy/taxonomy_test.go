package taxonomy

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specEvents is the event table of spec/taxonomy.md §2.1, typed out from the
// spec (row number, Go constant, wire value, category, first typical actor,
// description) independently of events.go, so a typo in either the constant's
// value or the package table fails here.
var specEvents = []struct {
	n           int
	constant    EventType
	wire        string
	category    string
	actor       string
	description string
}{
	{1, AlertClassified, "alert.classified", "decision", "agent", "Alert classified by LLM or deterministic rule"},
	{2, AlertAutoClosed, "alert.auto_closed", "decision", "agent", "Alert auto-closed (FP pattern match or LLM confidence)"},
	{3, AlertEscalated, "alert.escalated", "decision", "agent", "Alert escalated to a higher tier or to a human"},
	{4, AlertShortCircuited, "alert.short_circuited", "decision", "agent", "Alert closed by an FP pattern without an LLM call"},
	{5, InvestigationStateChanged, "investigation.state_changed", "decision", "agent", "Investigation moved to a new state (every graph edge)"},
	{6, InvestigationEnriched, "investigation.enriched", "decision", "agent", "Context enrichment completed"},
	{7, PlaybookSelected, "playbook.selected", "decision", "agent", "Playbook chosen for an investigation"},
	{8, PlaybookGenerated, "playbook.generated", "decision", "agent", "New playbook generated from an investigation pattern"},
	{9, CTEMExposureScored, "ctem.exposure_scored", "decision", "agent", "CTEM finding scored with consequence weighting"},
	{10, ATLASDetectionFired, "atlas.detection_fired", "decision", "agent", "ATLAS detection rule triggered"},
	{11, RoutingTierSelected, "routing.tier_selected", "decision", "agent", "LLM model tier chosen / LLM call completed (carries full LLM context)"},
	{12, RoutingProviderFailover, "routing.provider_failover", "decision", "system", "Primary LLM provider unavailable, secondary used"},
	{13, CanaryPromoted, "canary.promoted", "decision", "agent", "Canary slice promoted"},
	{14, CanaryRolledBack, "canary.rolled_back", "decision", "agent", "Canary slice rolled back to shadow"},
	{15, ShadowDecisionLogged, "shadow.decision_logged", "decision", "agent", "Shadow-mode decision recorded (not acted on)"},
	{16, ResponsePrepared, "response.prepared", "action", "agent", "Response action prepared (for approval)"},
	{17, ResponseExecuted, "response.executed", "action", "agent", "Response action executed"},
	{18, ResponseRolledBack, "response.rolled_back", "action", "human", "Response action reversed"},
	{19, IOCEnriched, "ioc.enriched", "action", "agent", "IOC looked up in threat-intel cache"},
	{20, FPPatternCreated, "fp_pattern.created", "action", "agent", "New FP pattern created (pending approval)"},
	{21, FPPatternActivated, "fp_pattern.activated", "action", "system", "FP pattern promoted from shadow to active"},
	{22, CTEMRemediationAssigned, "ctem.remediation_assigned", "action", "agent", "CTEM finding assigned to an owner"},
	{23, CTEMRemediationVerified, "ctem.remediation_verified", "action", "human", "CTEM remediation verified"},
	{24, KnowledgeIndexed, "knowledge.indexed", "action", "system", "Knowledge base updated (MITRE, TI, playbooks)"},
	{25, EmbeddingReindexed, "embedding.reindexed", "action", "system", "Collection re-embedded with a new model"},
	{26, ResponseGenerated, "response.generated", "action", "agent", "Response content generated"},
	{27, ApprovalRequested, "approval.requested", "approval", "agent", "Human approval requested for an action"},
	{28, ApprovalGranted, "approval.granted", "approval", "human", "Human approved the action"},
	{29, ApprovalDenied, "approval.denied", "approval", "human", "Human denied the action"},
	{30, ApprovalTimedOut, "approval.timed_out", "approval", "system", "Approval window expired without response"},
	{31, ApprovalEscalated, "approval.escalated", "approval", "system", "Approval re-routed to a secondary reviewer"},
	{32, FPPatternApproved, "fp_pattern.approved", "approval", "human", "FP pattern approved (two distinct approvers required)"},
	{33, FPPatternRevoked, "fp_pattern.revoked", "approval", "human", "FP pattern revoked"},
	{34, ShadowGoLiveApproved, "shadow.go_live_approved", "approval", "human", "Shadow-mode results approved for production"},
	{35, InjectionDetected, "injection.detected", "security", "system", "Prompt-injection pattern detected in alert data"},
	{36, InjectionQuarantined, "injection.quarantined", "security", "system", "Malicious input quarantined, not sent to the LLM"},
	{37, TechniqueQuarantined, "technique.quarantined", "security", "system", "Hallucinated technique ID blocked from automation"},
	{38, AccumulationThresholdBreached, "accumulation.threshold_breached", "security", "system", "Agent touched too many distinct entities"},
	{39, SpendSoftLimit, "spend.soft_limit", "security", "system", "LLM spend approaching its limit"},
	{40, SpendHardLimit, "spend.hard_limit", "security", "system", "LLM spend hard cap hit; non-critical calls blocked"},
	{41, DegradationEntered, "degradation.entered", "system", "system", "System entered a degradation level"},
	{42, DegradationExited, "degradation.exited", "system", "system", "System recovered to a higher capability"},
	{43, KillSwitchActivated, "kill_switch.activated", "system", "human", "Auto-close disabled for a scope"},
	{44, KillSwitchDeactivated, "kill_switch.deactivated", "system", "human", "Auto-close re-enabled for a scope"},
	{45, ConfigChanged, "config.changed", "system", "human", "Configuration parameter changed (before/after in outcome)"},
	{46, CircuitBreakerOpened, "circuit_breaker.opened", "system", "system", "Circuit breaker tripped for a dependency"},
	{47, CircuitBreakerClosed, "circuit_breaker.closed", "system", "system", "Circuit breaker recovered"},
	{48, SystemGenesis, "system.genesis", "system", "system", "First record of a tenant's hash chain (written only by `audit/chain`)"},
}

// Checklist 9 and the issue-2 table test: every Go constant has the spec's wire
// value, parses back to itself and has the spec's category, typical actor and
// description.
func TestItem09_EveryConstantMatchesSpecTable(t *testing.T) {
	require.Len(t, specEvents, 48)
	for i, row := range specEvents {
		require.Equal(t, i+1, row.n, "rows in spec order")
		assert.Equal(t, row.wire, string(row.constant), "constant for row %d", row.n)
		got, err := ParseEventType(row.wire)
		require.NoError(t, err, row.wire)
		assert.Equal(t, row.constant, got)
		assert.True(t, got.Valid())
		assert.Equal(t, Category(row.category), got.Category(), row.wire)
		assert.Equal(t, row.wire, got.String())
		info, ok := Describe(got)
		require.True(t, ok)
		assert.Equal(t, EventInfo{Type: got, Category: Category(row.category), TypicalActor: ActorType(row.actor),
			Description: row.description}, info, row.wire)
	}
	// table order
	want := make([]EventType, len(specEvents))
	for i, row := range specEvents {
		want[i] = EventType(row.wire)
	}
	assert.Equal(t, want, EventTypes())
}

// Checklist 1.
func TestItem01_FortyEightUniqueDottedTypes(t *testing.T) {
	types := EventTypes()
	require.Len(t, types, 48)
	seen := map[EventType]bool{}
	for _, et := range types {
		assert.False(t, seen[et], "duplicate %s", et)
		seen[et] = true
		assert.Equal(t, 1, strings.Count(string(et), "."), "exactly one dot: %s", et)
		subject, verb, _ := strings.Cut(string(et), ".")
		assert.NotEmpty(t, subject)
		assert.NotEmpty(t, verb)
	}
}

// Checklist 2.
func TestItem02_EveryTypeHasAValidCategory(t *testing.T) {
	for _, et := range EventTypes() {
		c := et.Category()
		assert.NotEmpty(t, c, et)
		assert.True(t, c.Valid(), et)
		assert.Contains(t, Categories(), c)
	}
}

// Checklist 3.
func TestItem03_CategoryCounts(t *testing.T) {
	counts := map[Category]int{}
	for _, et := range EventTypes() {
		counts[et.Category()]++
	}
	assert.Equal(t, map[Category]int{"decision": 15, "action": 11, "approval": 8, "security": 6, "system": 8}, counts)
	for c, n := range counts {
		assert.Len(t, EventTypesIn(c), n, c)
	}
}

// Checklist 4.
func TestItem04_EveryCategoryUsed(t *testing.T) {
	assert.Equal(t, []Category{"decision", "action", "approval", "security", "system"}, Categories())
	for _, c := range Categories() {
		assert.NotEmpty(t, EventTypesIn(c), c)
	}
}

// Checklist 5: the list of types and the per-category view are the same set.
func TestItem05_TypesAndCategoryTableSameSet(t *testing.T) {
	var fromCategories []EventType
	for _, c := range Categories() {
		fromCategories = append(fromCategories, EventTypesIn(c)...)
	}
	all := EventTypes()
	slices.Sort(fromCategories)
	slices.Sort(all)
	assert.Equal(t, all, fromCategories)
	for _, et := range all {
		_, ok := Describe(et)
		assert.True(t, ok, et)
	}
}

// Checklist 6.
func TestItem06_AlertClassified(t *testing.T) {
	assert.Equal(t, "alert.classified", AlertClassified.String())
	assert.Equal(t, CategoryDecision, AlertClassified.Category())
}

// Checklist 7.
func TestItem07_CanaryAndShadowAreDecisions(t *testing.T) {
	for _, et := range []EventType{CanaryPromoted, CanaryRolledBack, ShadowDecisionLogged} {
		assert.Equal(t, CategoryDecision, et.Category(), et)
	}
}

// Checklist 8.
func TestItem08_CategoryTraps(t *testing.T) {
	assert.Equal(t, CategorySecurity, SpendSoftLimit.Category())
	assert.Equal(t, CategorySecurity, SpendHardLimit.Category())
	assert.Equal(t, CategorySystem, SystemGenesis.Category())
	assert.Equal(t, CategoryApproval, FPPatternApproved.Category())
	assert.Equal(t, CategoryApproval, FPPatternRevoked.Category())
	assert.Equal(t, CategoryAction, FPPatternCreated.Category())
	assert.Equal(t, CategoryAction, FPPatternActivated.Category())
}

// Checklist 10.
func TestItem10_UnknownEventTypeError(t *testing.T) {
	got, err := ParseEventType("not.a.real.event")
	assert.Empty(t, got)
	var ue *UnknownValueError
	require.True(t, errors.As(err, &ue))
	assert.Equal(t, "event type", ue.Kind)
	assert.Equal(t, "not.a.real.event", ue.Value)
	assert.ErrorIs(t, err, ErrUnknown)
	assert.Equal(t, `taxonomy: unknown event type "not.a.real.event"`, err.Error())
}

// Checklist 11 (plus the §3.1 list): exact, case-sensitive, no trimming.
func TestItem11_ExactMatchOnly(t *testing.T) {
	for _, s := range []string{"", "ALERT.CLASSIFIED", "Alert.Classified", " alert.classified", "alert.classified ",
		"alert.classified\n", "alert_classified", "alert.classified\x00"} {
		_, err := ParseEventType(s)
		assert.ErrorIs(t, err, ErrUnknown, "%q", s)
		assert.False(t, EventType(s).Valid(), "%q", s)
	}
	// control characters are visible in the message (Go quoting)
	_, err := ParseEventType("a\nb")
	assert.Equal(t, `taxonomy: unknown event type "a\nb"`, err.Error())
}

// Checklist 12.
func TestItem12_ReferenceOnlyEventIsUnknown(t *testing.T) {
	_, err := ParseEventType("canary.evaluation_cycle")
	assert.ErrorIs(t, err, ErrUnknown)
}

// Checklist 13.
func TestItem13_ParseSeverity(t *testing.T) {
	for s, want := range map[string]Severity{"info": SeverityInfo, "warning": SeverityWarning, "critical": SeverityCritical} {
		got, err := ParseSeverity(s)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		assert.True(t, got.Valid())
	}
	assert.Equal(t, []Severity{"info", "warning", "critical"}, Severities())
	for _, s := range []string{"unknown", "Info", "error", ""} {
		got, err := ParseSeverity(s)
		assert.Empty(t, got)
		var ue *UnknownValueError
		require.True(t, errors.As(err, &ue), s)
		assert.Equal(t, "severity", ue.Kind)
		assert.ErrorIs(t, err, ErrUnknown)
	}
}

// Checklist 14.
func TestItem14_ParseActorType(t *testing.T) {
	for s, want := range map[string]ActorType{"agent": ActorAgent, "human": ActorHuman, "system": ActorSystem, "scheduler": ActorScheduler} {
		got, err := ParseActorType(s)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	assert.Equal(t, []ActorType{"agent", "human", "system", "scheduler"}, ActorTypes())
	for _, s := range []string{"attacker", "Agent", ""} {
		_, err := ParseActorType(s)
		var ue *UnknownValueError
		require.True(t, errors.As(err, &ue), s)
		assert.Equal(t, "actor type", ue.Kind)
	}
}

func TestParseCategory(t *testing.T) {
	for _, c := range []string{"decision", "action", "approval", "security", "system"} {
		got, err := ParseCategory(c)
		require.NoError(t, err)
		assert.Equal(t, Category(c), got)
	}
	for _, s := range []string{"human", "Decision", ""} { // the reference's tests used "human"
		_, err := ParseCategory(s)
		var ue *UnknownValueError
		require.True(t, errors.As(err, &ue), s)
		assert.Equal(t, "category", ue.Kind)
	}
}

// Checklist 15.
func TestItem15_ModelTierAlias(t *testing.T) {
	got, err := ParseModelTier("tier_1+")
	require.NoError(t, err)
	assert.Equal(t, Tier1Plus, got)
	assert.Equal(t, "tier_1_plus", Tier1Plus.String())
	for _, s := range []string{"tier_0", "tier_1", "tier_1_plus", "tier_2"} {
		got, err := ParseModelTier(s)
		require.NoError(t, err)
		assert.Equal(t, ModelTier(s), got)
	}
	for _, s := range []string{"tier_3", "Tier_1", "tier_1 +", "tier1+", ""} {
		_, err := ParseModelTier(s)
		var ue *UnknownValueError
		require.True(t, errors.As(err, &ue), s)
		assert.Equal(t, "model tier", ue.Kind)
	}
}

// Checklist 16.
func TestItem16_DegradationAlias(t *testing.T) {
	for _, s := range []string{"full", "full_capability"} {
		got, err := ParseDegradationLevel(s)
		require.NoError(t, err)
		assert.Equal(t, DegradationFullCapability, got)
	}
	for _, s := range []string{"secondary_active", "deterministic_only", "passthrough"} {
		got, err := ParseDegradationLevel(s)
		require.NoError(t, err)
		assert.Equal(t, DegradationLevel(s), got)
	}
	// the audit model's never-implemented levels are not accepted
	for _, s := range []string{"structured_search", "static_consequence", "FULL", ""} {
		_, err := ParseDegradationLevel(s)
		var ue *UnknownValueError
		require.True(t, errors.As(err, &ue), s)
		assert.Equal(t, "degradation level", ue.Kind)
	}
}

func TestRankOrder(t *testing.T) {
	assert.Equal(t, []ModelTier{"tier_0", "tier_1", "tier_1_plus", "tier_2"}, ModelTiers())
	for i, tier := range ModelTiers() {
		assert.Equal(t, i, tier.Rank(), tier)
	}
	assert.Less(t, Tier1.Rank(), Tier1Plus.Rank())
	assert.Equal(t, -1, ModelTier("tier_1+").Rank(), "the alias is not a wire value; parse it first")
	assert.Equal(t, -1, ModelTier("").Rank())

	assert.Equal(t, []DegradationLevel{"full_capability", "secondary_active", "deterministic_only", "passthrough"}, DegradationLevels())
	for i, l := range DegradationLevels() {
		assert.Equal(t, i, l.Rank(), l)
	}
	assert.Equal(t, -1, DegradationLevel("full").Rank())
	assert.Equal(t, -1, DegradationLevel("degraded").Rank())
}

// Checklist 17.
func TestItem17_UnknownTypeCategoryAndMarshal(t *testing.T) {
	bogus := EventType("bogus.event")
	assert.NotPanics(t, func() { assert.Equal(t, Category(""), bogus.Category()) })
	b, err := bogus.MarshalText()
	assert.Nil(t, b)
	assert.ErrorIs(t, err, ErrUnknown)
	_, err = json.Marshal(struct{ T EventType }{bogus})
	assert.ErrorIs(t, err, ErrUnknown)
	info, ok := Describe(bogus)
	assert.False(t, ok)
	assert.Equal(t, EventInfo{}, info)

	for _, v := range []interface{ MarshalText() ([]byte, error) }{Category("human"), ActorType("robot"), Severity("error")} {
		_, err := v.MarshalText()
		assert.ErrorIs(t, err, ErrUnknown, "%v", v)
	}
}

// Checklist 18 plus JSON round trips of every closed vocabulary.
func TestItem18_JSONUnmarshal(t *testing.T) {
	var et EventType
	require.NoError(t, json.Unmarshal([]byte(`"approval.granted"`), &et))
	assert.Equal(t, ApprovalGranted, et)
	err := json.Unmarshal([]byte(`"approval.maybe"`), &et)
	assert.ErrorIs(t, err, ErrUnknown)
	assert.Equal(t, ApprovalGranted, et, "a failed unmarshal leaves the value unchanged")

	type rec struct {
		Type     EventType `json:"event_type"`
		Category Category  `json:"event_category"`
		Actor    ActorType `json:"actor_type"`
		Severity Severity  `json:"severity"`
		Tier     ModelTier `json:"llm_model_tier"`
		Level    DegradationLevel
		Decision DecisionType
	}
	var zero rec
	zero.Type, zero.Category, zero.Actor, zero.Severity = AlertClassified, CategoryDecision, ActorAgent, SeverityInfo
	zb, err := json.Marshal(zero)
	require.NoError(t, err)
	var zback rec
	require.NoError(t, json.Unmarshal(zb, &zback), "empty tier and level decode")
	assert.Equal(t, zero, zback)

	for _, typ := range EventTypes() {
		in := rec{typ, typ.Category(), ActorScheduler, SeverityWarning, Tier1Plus, DegradationPassthrough, DecisionRoute}
		b, err := json.Marshal(in)
		require.NoError(t, err)
		var out rec
		require.NoError(t, json.Unmarshal(b, &out))
		assert.Equal(t, in, out)
	}
	b, err := json.Marshal(rec{AlertClassified, CategoryDecision, ActorAgent, SeverityInfo, Tier1Plus, DegradationFullCapability, DecisionClassify})
	require.NoError(t, err)
	assert.JSONEq(t, `{"event_type":"alert.classified","event_category":"decision","actor_type":"agent","severity":"info",
		"llm_model_tier":"tier_1_plus","Level":"full_capability","Decision":"classify"}`, string(b))

	var tier ModelTier
	require.NoError(t, json.Unmarshal([]byte(`"tier_1+"`), &tier))
	assert.Equal(t, Tier1Plus, tier)
	assert.ErrorIs(t, json.Unmarshal([]byte(`"tier_9"`), &tier), ErrUnknown)

	// empty = not set: the zero value round-trips for both aliased types
	tier = Tier2
	require.NoError(t, json.Unmarshal([]byte(`""`), &tier))
	assert.Equal(t, ModelTier(""), tier)

	var level DegradationLevel
	require.NoError(t, json.Unmarshal([]byte(`""`), &level))
	assert.Equal(t, DegradationLevel(""), level)
	require.NoError(t, json.Unmarshal([]byte(`"full"`), &level))
	assert.Equal(t, DegradationFullCapability, level)
	assert.ErrorIs(t, json.Unmarshal([]byte(`"half"`), &level), ErrUnknown)

	var c Category
	assert.ErrorIs(t, json.Unmarshal([]byte(`"human"`), &c), ErrUnknown)
	var a ActorType
	require.NoError(t, json.Unmarshal([]byte(`"human"`), &a))
	assert.Equal(t, ActorHuman, a)
	var s Severity
	assert.ErrorIs(t, json.Unmarshal([]byte(`"Info"`), &s), ErrUnknown)
}

// MarshalText/UnmarshalText directly, for each closed type.
func TestTextRoundTrip(t *testing.T) {
	for _, et := range EventTypes() {
		b, err := et.MarshalText()
		require.NoError(t, err)
		var back EventType
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, et, back)
	}
	for _, c := range Categories() {
		b, err := c.MarshalText()
		require.NoError(t, err)
		var back Category
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, c, back)
		assert.Equal(t, string(c), c.String())
	}
	for _, a := range ActorTypes() {
		b, err := a.MarshalText()
		require.NoError(t, err)
		var back ActorType
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, a, back)
		assert.Equal(t, string(a), a.String())
	}
	for _, s := range Severities() {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back Severity
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, s, back)
		assert.Equal(t, string(s), s.String())
	}
	var back ActorType = ActorAgent
	assert.ErrorIs(t, back.UnmarshalText([]byte("robot")), ErrUnknown)
	assert.Equal(t, ActorAgent, back)
}

// Checklist 19.
func TestItem19_ReturnedSlicesAreCopies(t *testing.T) {
	first := EventTypes()
	first[0] = "tampered.value"
	assert.Equal(t, AlertClassified, EventTypes()[0])

	cats := Categories()
	cats[0] = "tampered"
	assert.Equal(t, CategoryDecision, Categories()[0])
	assert.True(t, CategoryDecision.Valid())
	assert.False(t, Category("tampered").Valid())

	in := EventTypesIn(CategorySystem)
	in[0] = "tampered.value"
	assert.Equal(t, DegradationEntered, EventTypesIn(CategorySystem)[0])

	tiers := ModelTiers()
	tiers[0] = "tier_9"
	assert.Equal(t, 0, Tier0.Rank())
	dts := DecisionTypes()
	dts[0] = "maybe"
	assert.True(t, DecisionClassify.Known())
}

// Checklist 20.
func TestItem20_ApprovalTypesInOrder(t *testing.T) {
	assert.Equal(t, []EventType{"approval.requested", "approval.granted", "approval.denied", "approval.timed_out",
		"approval.escalated", "fp_pattern.approved", "fp_pattern.revoked", "shadow.go_live_approved"},
		EventTypesIn(CategoryApproval))
	assert.Equal(t, []EventType{}, EventTypesIn("human"))
	assert.NotNil(t, EventTypesIn("human"))
	assert.Empty(t, EventTypesIn(""))
}

// Checklist 21.
func TestItem21_DescribeGenesis(t *testing.T) {
	info, ok := Describe(SystemGenesis)
	require.True(t, ok)
	assert.Equal(t, SystemGenesis, info.Type)
	assert.Equal(t, CategorySystem, info.Category)
	assert.Equal(t, ActorSystem, info.TypicalActor)
	assert.NotEmpty(t, info.Description)
}

// Checklist 22: every open-vocabulary constant against the spec's value list
// (§2.4), plus DecisionRoute which issue 2 adds.
func TestItem22_OpenVocabularies(t *testing.T) {
	decisions := map[DecisionType]string{
		DecisionClassify: "classify", DecisionEscalate: "escalate", DecisionAutoClose: "auto_close",
		DecisionRequestApproval: "request_approval", DecisionExecutePlaybook: "execute_playbook",
		DecisionApprove: "approve", DecisionReject: "reject", DecisionQuarantine: "quarantine",
		DecisionShortCircuit: "short_circuit", DecisionDegrade: "degrade", DecisionFailover: "failover",
		DecisionRoute: "route",
	}
	checkOpen(t, decisions, DecisionTypes(), DecisionType.Known)
	checkOpen(t, map[OutcomeStatus]string{
		OutcomeSuccess: "success", OutcomeFailed: "failed", OutcomePendingApproval: "pending_approval",
		OutcomeTimedOut: "timed_out", OutcomeBlockedByGuardrail: "blocked_by_guardrail", OutcomeRolledBack: "rolled_back",
	}, OutcomeStatuses(), OutcomeStatus.Known)
	checkOpen(t, map[DegradationLevel]string{
		DegradationFullCapability: "full_capability", DegradationSecondaryActive: "secondary_active",
		DegradationDeterministicOnly: "deterministic_only", DegradationPassthrough: "passthrough",
	}, DegradationLevels(), DegradationLevel.Known)
	checkOpen(t, map[ModelTier]string{Tier0: "tier_0", Tier1: "tier_1", Tier1Plus: "tier_1_plus", Tier2: "tier_2"},
		ModelTiers(), ModelTier.Known)
	checkOpen(t, map[Provider]string{ProviderAnthropic: "anthropic", ProviderOpenAI: "openai", ProviderLocal: "local", ProviderGroq: "groq"},
		Providers(), Provider.Known)
	checkOpen(t, map[Classification]string{ClassificationTruePositive: "true_positive",
		ClassificationFalsePositive: "false_positive", ClassificationBenignTruePositive: "benign_true_positive"},
		Classifications(), Classification.Known)
	checkOpen(t, map[AssignedSeverity]string{AssignedCritical: "critical", AssignedHigh: "high", AssignedMedium: "medium",
		AssignedLow: "low", AssignedInformational: "informational"}, AssignedSeverities(), AssignedSeverity.Known)
	checkOpen(t, map[RiskState]string{RiskNoBaseline: "no_baseline", RiskUnknown: "unknown", RiskLow: "low",
		RiskMedium: "medium", RiskHigh: "high"}, RiskStates(), RiskState.Known)
	checkOpen(t, map[ApprovalChannel]string{ChannelTeams: "teams", ChannelSlack: "slack", ChannelUI: "ui", ChannelAPI: "api"},
		ApprovalChannels(), ApprovalChannel.Known)

	// An unknown open value is allowed: not Known, marshals unchanged.
	maybe := DecisionType("maybe")
	assert.False(t, maybe.Known())
	b, err := json.Marshal(maybe)
	require.NoError(t, err)
	assert.Equal(t, `"maybe"`, string(b))
	var back DecisionType
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, maybe, back)
	for _, v := range []interface{ Known() bool }{OutcomeStatus("maybe"), Provider("mistral"), Classification("maybe"),
		AssignedSeverity("severe"), RiskState("maybe"), ApprovalChannel("fax"), ModelTier("tier_1+"), DegradationLevel("full")} {
		assert.False(t, v.Known(), "%v", v)
	}
	b, err = json.Marshal(struct{ P Provider }{"mistral"})
	require.NoError(t, err)
	assert.Equal(t, `{"P":"mistral"}`, string(b))
}

// checkOpen asserts that the constants have exactly the spec's wire values and
// that the list function returns exactly those constants, each Known.
func checkOpen[T ~string](t *testing.T, consts map[T]string, listed []T, known func(T) bool) {
	t.Helper()
	require.Len(t, listed, len(consts), "list and spec have the same size (%T)", listed)
	for c, wire := range consts {
		assert.Equal(t, wire, string(c))
		assert.True(t, known(c), wire)
		assert.Contains(t, listed, c)
	}
	assert.False(t, known(T("")), "empty value is not Known (%T)", listed)
}

func TestErrorFormat(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{func() error { _, err := ParseCategory("x"); return err }(), `taxonomy: unknown category "x"`},
		{func() error { _, err := ParseActorType("x"); return err }(), `taxonomy: unknown actor type "x"`},
		{func() error { _, err := ParseSeverity("x"); return err }(), `taxonomy: unknown severity "x"`},
		{func() error { _, err := ParseModelTier("x"); return err }(), `taxonomy: unknown model tier "x"`},
		{func() error { _, err := ParseDegradationLevel("x"); return err }(), `taxonomy: unknown degradation level "x"`},
		{func() error { _, err := ParseEventType("\x00\u202e"); return err }(), `taxonomy: unknown event type "\x00\u202e"`},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.err.Error())
		assert.ErrorIs(t, tc.err, ErrUnknown)
	}
	assert.False(t, errors.Is(errors.New("other"), ErrUnknown))
}

// Checklist 23.
func FuzzParseEventType(f *testing.F) {
	for _, et := range EventTypes() {
		f.Add(string(et))
	}
	for _, s := range []string{"", "ALERT.CLASSIFIED", " alert.classified", "canary.evaluation_cycle", "not.a.real.event", "\xff"} {
		f.Add(s)
	}
	valid := map[string]bool{}
	for _, row := range specEvents {
		valid[row.wire] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseEventType(s)
		if valid[s] {
			if err != nil || string(got) != s {
				t.Fatalf("ParseEventType(%q) = %q, %v", s, got, err)
			}
			return
		}
		if err == nil || got != "" || !errors.Is(err, ErrUnknown) {
			t.Fatalf("ParseEventType(%q) = %q, %v; want unknown", s, got, err)
		}
		if EventType(s).Valid() || EventType(s).Category() != "" {
			t.Fatalf("%q reported valid", s)
		}
		var ue *UnknownValueError
		if !errors.As(err, &ue) || ue.Value != s || ue.Kind != "event type" {
			t.Fatalf("bad error %#v", err)
		}
	})
}

func BenchmarkParseEventType(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEventType("routing.tier_selected"); err != nil {
			b.Fatal(err)
		}
	}
}
