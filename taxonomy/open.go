package taxonomy

// The open vocabularies: values written inside context, decision and outcome.
// Warden ships constants so services use the exact strings; Known reports
// whether a value is one of them. Unknown values are allowed on the wire and
// marshal unchanged, so records from other producers stay valid.

// DecisionType is decision.decision_type.
type DecisionType string

// Decision types.
const (
	DecisionClassify        DecisionType = "classify"
	DecisionEscalate        DecisionType = "escalate"
	DecisionAutoClose       DecisionType = "auto_close"
	DecisionRequestApproval DecisionType = "request_approval"
	DecisionExecutePlaybook DecisionType = "execute_playbook"
	DecisionApprove         DecisionType = "approve"
	DecisionReject          DecisionType = "reject"
	DecisionQuarantine      DecisionType = "quarantine"
	DecisionShortCircuit    DecisionType = "short_circuit"
	DecisionDegrade         DecisionType = "degrade"
	DecisionFailover        DecisionType = "failover"
	// DecisionRoute is the router's choice of model tier and provider.
	DecisionRoute DecisionType = "route"
)

// DecisionTypes returns every known decision type.
func DecisionTypes() []DecisionType {
	return []DecisionType{DecisionClassify, DecisionEscalate, DecisionAutoClose, DecisionRequestApproval,
		DecisionExecutePlaybook, DecisionApprove, DecisionReject, DecisionQuarantine, DecisionShortCircuit,
		DecisionDegrade, DecisionFailover, DecisionRoute}
}

// Known reports whether d is one of DecisionTypes.
func (d DecisionType) Known() bool { return known(d, DecisionTypes()) }

// OutcomeStatus is outcome.outcome_status.
type OutcomeStatus string

// Outcome statuses.
const (
	OutcomeSuccess            OutcomeStatus = "success"
	OutcomeFailed             OutcomeStatus = "failed"
	OutcomePendingApproval    OutcomeStatus = "pending_approval"
	OutcomeTimedOut           OutcomeStatus = "timed_out"
	OutcomeBlockedByGuardrail OutcomeStatus = "blocked_by_guardrail"
	OutcomeRolledBack         OutcomeStatus = "rolled_back"
)

// OutcomeStatuses returns every known outcome status.
func OutcomeStatuses() []OutcomeStatus {
	return []OutcomeStatus{OutcomeSuccess, OutcomeFailed, OutcomePendingApproval, OutcomeTimedOut,
		OutcomeBlockedByGuardrail, OutcomeRolledBack}
}

// Known reports whether o is one of OutcomeStatuses.
func (o OutcomeStatus) Known() bool { return known(o, OutcomeStatuses()) }

// DegradationLevel is context.degradation_level, ordered from best
// (full_capability) to worst (passthrough).
type DegradationLevel string

// Degradation levels, best first.
const (
	DegradationFullCapability    DegradationLevel = "full_capability"
	DegradationSecondaryActive   DegradationLevel = "secondary_active"
	DegradationDeterministicOnly DegradationLevel = "deterministic_only"
	DegradationPassthrough       DegradationLevel = "passthrough"
)

// DegradationLevels returns the four levels, best first.
func DegradationLevels() []DegradationLevel {
	return []DegradationLevel{DegradationFullCapability, DegradationSecondaryActive,
		DegradationDeterministicOnly, DegradationPassthrough}
}

// Known reports whether l is one of DegradationLevels.
func (l DegradationLevel) Known() bool { return known(l, DegradationLevels()) }

// Rank is l's 0-based position in DegradationLevels (0 = full capability), or
// -1 for an unknown level.
func (l DegradationLevel) Rank() int { return rank(l, DegradationLevels()) }

// ParseDegradationLevel accepts the four wire values and the alias "full" (the
// reference audit model's default), which parses to DegradationFullCapability.
func ParseDegradationLevel(s string) (DegradationLevel, error) {
	if s == "full" {
		return DegradationFullCapability, nil
	}
	if l := DegradationLevel(s); l.Known() {
		return l, nil
	}
	return "", unknown("degradation level", s)
}

// UnmarshalText parses with ParseDegradationLevel, so "full" read from
// configuration or an older record becomes DegradationFullCapability (as
// ModelTier accepts "tier_1+"); an unknown level is an error. Empty text
// decodes to the zero value ("not set"), so a zero value round-trips.
func (l *DegradationLevel) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*l = ""
		return nil
	}
	v, err := ParseDegradationLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ModelTier is context.llm_model_tier, ordered from lowest (tier_0) upwards.
// It is the only tier type in Warden.
type ModelTier string

// Model tiers, lowest first.
const (
	Tier0     ModelTier = "tier_0"      // fast, cheap
	Tier1     ModelTier = "tier_1"      // deep reasoning
	Tier1Plus ModelTier = "tier_1_plus" // complex cases and escalation, extended thinking
	Tier2     ModelTier = "tier_2"      // offline batch
)

