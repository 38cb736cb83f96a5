package gateway

import (
	"encoding/json"

	"github.com/socwarden/warden/router"
	"github.com/socwarden/warden/taxonomy"
)

// Provider names an LLM provider; it is router's (and taxonomy's) type, so
// the names the router routes to are the names clients report.
type Provider = router.Provider

// The four known providers, re-exported so simple hosts need not import
// router.
const (
	ProviderAnthropic = router.ProviderAnthropic
	ProviderOpenAI    = router.ProviderOpenAI
	ProviderLocal     = router.ProviderLocal
	ProviderGroq      = router.ProviderGroq
)

// DefaultTenantID is the tenant of a request that names none.
const DefaultTenantID = "default"

// DefaultMaxTokens is the output budget of a call without a routing decision
// and without Request.MaxTokens.
const DefaultMaxTokens = 4096

// Request is one LLM call as an agent asks for it.
type Request struct {
	// AgentID identifies the calling agent; required.
	AgentID string `json:"agent_id"`
	// TaskType is free text ("investigation", "triage"); with a router it is
	// the routing task type.
	TaskType string `json:"task_type"`
	// SystemPrompt is the trusted task instruction; the gateway prepends
	// SystemPrefix.
	SystemPrompt string `json:"system_prompt"`
	// UserContent is untrusted (alert text, log lines, tool output). It is
	// screened, pseudonymised and escaped before it is sent.
	UserContent string `json:"user_content"`
	// OutputSchema, when present and not null, must be a JSON object; the
	// output is checked against it (§3.8.2 light schema).
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
	// TenantID defaults to "default".
	TenantID string `json:"tenant_id"`
	// Tier is recorded when no routing decision is made ("tier_1+" is
	// accepted and stored as tier_1_plus).
	Tier taxonomy.ModelTier `json:"tier,omitempty"`
	// Model, when set, is sent with the default client and bypasses routing.
	Model string `json:"model,omitempty"`
	// MaxTokens is the output budget; 0 means the decision's, else 4096.
	MaxTokens       int    `json:"max_tokens,omitempty"`
	InvestigationID string `json:"investigation_id,omitempty"`
	AlertID         string `json:"alert_id,omitempty"`
	// Routing holds routing inputs used when a router is configured and Model
	// is empty. Empty TaskType, TenantID, InvestigationID and AlertID are
	// filled from the request; ContextTokens 0 is filled with the gateway's
	// estimate of the prompt.
	Routing *router.TaskContext `json:"routing,omitempty"`
	// SensitiveValues are values the host knows to be personal (asset names,
	// account names) that the pattern stages might miss; each occurrence is
	// pseudonymised first (stage 0).
	SensitiveValues []ExtraValue `json:"sensitive_values,omitempty"`
}

// CallMetrics is the usage, cost and latency of one completed call.
type CallMetrics struct {
	InputTokens      int     `json:"input_tokens"`
	OutputTokens     int     `json:"output_tokens"`
	CacheReadTokens  int     `json:"cache_read_tokens"`
	CacheWriteTokens int     `json:"cache_write_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	LatencyMS        float64 `json:"latency_ms"`
	ModelID          string  `json:"model_id"`
}

// Response is the gateway's answer to a Request.
type Response struct {
	// Content is the final text: unknown technique ids stripped, PII restored.
	Content string `json:"content"`
	// ModelID is empty when the call was quarantined.
	ModelID string `json:"model_id"`
	// TokensUsed is input + output tokens (cache tokens excluded).
	TokensUsed int  `json:"tokens_used"`
	Valid      bool `json:"valid"`
	// RawOutput is the provider's text exactly as returned (pseudonymised,
	// ids not stripped); empty when quarantined.
	RawOutput string `json:"raw_output"`
	// ValidationErrors is never nil.
	ValidationErrors []string `json:"validation_errors"`
	// QuarantinedIDs is sorted and never nil.
	QuarantinedIDs []string `json:"quarantined_ids"`
	// Metrics is nil when the call was quarantined.
	Metrics *CallMetrics `json:"metrics"`
	// InjectionDetections is [] for pass, else one entry
	// "injection_risk:<risk>(confidence=<c>)".
	InjectionDetections []string `json:"injection_detections"`
	// Injection is the classification that decided the action.
	Injection InjectionClassification `json:"injection"`
	// InjectionLabels are all labels of the detector, including Warden's
	// additional detectors, which never change the content. Never nil.
	InjectionLabels []string `json:"injection_labels"`
	// RequestID is the provider's request id of the successful attempt.
	RequestID string `json:"request_id,omitempty"`
}

// Message is one chat message of an LLMRequest.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// LLMRequest is the provider-neutral request a client turns into its wire
// format.
type LLMRequest struct {
	// Model is the model to call; empty means the client's default.
	Model     string
	MaxTokens int
	// Temperature nil means the provider's default.
	Temperature *float64
	// ExtendedThinking asks for extended thinking where the provider offers
	// it; clients that cannot honour it ignore it.
	ExtendedThinking bool
	// System is the exact system text (SystemPrefix + task prompt).
	System string
	// CacheSystem asks the provider to cache the system text (Anthropic's
	// ephemeral cache block).
	CacheSystem bool
	Messages    []Message
	// OutputSchema is the request's schema (nil when none).
	OutputSchema json.RawMessage
}

// Usage is a call's token usage. InputTokens excludes cached tokens.
type Usage struct {
	InputTokens      int `json:"input_tokens"`
	OutputTokens     int `json:"output_tokens"`
	CacheReadTokens  int `json:"cache_read_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

// ToolCall is a structured tool invocation in a provider's answer.
type ToolCall struct {
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// LLMResponse is one successful attempt's answer.
type LLMResponse struct {
	// Text is the answer text (for a forced structured-output tool call, the
	// tool input JSON).
	Text    string
	ModelID string
	Usage   Usage
	// RequestID is the provider's request id (response header, else the
	// response object's id).
	RequestID string
	// StopReason is the provider's stop/finish reason as given.
	StopReason string
	// ToolCalls are the tool invocations of the answer, in order.
	ToolCalls []ToolCall
}
