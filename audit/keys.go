package audit

// Well-known keys of the context object.
const (
	KeyLLMProvider              = "llm_provider"
	KeyLLMModelID               = "llm_model_id"
	KeyLLMModelTier             = "llm_model_tier"
	KeyLLMSystemPromptHash      = "llm_system_prompt_hash"
	KeyLLMUserContentHash       = "llm_user_content_hash"
	KeyLLMPromptTemplateID      = "llm_prompt_template_id"
	KeyLLMPromptTemplateVersion = "llm_prompt_template_version"
	KeyLLMInputTokens           = "llm_input_tokens"
	KeyLLMOutputTokens          = "llm_output_tokens"
	KeyLLMCacheReadTokens       = "llm_cache_read_tokens"
	KeyLLMCacheWriteTokens      = "llm_cache_write_tokens"
	KeyLLMCostUSD               = "llm_cost_usd"
	KeyLLMLatencyMS             = "llm_latency_ms"
	KeyLLMRawResponseHash       = "llm_raw_response_hash"
	KeyLLMExtendedThinkingUsed  = "llm_extended_thinking_used"
	KeyLLMToolUseSchema         = "llm_tool_use_schema"
	KeyRetrievalStoresQueried   = "retrieval_stores_queried"
	KeyRetrievalQueryHashes     = "retrieval_query_hashes"
	KeyRetrievalResultsCount    = "retrieval_results_count"
	KeyRetrievalResultsUsed     = "retrieval_results_used"
	KeyRetrievalTokenBudget     = "retrieval_token_budget"
	KeyRetrievalTokenUsed       = "retrieval_token_used"
	KeyRetrievalSources         = "retrieval_sources"
	KeyTaxonomyVersionAttack    = "taxonomy_version_attack"
	KeyTaxonomyVersionAtlas     = "taxonomy_version_atlas"
	KeyTechniquesIdentified     = "techniques_identified"
	KeyTechniquesValidated      = "techniques_validated"
	KeyTechniquesQuarantined    = "techniques_quarantined"
	KeyRiskState                = "risk_state"
	KeyRiskDataFreshnessHours   = "risk_data_freshness_hours"
	KeyCTEMExposuresMatched     = "ctem_exposures_matched"
	KeySimilarIncidentsFound    = "similar_incidents_found"
	KeyFPPatternsChecked        = "fp_patterns_checked"
	KeyFPPatternMatched         = "fp_pattern_matched"
	KeyDegradationLevel         = "degradation_level"
	KeyProviderHealth           = "provider_health"
	KeyEvidenceRefs             = "evidence_refs"
	// KeyRoutingDecisionID joins the router's routing.tier_selected record
	// of a decision with the gateway's record of the completed call.
	KeyRoutingDecisionID = "routing_decision_id"
)

// Well-known keys of the decision object.
const (
	KeyDecisionType           = "decision_type"
	KeyClassification         = "classification"
	KeyConfidence             = "confidence"
	KeyConfidenceBasis        = "confidence_basis"
	KeySeverityAssigned       = "severity_assigned"
	KeyRecommendedActions     = "recommended_actions"
	KeyReasoningSummary       = "reasoning_summary"
	KeyConstraintsApplied     = "constraints_applied"
	KeyAlternativesConsidered = "alternatives_considered"
)

// Well-known keys of the outcome object.
const (
	KeyOutcomeStatus            = "outcome_status"
	KeyActionTaken              = "action_taken"
	KeyActionTarget             = "action_target"
	KeyErrorDetails             = "error_details"
	KeyDurationMS               = "duration_ms"
	KeyStateBefore              = "state_before"
	KeyStateAfter               = "state_after"
	KeyCostIncurredUSD          = "cost_incurred_usd"
	KeyApprovalRequestedFrom    = "approval_requested_from"
	KeyApprovalReceivedFrom     = "approval_received_from"
	KeyApprovalChannel          = "approval_channel"
	KeyApprovalLatencyMS        = "approval_latency_ms"
	KeyApprovalComment          = "approval_comment"
	KeyAnalystFeedbackCorrect   = "analyst_feedback_correct"
	KeyAnalystFeedbackRating    = "analyst_feedback_rating"
	KeyAnalystFeedbackComment   = "analyst_feedback_comment"
	KeyAnalystFeedbackTimestamp = "analyst_feedback_timestamp"
)
