package orchestrator

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// Action is one recommended response action (response's type: the
// orchestrator stores what the responder reads).
type Action = response.Action

// ActionResult is one line per action the responder handled.
type ActionResult = response.ActionResult

// Tier is an action-autonomy tier (0–2), response's type.
type Tier = response.Tier

// Playbook is a playbook suggestion the responder selected.
type Playbook = response.Playbook

// HumanDecision is a reviewer's decision on a paused investigation: Verdict
// (approve, deny, timeout), Approver (required for approve and deny), Role,
// Channel (empty means api), Comment and an optional analyst
// Classification (recorded in the shadow log when the investigation ran in
// shadow mode).
type HumanDecision = response.Decision

// Verdict is what a reviewer decided.
type Verdict = response.Verdict

// Verdicts.
const (
	VerdictApprove = response.VerdictApprove
	VerdictDeny    = response.VerdictDeny
	VerdictTimeout = response.VerdictTimeout
)

// ApprovalOutcome is the result of deciding or expiring an approval.
type ApprovalOutcome = response.Outcome

// Approval outcomes.
const (
	OutcomeGranted           = response.OutcomeGranted
	OutcomeDenied            = response.OutcomeDenied
	OutcomeTimedOutClosed    = response.OutcomeTimedOutClosed
	OutcomeTimedOutEscalated = response.OutcomeTimedOutEscalated
	OutcomeTimedOutLeftOpen  = response.OutcomeTimedOutLeftOpen
	// OutcomePending: the approval is open (ApprovalGate.Open returns it
	// when no decision was made at once).
	OutcomePending = response.OutcomePending
)

// ExpiredApproval is one approval a gate sweep timed out.
type ExpiredApproval = response.ExpiredApproval

// IOC is one indicator the IOC extractor found. Cached threat intelligence is
// kept under Intel, so a cache record can never overwrite Type or Value.
type IOC struct {
	Type  string         `json:"type,omitempty"`
	Value string         `json:"value,omitempty"`
	Intel map[string]any `json:"intel,omitempty"`
}

// UEBAContext is the behaviour-analytics record of one entity.
type UEBAContext struct {
	EntityType  string  `json:"entity_type,omitempty"`
	EntityValue string  `json:"entity_value,omitempty"`
	RiskScore   float64 `json:"risk_score"`
	RiskState   string  `json:"risk_state,omitempty"`
	Anomalies   []any   `json:"anomalies,omitempty"`
}

// Exposure is one open CTEM exposure of an asset of the alert.
type Exposure struct {
	ExposureKey string    `json:"exposure_key,omitempty"`
	AssetID     string    `json:"asset_id,omitempty"`
	AssetZone   string    `json:"asset_zone,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	CTEMScore   float64   `json:"ctem_score,omitempty"`
	SourceTool  string    `json:"source_tool,omitempty"`
	Status      string    `json:"status,omitempty"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
	// Stale is true when UpdatedAt is unknown or older than 24 hours.
	Stale            bool `json:"stale"`
	SLADeadlineHours int  `json:"sla_deadline_hours"`
}

// ATLAS technique sources.
const (
	SourceTaxonomy       = "taxonomy"
	SourceSemanticSearch = "semantic_search"
	SourceReasoning      = "reasoning"
	SourceDetection      = "detection"
)

// Telemetry trust levels.
const (
	TrustTrusted   = "trusted"
	TrustUntrusted = "untrusted"
)