// ModelTiers returns the four tiers, lowest first.
func ModelTiers() []ModelTier { return []ModelTier{Tier0, Tier1, Tier1Plus, Tier2} }

// Known reports whether t is one of ModelTiers.
func (t ModelTier) Known() bool { return known(t, ModelTiers()) }

// Rank is t's 0-based position in ModelTiers, or -1 for an unknown tier.
func (t ModelTier) Rank() int { return rank(t, ModelTiers()) }

func (t ModelTier) String() string { return string(t) }

// ParseModelTier accepts the four wire values and the reference router's
// spelling "tier_1+", which parses to Tier1Plus. Records are always written
// with "tier_1_plus".
func ParseModelTier(s string) (ModelTier, error) {
	if s == "tier_1+" {
		return Tier1Plus, nil
	}
	if t := ModelTier(s); t.Known() {
		return t, nil
	}
	return "", unknown("model tier", s)
}

// UnmarshalText parses with ParseModelTier, so "tier_1+" read from
// configuration becomes Tier1Plus. Empty text decodes to the zero value ("not
// set": the gateway writes llm_model_tier "" when no tier applies), so a zero
// value round-trips.
func (t *ModelTier) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = ""
		return nil
	}
	v, err := ParseModelTier(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Provider is context.llm_provider.
type Provider string

// LLM providers.
const (
	ProviderAnthropic Provider = "anthropic"
	ProviderOpenAI    Provider = "openai"
	ProviderLocal     Provider = "local"
	ProviderGroq      Provider = "groq"
)

// Providers returns every known provider.
func Providers() []Provider {
	return []Provider{ProviderAnthropic, ProviderOpenAI, ProviderLocal, ProviderGroq}
}

// Known reports whether p is one of Providers.
func (p Provider) Known() bool { return known(p, Providers()) }

// Classification is decision.classification.
type Classification string

// Classifications.
const (
	ClassificationTruePositive       Classification = "true_positive"
	ClassificationFalsePositive      Classification = "false_positive"
	ClassificationBenignTruePositive Classification = "benign_true_positive"
)

// Classifications returns every known classification.
func Classifications() []Classification {
	return []Classification{ClassificationTruePositive, ClassificationFalsePositive, ClassificationBenignTruePositive}
}

// Known reports whether c is one of Classifications.
func (c Classification) Known() bool { return known(c, Classifications()) }

// AssignedSeverity is decision.severity_assigned: the severity given to an
// alert, not to the audit record.
type AssignedSeverity string

// Assigned severities, most severe first.
const (
	AssignedCritical      AssignedSeverity = "critical"
	AssignedHigh          AssignedSeverity = "high"
	AssignedMedium        AssignedSeverity = "medium"
	AssignedLow           AssignedSeverity = "low"
	AssignedInformational AssignedSeverity = "informational"
)

// AssignedSeverities returns every known assigned severity, most severe first.
func AssignedSeverities() []AssignedSeverity {
	return []AssignedSeverity{AssignedCritical, AssignedHigh, AssignedMedium, AssignedLow, AssignedInformational}
}

// Known reports whether s is one of AssignedSeverities.
func (s AssignedSeverity) Known() bool { return known(s, AssignedSeverities()) }

// RiskState is context.risk_state. Absent data is RiskNoBaseline, never RiskLow.
type RiskState string

// Risk states.
const (
	RiskNoBaseline RiskState = "no_baseline"
	RiskUnknown    RiskState = "unknown"
	RiskLow        RiskState = "low"
	RiskMedium     RiskState = "medium"
	RiskHigh       RiskState = "high"
)

// RiskStates returns every known risk state.
func RiskStates() []RiskState {
	return []RiskState{RiskNoBaseline, RiskUnknown, RiskLow, RiskMedium, RiskHigh}
}

// Known reports whether r is one of RiskStates.
func (r RiskState) Known() bool { return known(r, RiskStates()) }

// ApprovalChannel is outcome.approval_channel.
type ApprovalChannel string

// Approval channels.
const (
	ChannelTeams ApprovalChannel = "teams"
	ChannelSlack ApprovalChannel = "slack"
	ChannelUI    ApprovalChannel = "ui"
	ChannelAPI   ApprovalChannel = "api"
)

// ApprovalChannels returns every known approval channel.
func ApprovalChannels() []ApprovalChannel {
	return []ApprovalChannel{ChannelTeams, ChannelSlack, ChannelUI, ChannelAPI}
}

// Known reports whether c is one of ApprovalChannels.
func (c ApprovalChannel) Known() bool { return known(c, ApprovalChannels()) }

func known[T comparable](v T, all []T) bool { return rank(v, all) >= 0 }

func rank[T comparable](v T, all []T) int {
	for i, k := range all {
		if k == v {
			return i
		}
	}
	return -1
}
