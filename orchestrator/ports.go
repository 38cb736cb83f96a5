package orchestrator

import (
	"context"
	"time"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/taxonomy"
)

// Node is one agent of the graph. It mutates the investigation it is given,
// must not change State (the graph restores it if it does) and must be safe
// for concurrent use on different investigations.
type Node interface {
	Execute(ctx context.Context, inv *Investigation) error
}

// NodeFunc adapts a function to Node.
type NodeFunc func(ctx context.Context, inv *Investigation) error

// Execute calls f.
func (f NodeFunc) Execute(ctx context.Context, inv *Investigation) error { return f(ctx, inv) }

// Responder executes an investigation's recommended actions and records
// ActionResults. It never sets State; the graph closes the investigation.
// A resumed investigation is handed to it again: it must skip actions
// already executed (ActionResults) and dedupe on idempotency keys, as
// response.Responder does (see ResponseAdapter).
type Responder interface {
	Respond(ctx context.Context, inv *Investigation) error
}

// ResponderFunc adapts a function to Responder.
type ResponderFunc func(ctx context.Context, inv *Investigation) error

// Respond calls f.
func (f ResponderFunc) Respond(ctx context.Context, inv *Investigation) error { return f(ctx, inv) }

// ActionPolicy decides whether the recommended actions need a human (the
// response catalogue and zone floors). An error is treated as "yes" with
// reason action_policy_unavailable: an unreadable policy never lets a
// destructive action run unattended.
type ActionPolicy interface {
	RequiresApproval(ctx context.Context, inv *Investigation) (bool, []string, error)
}

// ApprovalGate is the human approval gate of a paused investigation.
type ApprovalGate interface {
	// Open opens (or finds) the investigation's approval, sets
	// inv.ApprovalID and returns OutcomePending, or the outcome of a
	// decision a reviewer policy made at once (the graph then applies it).
	Open(ctx context.Context, inv *Investigation, reasons []string) (ApprovalOutcome, error)
	// Resolve applies a human decision. A decision on an approval that was
	// already decided returns that outcome with an error matching
	// ErrApprovalClosed.
	Resolve(ctx context.Context, inv *Investigation, d HumanDecision) (ApprovalOutcome, error)
	// Expire times out approvals whose deadline passed at now.
	Expire(ctx context.Context, now time.Time) ([]ExpiredApproval, error)
}

// Repository persists investigations. Save is an upsert by id that stores a
// deep copy (the checkpoint); Load returns ErrNotFound for an unknown id;
// ListByState returns the newest updated_at first, at most limit rows
// (limit <= 0 means 50).
type Repository interface {
	Save(ctx context.Context, inv *Investigation) error
	Load(ctx context.Context, id string) (*Investigation, error)
	ListByState(ctx context.Context, s State, limit int) ([]InvestigationSummary, error)
}

// PatternClosureFinder finds the investigations of a tenant that an FP
// pattern closed: state closed, classification false_positive and an
// auto_close_fp entry naming the pattern.
type PatternClosureFinder interface {
	ClosedByPattern(ctx context.Context, tenantID, patternID string) ([]string, error)
}

// Reopener re-opens an investigation closed by a revoked FP pattern (E12).
// *Graph implements it.
type Reopener interface {
	Reopen(ctx context.Context, id, patternID string, by Actor) (*Investigation, error)
}

// Actor is who performed a governance action.
type Actor struct {
	Type taxonomy.ActorType
	ID   string
}

// LLM agent ids and task types of the graph's requests.
const (
	AgentIOCExtractor      = "ioc_extractor"
	AgentReasoning         = "reasoning_agent"
	AgentReasoningEscalate = "reasoning_agent_escalated"
	TaskIOCExtraction      = "ioc_extraction"
	TaskInvestigation      = "investigation"
)

// LLMRequest is one LLM call of a graph node.
type LLMRequest struct {
	AgentID  string
	TaskType string
	// Tier is the minimum model tier the node asks for: tier_0 for IOC
	// extraction, tier_1 for reasoning, tier_1_plus for an escalation.
	Tier            taxonomy.ModelTier
	SystemPrompt    string
	UserContent     string
	TenantID        string
	InvestigationID string
	AlertID         string
	// Severity is the investigation's severity (the router's alert
	// severity).
	Severity string
	// PreviousConfidence is the confidence of the answer being escalated;
	// nil on first calls.
	PreviousConfidence *float64
}

// LLMResponse is the answer of an LLM call.
type LLMResponse struct {
	Content string
	// CostUSD is 0 when unknown.
	CostUSD float64
	ModelID string
	// Tier is the tier that served the call, when the adapter knows it.
	Tier taxonomy.ModelTier
}

// LLM is the graph's only path to a model. The host backs it with
// orchestrator/llmgateway (gateway + router); StaticLLM serves examples and
// tests.
type LLM interface {
	Complete(ctx context.Context, req LLMRequest) (LLMResponse, error)
}