// ATLASTechnique is one ATLAS technique linked to the investigation.
type ATLASTechnique struct {
	ATLASID    string  `json:"atlas_id,omitempty"`
	ATLASName  string  `json:"atlas_name,omitempty"`
	AttackID   string  `json:"attack_id,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	Source     string  `json:"source,omitempty"`
	// TelemetryTrustLevel is trusted, untrusted or empty (no trust
	// information: such entries never count as trusted evidence).
	TelemetryTrustLevel string `json:"telemetry_trust_level,omitempty"`
	AttestationStatus   string `json:"attestation_status,omitempty"`
}

// SimilarIncident is one earlier incident the context enricher found.
type SimilarIncident struct {
	IncidentID       string   `json:"incident_id,omitempty"`
	Title            string   `json:"title,omitempty"`
	VectorSimilarity float64  `json:"vector_similarity,omitempty"`
	CompositeScore   float64  `json:"composite_score,omitempty"`
	Techniques       []string `json:"techniques,omitempty"`
}

// FactIOC is an IOC as case facts list it.
type FactIOC struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// FactIncident is a similar incident as case facts list it.
type FactIncident struct {
	IncidentID string `json:"incident_id"`
	Title      string `json:"title"`
}

// CaseFacts is the compact fact sheet the context enricher builds.
type CaseFacts struct {
	Entities         []string         `json:"entities,omitempty"`
	IOCs             []FactIOC        `json:"iocs,omitempty"`
	Techniques       []string         `json:"techniques,omitempty"`
	Timeline         []map[string]any `json:"timeline,omitempty"`
	SimilarIncidents []FactIncident   `json:"similar_incidents,omitempty"`
	TokenEstimate    int              `json:"token_estimate,omitempty"`
	// DeepContext is present only after a deep retrieval.
	DeepContext []map[string]any `json:"deep_context,omitempty"`
}

// DecisionEntry is one line of an investigation's append-only decision
// chain.
type DecisionEntry struct {
	Step              string         `json:"step,omitempty"`
	Agent             string         `json:"agent"`
	Action            string         `json:"action"`
	Reasoning         string         `json:"reasoning,omitempty"`
	Confidence        *float64       `json:"confidence,omitempty"`
	AttestationStatus string         `json:"attestation_status,omitempty"`
	TaxonomyVersion   string         `json:"taxonomy_version,omitempty"`
	Timestamp         time.Time      `json:"timestamp"`
	PatternID         string         `json:"pattern_id,omitempty"`
	Error             string         `json:"error,omitempty"`
	Details           map[string]any `json:"details,omitempty"`
}

// NewDecisionEntry returns an entry for agent and action stamped with at.
func NewDecisionEntry(agent, action string, at time.Time) DecisionEntry {
	return DecisionEntry{Agent: agent, Action: action, Timestamp: at}
}

// WithConfidence returns e carrying confidence c (a non-finite c is stored
// as 0, since JSON cannot carry it).
func (e DecisionEntry) WithConfidence(c float64) DecisionEntry {
	c = finite(c)
	e.Confidence = &c
	return e
}

// WithDetails returns e carrying a copy of details.
func (e DecisionEntry) WithDetails(details map[string]any) DecisionEntry {
	e.Details = cloneAnyMap(details)
	return e
}

// Summary is the investigations.completed payload.
type Summary struct {
	InvestigationID       string  `json:"investigation_id"`
	AlertID               string  `json:"alert_id"`
	Classification        string  `json:"classification"`
	Confidence            float64 `json:"confidence"`
	Severity              string  `json:"severity"`
	State                 State   `json:"state"`
	LLMCalls              int     `json:"llm_calls"`
	TotalCostUSD          float64 `json:"total_cost_usd"`
	RequiresHumanApproval bool    `json:"requires_human_approval"`
}

// InvestigationSummary is one row of Repository.ListByState.
type InvestigationSummary struct {
	InvestigationID string    `json:"investigation_id"`
	AlertID         string    `json:"alert_id"`
	TenantID        string    `json:"tenant_id"`
	State           State     `json:"state"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// PendingEvent is an audit event the graph recorded in a checkpoint before
// emitting it. Its AuditID is derived from the investigation id and the
// event's sequence number, so an event re-emitted after a crash carries the
// id of the first attempt and a consumer can drop the duplicate.
type PendingEvent struct {
	AuditID   string             `json:"audit_id"`
	Type      taxonomy.EventType `json:"event_type"`
	Severity  taxonomy.Severity  `json:"severity,omitempty"`
	ActorType taxonomy.ActorType `json:"actor_type"`
	ActorID   string             `json:"actor_id"`
	EntityIDs []string           `json:"entity_ids,omitempty"`
	Context   audit.Fields       `json:"context,omitempty"`
	Decision  audit.Fields       `json:"decision,omitempty"`
	Outcome   audit.Fields       `json:"outcome,omitempty"`
}

// Investigation is the graph state of one alert. Nodes may write the fields
// the spec assigns them; only the graph writes State.
//
// The alert's own context (Title … Embedding, AttackTechniques) lives here
// rather than on a copy of entityparser.Entities, which stays the single
// entity type. EventSeq, PendingEvents, ShadowPending and GatePending are
// the graph's crash-safety bookkeeping; a Repository must persist them like
// every other field.
type Investigation struct {
	InvestigationID string `json:"investigation_id"`
	State           State  `json:"state"`
	AlertID         string `json:"alert_id"`
	TenantID        string `json:"tenant_id"`

	Title       string   `json:"title,omitempty"`
	RuleFamily  string   `json:"rule_family,omitempty"`
	DataSource  string   `json:"data_source,omitempty"`
	AssetClass  string   `json:"asset_class,omitempty"`
	Description string   `json:"description,omitempty"`
	Tactics     []string `json:"tactics,omitempty"`
	// Techniques are the ATT&CK ids supplied with the alert.
	Techniques []string              `json:"techniques,omitempty"`
	Entities   entityparser.Entities `json:"entities"`
	// AttackTechniques is the sorted union of the alert's and the reasoner's
	// ATT&CK ids.
	AttackTechniques []string `json:"attack_techniques,omitempty"`
	// Embedding is the alert embedding; it is never sent to an LLM.
	Embedding []float32 `json:"embedding,omitempty"`

	IOCMatches            []IOC             `json:"ioc_matches"`
	UEBAContext           []UEBAContext     `json:"ueba_context"`
	CTEMExposures         []Exposure        `json:"ctem_exposures"`
	ATLASTechniques       []ATLASTechnique  `json:"atlas_techniques"`
	SimilarIncidents      []SimilarIncident `json:"similar_incidents"`
	PlaybookMatches       []Playbook        `json:"playbook_matches"`
	DecisionChain         []DecisionEntry   `json:"decision_chain"`
	Classification        string            `json:"classification"`
	Confidence            float64           `json:"confidence"`
	Severity              string            `json:"severity"`
	RecommendedActions    []Action          `json:"recommended_actions"`
	RequiresHumanApproval bool              `json:"requires_human_approval"`
	RiskState             string            `json:"risk_state"`
	LLMCalls              int               `json:"llm_calls"`
	TotalCostUSD          float64           `json:"total_cost_usd"`
	QueriesExecuted       int               `json:"queries_executed"`
	CaseFacts             CaseFacts         `json:"case_facts"`
	EscalationReasons     []string          `json:"escalation_reasons"`
	ActionResults         []ActionResult    `json:"action_results"`
	ShadowMode            bool              `json:"shadow_mode"`
	ApprovalID            string            `json:"approval_id"`
	CreatedAt             time.Time         `json:"created_at"`
	UpdatedAt             time.Time         `json:"updated_at"`

	// EventSeq numbers the graph's audit events of this investigation.
	EventSeq int `json:"event_seq,omitempty"`
	// PendingEvents are the events of the last checkpoint, emitted right
	// after it was saved; a resumed investigation emits them again.
	PendingEvents []PendingEvent `json:"pending_events,omitempty"`
	// ShadowPending is the audit id reserved for a shadow decision that the
	// last checkpoint still has to record.
	ShadowPending string `json:"shadow_pending,omitempty"`
	// GatePending says the approval gate still has to be opened for this
	// pause.
	GatePending bool `json:"gate_pending,omitempty"`
}

// NewInvestigation returns an investigation with the table defaults: state
// received, risk state unknown.
func NewInvestigation(id string) *Investigation {
	return &Investigation{InvestigationID: id, State: StateReceived, RiskState: string(taxonomy.RiskUnknown)}
}

// Summary returns the investigations.completed payload.
func (inv *Investigation) Summary() Summary {
	if inv == nil {
		return Summary{}
	}
	return Summary{
		InvestigationID: inv.InvestigationID, AlertID: inv.AlertID, Classification: inv.Classification,
		Confidence: finite(inv.Confidence), Severity: inv.Severity, State: inv.State, LLMCalls: inv.LLMCalls,
		TotalCostUSD: finite(inv.TotalCostUSD), RequiresHumanApproval: inv.RequiresHumanApproval,
	}
}

// entityIDs are the distinct non-empty primary values of accounts, hosts and
// ips, at most 50 (the entity_ids of alert.* events).
func (inv *Investigation) entityIDs() []string {
	const limit = 50
	var out []string
	for _, list := range [][]entityparser.Entity{inv.Entities.Accounts, inv.Entities.Hosts, inv.Entities.IPs} {
		for _, e := range list {
			if e.PrimaryValue == "" || slices.Contains(out, e.PrimaryValue) {
				continue
			}
			if len(out) == limit {
				return out
			}
			out = append(out, e.PrimaryValue)
		}
	}
	return out
}

// Clone returns a deep copy: slices, maps and nested structs are copied, so
// the copy and the original can be changed independently.
func (inv *Investigation) Clone() *Investigation {
	if inv == nil {
		return nil
	}
	c := *inv
	c.Tactics = slices.Clone(inv.Tactics)
	c.Techniques = slices.Clone(inv.Techniques)
	c.Entities = cloneEntities(inv.Entities)
	c.AttackTechniques = slices.Clone(inv.AttackTechniques)
	c.Embedding = slices.Clone(inv.Embedding)
	c.IOCMatches = cloneSlice(inv.IOCMatches, func(i IOC) IOC { i.Intel = cloneAnyMap(i.Intel); return i })
	c.UEBAContext = cloneSlice(inv.UEBAContext, func(u UEBAContext) UEBAContext {
		u.Anomalies = cloneAnySlice(u.Anomalies)
		return u
	})
	c.CTEMExposures = slices.Clone(inv.CTEMExposures)
	c.ATLASTechniques = slices.Clone(inv.ATLASTechniques)
	c.SimilarIncidents = cloneSlice(inv.SimilarIncidents, func(s SimilarIncident) SimilarIncident {
		s.Techniques = slices.Clone(s.Techniques)
		return s
	})
	c.PlaybookMatches = cloneSlice(inv.PlaybookMatches, func(p Playbook) Playbook {
		p.Tactics, p.Techniques, p.Steps = slices.Clone(p.Tactics), slices.Clone(p.Techniques), cloneAnySlice(p.Steps)
		return p
	})
	c.DecisionChain = cloneSlice(inv.DecisionChain, cloneEntry)
	c.RecommendedActions = slices.Clone(inv.RecommendedActions)
	c.CaseFacts = cloneFacts(inv.CaseFacts)
	c.EscalationReasons = slices.Clone(inv.EscalationReasons)
	c.ActionResults = slices.Clone(inv.ActionResults)
	c.PendingEvents = cloneSlice(inv.PendingEvents, func(p PendingEvent) PendingEvent {
		p.EntityIDs = slices.Clone(p.EntityIDs)
		p.Context, p.Decision, p.Outcome = cloneFields(p.Context), cloneFields(p.Decision), cloneFields(p.Outcome)
		return p
	})
	return &c
}

func cloneEntry(e DecisionEntry) DecisionEntry {
	if e.Confidence != nil {
		v := *e.Confidence
		e.Confidence = &v
	}
	e.Details = cloneAnyMap(e.Details)
	return e
}

func cloneFacts(f CaseFacts) CaseFacts {
	f.Entities = slices.Clone(f.Entities)
	f.IOCs = slices.Clone(f.IOCs)
	f.Techniques = slices.Clone(f.Techniques)
	f.Timeline = cloneSlice(f.Timeline, cloneAnyMap)
	f.SimilarIncidents = slices.Clone(f.SimilarIncidents)
	f.DeepContext = cloneSlice(f.DeepContext, cloneAnyMap)
	return f
}

func cloneEntities(e entityparser.Entities) entityparser.Entities {
	ce := func(list []entityparser.Entity) []entityparser.Entity {
		return cloneSlice(list, func(x entityparser.Entity) entityparser.Entity {
			x.Properties = cloneAnyMap(x.Properties)
			if x.SourceID != nil {
				v := *x.SourceID
				x.SourceID = &v
			}
			return x
		})
	}
	e.Accounts, e.Hosts, e.IPs, e.Files = ce(e.Accounts), ce(e.Hosts), ce(e.IPs), ce(e.Files)
	e.Processes, e.URLs, e.DNSRecords, e.FileHashes = ce(e.Processes), ce(e.URLs), ce(e.DNSRecords), ce(e.FileHashes)
	e.Mailboxes, e.Other = ce(e.Mailboxes), ce(e.Other)
	e.RegistryKeys, e.CVEs, e.AttackTechniques = ce(e.RegistryKeys), ce(e.CVEs), ce(e.AttackTechniques)
	e.RawIOCs, e.ParseErrors = slices.Clone(e.RawIOCs), slices.Clone(e.ParseErrors)
	return e
}

func cloneSlice[T any](s []T, f func(T) T) []T {
	if s == nil {
		return nil
	}
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

func cloneFields(f audit.Fields) audit.Fields {
	if f == nil {
		return nil
	}
	return audit.Fields(cloneAnyMap(f))
}

// cloneAnyMap deep-copies the JSON-shaped parts of m (nested maps and
// slices); other values are immutable or owned by the caller.
func cloneAnyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneAny(v)
	}
	return out
}

