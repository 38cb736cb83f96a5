// The event table of the taxonomy specification, in table order.

package taxonomy

// The 48 event types, in table order. Their wire values are the strings the
// reference platform writes; a typo here would be caught by the table test.
const (
	// decision events
	AlertClassified           EventType = "alert.classified"            // Alert classified by LLM or deterministic rule
	AlertAutoClosed           EventType = "alert.auto_closed"           // Alert auto-closed (FP pattern match or LLM confidence)
	AlertEscalated            EventType = "alert.escalated"             // Alert escalated to a higher tier or to a human
	AlertShortCircuited       EventType = "alert.short_circuited"       // Alert closed by an FP pattern without an LLM call
	InvestigationStateChanged EventType = "investigation.state_changed" // Investigation moved to a new state (every graph edge)
	InvestigationEnriched     EventType = "investigation.enriched"      // Context enrichment completed
	PlaybookSelected          EventType = "playbook.selected"           // Playbook chosen for an investigation
	PlaybookGenerated         EventType = "playbook.generated"          // New playbook generated from an investigation pattern
	CTEMExposureScored        EventType = "ctem.exposure_scored"        // CTEM finding scored with consequence weighting
	ATLASDetectionFired       EventType = "atlas.detection_fired"       // ATLAS detection rule triggered
	RoutingTierSelected       EventType = "routing.tier_selected"       // LLM model tier chosen / LLM call completed (carries full LLM context)
	RoutingProviderFailover   EventType = "routing.provider_failover"   // Primary LLM provider unavailable, secondary used
	CanaryPromoted            EventType = "canary.promoted"             // Canary slice promoted
	CanaryRolledBack          EventType = "canary.rolled_back"          // Canary slice rolled back to shadow
	ShadowDecisionLogged      EventType = "shadow.decision_logged"      // Shadow-mode decision recorded (not acted on)
	// action events
	ResponsePrepared        EventType = "response.prepared"         // Response action prepared (for approval)
	ResponseExecuted        EventType = "response.executed"         // Response action executed
	ResponseRolledBack      EventType = "response.rolled_back"      // Response action reversed
	IOCEnriched             EventType = "ioc.enriched"              // IOC looked up in threat-intel cache
	FPPatternCreated        EventType = "fp_pattern.created"        // New FP pattern created (pending approval)
	FPPatternActivated      EventType = "fp_pattern.activated"      // FP pattern promoted from shadow to active
	CTEMRemediationAssigned EventType = "ctem.remediation_assigned" // CTEM finding assigned to an owner
	CTEMRemediationVerified EventType = "ctem.remediation_verified" // CTEM remediation verified
	KnowledgeIndexed        EventType = "knowledge.indexed"         // Knowledge base updated (MITRE, TI, playbooks)
	EmbeddingReindexed      EventType = "embedding.reindexed"       // Collection re-embedded with a new model
	ResponseGenerated       EventType = "response.generated"        // Response content generated
	// approval events
	ApprovalRequested    EventType = "approval.requested"      // Human approval requested for an action
	ApprovalGranted      EventType = "approval.granted"        // Human approved the action
	ApprovalDenied       EventType = "approval.denied"         // Human denied the action
	ApprovalTimedOut     EventType = "approval.timed_out"      // Approval window expired without response
	ApprovalEscalated    EventType = "approval.escalated"      // Approval re-routed to a secondary reviewer
	FPPatternApproved    EventType = "fp_pattern.approved"     // FP pattern approved (two distinct approvers required)
	FPPatternRevoked     EventType = "fp_pattern.revoked"      // FP pattern revoked
	ShadowGoLiveApproved EventType = "shadow.go_live_approved" // Shadow-mode results approved for production
	// security events
	InjectionDetected             EventType = "injection.detected"              // Prompt-injection pattern detected in alert data
	InjectionQuarantined          EventType = "injection.quarantined"           // Malicious input quarantined, not sent to the LLM
	TechniqueQuarantined          EventType = "technique.quarantined"           // Hallucinated technique ID blocked from automation
	AccumulationThresholdBreached EventType = "accumulation.threshold_breached" // Agent touched too many distinct entities
	SpendSoftLimit                EventType = "spend.soft_limit"                // LLM spend approaching its limit
	SpendHardLimit                EventType = "spend.hard_limit"                // LLM spend hard cap hit; non-critical calls blocked
	// system events
	DegradationEntered    EventType = "degradation.entered"     // System entered a degradation level
	DegradationExited     EventType = "degradation.exited"      // System recovered to a higher capability
	KillSwitchActivated   EventType = "kill_switch.activated"   // Auto-close disabled for a scope
	KillSwitchDeactivated EventType = "kill_switch.deactivated" // Auto-close re-enabled for a scope
	ConfigChanged         EventType = "config.changed"          // Configuration parameter changed (before/after in outcome)
	CircuitBreakerOpened  EventType = "circuit_breaker.opened"  // Circuit breaker tripped for a dependency
	CircuitBreakerClosed  EventType = "circuit_breaker.closed"  // Circuit breaker recovered
	SystemGenesis         EventType = "system.genesis"          // First record of a tenant's hash chain (written only by audit/chain)
)