// LLMFunc adapts a function to LLM.
type LLMFunc func(ctx context.Context, req LLMRequest) (LLMResponse, error)

// Complete calls f.
func (f LLMFunc) Complete(ctx context.Context, req LLMRequest) (LLMResponse, error) {
	return f(ctx, req)
}

// Escalator is the confidence-escalation policy of the reasoner (the
// router's): ShouldEscalate reports whether an answer should be re-asked at
// tier_1_plus; RecordEscalation is called once after every escalated call.
type Escalator interface {
	ShouldEscalate(confidence float64, severity string) bool
	RecordEscalation()
}

// IOCCache is the tenant-scoped threat-intel cache. ok=false is a miss.
type IOCCache interface {
	GetIOC(ctx context.Context, tenantID, iocType, value string) (record map[string]any, ok bool, err error)
}

// UEBARecord is one behaviour-analytics record.
type UEBARecord struct {
	RiskScore float64
	// RiskState empty means unknown.
	RiskState string
	Anomalies []any
}

// UEBAStore is the tenant-scoped behaviour-analytics store.
type UEBAStore interface {
	Lookup(ctx context.Context, tenantID, value string) (UEBARecord, bool, error)
	DeepContext(ctx context.Context, tenantID, value string) (map[string]any, bool, error)
}

// IncidentHit is one similar-incident search result.
type IncidentHit struct {
	ID         string
	Score      float64
	IncidentID string
	Title      string
	TenantID   string
	Techniques []string
	// AgeDays nil means 30.
	AgeDays       *float64
	RareImportant bool
}

// IncidentSearch finds similar incidents of one tenant.
type IncidentSearch interface {
	SearchSimilar(ctx context.Context, tenantID string, vector []float32, limit int) ([]IncidentHit, error)
}

// ThreatIntel returns technique intelligence (global knowledge, not tenant
// data).
type ThreatIntel interface {
	TechniqueIntel(ctx context.Context, techniqueID string) (map[string]any, bool, error)
}

// ExposureStore returns the open exposures of a tenant's asset (status not
// Verified and not Closed), highest ctem_score first.
type ExposureStore interface {
	OpenExposures(ctx context.Context, tenantID, assetID string) ([]Exposure, error)
}

// TaxonomyEntry is an ATLAS technique of the taxonomy.
type TaxonomyEntry struct {
	TechniqueID string
	Name        string
	// TelemetryTrustLevel and AttestationStatus are copied to the
	// investigation when a detection store provides them.
	TelemetryTrustLevel string
	AttestationStatus   string
}

// ATLASTaxonomy maps an ATT&CK id to the non-deprecated ATLAS techniques
// related to it.
type ATLASTaxonomy interface {
	ATLASForAttack(ctx context.Context, attackID string) ([]TaxonomyEntry, error)
}

// TechniqueHit is one ATLAS semantic-search result.
type TechniqueHit struct {
	Score           float64
	TechniqueID     string
	Name            string
	RelatedAttackID string
}

// TechniqueSearch searches ATLAS techniques by embedding.
type TechniqueSearch interface {
	SearchATLAS(ctx context.Context, vector []float32, limit int) ([]TechniqueHit, error)
}

// DegradationSource reports the platform's degradation level (normally the
// router's HealthRegistry, through orchestrator/llmgateway). A read error
// or an unknown level is applied as deterministic_only: no LLM call, no
// auto-close, a human decides.
type DegradationSource interface {
	Level(ctx context.Context, tenantID string) (taxonomy.DegradationLevel, error)
}

// DegradationFunc adapts a function to DegradationSource.
type DegradationFunc func(ctx context.Context, tenantID string) (taxonomy.DegradationLevel, error)

// Level calls f.
func (f DegradationFunc) Level(ctx context.Context, tenantID string) (taxonomy.DegradationLevel, error) {
	return f(ctx, tenantID)
}

// FPQuery is what the FP short-circuit matches: the alert's title,
// entities and scope keys.
type FPQuery struct {
	TenantID string
	Title    string
	// Entities are the alert's entities (read-only).
	Entities   *entityparser.Entities
	RuleFamily string
	AssetClass string
	DataSource string
	Severity   string
	Techniques []string
	// MinThreshold raises the match threshold (0.95 under secondary_active
	// degradation); 0 leaves the checker's own.
	MinThreshold float64
}

// FPMatch is the FP short-circuit's answer. The zero value is "no match".
type FPMatch struct {
	Matched    bool
	PatternID  string
	Confidence float64
	// Threshold is the threshold the match passed.
	Threshold float64
	// PatternsChecked is how many patterns were examined.
	PatternsChecked int
	// Queries is the number of store queries the check made (the list and
	// one per examined pattern).
	Queries int
}

// FPChecker is the FP short-circuit (orchestrator/autonomy's
// FPShortCircuit). It reads only the title, entities and scope keys; it
// never calls an LLM. An error means "no match" (fail safe: no auto-close).
type FPChecker interface {
	CheckFP(ctx context.Context, q FPQuery) (FPMatch, error)
}