func cloneAnySlice(s []any) []any { return cloneSlice(s, cloneAny) }

func cloneAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneAnyMap(x)
	case audit.Fields:
		return cloneFields(x)
	case []any:
		return cloneAnySlice(x)
	case []string:
		return slices.Clone(x)
	case []map[string]any:
		return cloneSlice(x, cloneAnyMap)
	}
	return v
}

// finite maps NaN and ±Inf to 0: JSON cannot carry them and they mean
// "unknown" wherever the graph meets them.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// sanitizeNumbers makes the investigation encodable whatever a custom node
// wrote into it.
func (inv *Investigation) sanitizeNumbers() {
	inv.Confidence = finite(inv.Confidence)
	inv.TotalCostUSD = finite(inv.TotalCostUSD)
	for i := range inv.DecisionChain {
		if c := inv.DecisionChain[i].Confidence; c != nil && *c != finite(*c) {
			v := finite(*c)
			inv.DecisionChain[i].Confidence = &v
		}
	}
	for i := range inv.UEBAContext {
		inv.UEBAContext[i].RiskScore = finite(inv.UEBAContext[i].RiskScore)
	}
	for i := range inv.CTEMExposures {
		inv.CTEMExposures[i].CTEMScore = finite(inv.CTEMExposures[i].CTEMScore)
	}
	for i := range inv.ATLASTechniques {
		inv.ATLASTechniques[i].Confidence = finite(inv.ATLASTechniques[i].Confidence)
	}
	for i := range inv.SimilarIncidents {
		s := &inv.SimilarIncidents[i]
		s.VectorSimilarity, s.CompositeScore = finite(s.VectorSimilarity), finite(s.CompositeScore)
	}
	for i, f := range inv.Embedding {
		if f64 := float64(f); f64 != finite(f64) {
			inv.Embedding[i] = 0
		}
	}
}

// copyMap is maps.Clone for the small string sets used in options.
func copyMap[K comparable, V any](m map[K]V) map[K]V { return maps.Clone(m) }