// eventTable is the single source of every event type's category, typical actor and
// description. Lookups go through eventIndex; callers only ever see copies.
var eventTable = [...]EventInfo{
	{AlertClassified, CategoryDecision, ActorAgent, "Alert classified by LLM or deterministic rule"},
	{AlertAutoClosed, CategoryDecision, ActorAgent, "Alert auto-closed (FP pattern match or LLM confidence)"},
	{AlertEscalated, CategoryDecision, ActorAgent, "Alert escalated to a higher tier or to a human"},
	{AlertShortCircuited, CategoryDecision, ActorAgent, "Alert closed by an FP pattern without an LLM call"},
	{InvestigationStateChanged, CategoryDecision, ActorAgent, "Investigation moved to a new state (every graph edge)"},
	{InvestigationEnriched, CategoryDecision, ActorAgent, "Context enrichment completed"},
	{PlaybookSelected, CategoryDecision, ActorAgent, "Playbook chosen for an investigation"},
	{PlaybookGenerated, CategoryDecision, ActorAgent, "New playbook generated from an investigation pattern"},
	{CTEMExposureScored, CategoryDecision, ActorAgent, "CTEM finding scored with consequence weighting"},
	{ATLASDetectionFired, CategoryDecision, ActorAgent, "ATLAS detection rule triggered"},
	{RoutingTierSelected, CategoryDecision, ActorAgent, "LLM model tier chosen / LLM call completed (carries full LLM context)"},
	{RoutingProviderFailover, CategoryDecision, ActorSystem, "Primary LLM provider unavailable, secondary used"},
	{CanaryPromoted, CategoryDecision, ActorAgent, "Canary slice promoted"},
	{CanaryRolledBack, CategoryDecision, ActorAgent, "Canary slice rolled back to shadow"},
	{ShadowDecisionLogged, CategoryDecision, ActorAgent, "Shadow-mode decision recorded (not acted on)"},
	{ResponsePrepared, CategoryAction, ActorAgent, "Response action prepared (for approval)"},
	{ResponseExecuted, CategoryAction, ActorAgent, "Response action executed"},
	{ResponseRolledBack, CategoryAction, ActorHuman, "Response action reversed"},
	{IOCEnriched, CategoryAction, ActorAgent, "IOC looked up in threat-intel cache"},
	{FPPatternCreated, CategoryAction, ActorAgent, "New FP pattern created (pending approval)"},
	{FPPatternActivated, CategoryAction, ActorSystem, "FP pattern promoted from shadow to active"},
	{CTEMRemediationAssigned, CategoryAction, ActorAgent, "CTEM finding assigned to an owner"},
	{CTEMRemediationVerified, CategoryAction, ActorHuman, "CTEM remediation verified"},
	{KnowledgeIndexed, CategoryAction, ActorSystem, "Knowledge base updated (MITRE, TI, playbooks)"},
	{EmbeddingReindexed, CategoryAction, ActorSystem, "Collection re-embedded with a new model"},
	{ResponseGenerated, CategoryAction, ActorAgent, "Response content generated"},
	{ApprovalRequested, CategoryApproval, ActorAgent, "Human approval requested for an action"},
	{ApprovalGranted, CategoryApproval, ActorHuman, "Human approved the action"},
	{ApprovalDenied, CategoryApproval, ActorHuman, "Human denied the action"},
	{ApprovalTimedOut, CategoryApproval, ActorSystem, "Approval window expired without response"},
	{ApprovalEscalated, CategoryApproval, ActorSystem, "Approval re-routed to a secondary reviewer"},
	{FPPatternApproved, CategoryApproval, ActorHuman, "FP pattern approved (two distinct approvers required)"},
	{FPPatternRevoked, CategoryApproval, ActorHuman, "FP pattern revoked"},
	{ShadowGoLiveApproved, CategoryApproval, ActorHuman, "Shadow-mode results approved for production"},
	{InjectionDetected, CategorySecurity, ActorSystem, "Prompt-injection pattern detected in alert data"},
	{InjectionQuarantined, CategorySecurity, ActorSystem, "Malicious input quarantined, not sent to the LLM"},
	{TechniqueQuarantined, CategorySecurity, ActorSystem, "Hallucinated technique ID blocked from automation"},
	{AccumulationThresholdBreached, CategorySecurity, ActorSystem, "Agent touched too many distinct entities"},
	{SpendSoftLimit, CategorySecurity, ActorSystem, "LLM spend approaching its limit"},
	{SpendHardLimit, CategorySecurity, ActorSystem, "LLM spend hard cap hit; non-critical calls blocked"},
	{DegradationEntered, CategorySystem, ActorSystem, "System entered a degradation level"},
	{DegradationExited, CategorySystem, ActorSystem, "System recovered to a higher capability"},
	{KillSwitchActivated, CategorySystem, ActorHuman, "Auto-close disabled for a scope"},
	{KillSwitchDeactivated, CategorySystem, ActorHuman, "Auto-close re-enabled for a scope"},
	{ConfigChanged, CategorySystem, ActorHuman, "Configuration parameter changed (before/after in outcome)"},
	{CircuitBreakerOpened, CategorySystem, ActorSystem, "Circuit breaker tripped for a dependency"},
	{CircuitBreakerClosed, CategorySystem, ActorSystem, "Circuit breaker recovered"},
	{SystemGenesis, CategorySystem, ActorSystem, "First record of a tenant's hash chain (written only by `audit/chain`)"},
}
