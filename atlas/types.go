package atlas

import (
	"errors"
	"fmt"
	"time"
)

// Severity is a detection's alert severity (title case on the wire).
type Severity string

// Severities. Informational is accepted from custom rules.
const (
	SeverityInformational Severity = "Informational"
	SeverityLow           Severity = "Low"
	SeverityMedium        Severity = "Medium"
	SeverityHigh          Severity = "High"
	SeverityCritical      Severity = "Critical"
)

// TrustLevel says whether the telemetry behind a detection can be forged by
// an attacker on the edge.
type TrustLevel string

// Trust levels.
const (
	Trusted   TrustLevel = "trusted"
	Untrusted TrustLevel = "untrusted"
)

// Package constants.
const (
	// TrustDowngradeFactor multiplies the confidence of detections built on
	// untrusted telemetry.
	TrustDowngradeFactor = 0.7
	AlertTopic           = "alerts.raw"
	AlertSource          = "atlas"
)

// Telemetry source names (the reference's tables).
const (
	SourceDatabricksAudit   = "databricks_audit"
	SourceNLQueryLogs       = "orbital_nl_query_logs"
	SourceInferenceLogs     = "orbital_inference_logs"
	SourcePhysicsOracle     = "orbital_physics_oracle"
	SourceModelRegistry     = "model_registry"
	SourceCICDAudit         = "cicd_audit"
	SourceAPILogs           = "orbital_api_logs"
	SourceInvestigations    = "investigations"
	SourceOPCUATelemetry    = "opcua_telemetry"
	SourcePartnerAPILogs    = "partner_api_logs"
	SourceEdgeNodeTelemetry = "edge_node_telemetry"
	defaultTelemetryTenant  = "default"
	attestationUnavailable  = "unavailable"
	attestationStatusFail   = "fail"
	physicsOracleTimeoutMs  = 10000.0
	dedupSeparator          = "|"
	atlasDetectionActor     = "atlas-detection"
	systemTenant            = "system"
	alertDescriptionPrefix  = "ATLAS detection: "
)

// Built-in rule ids.
const (
	RuleTrainingDataPoisoning = "ATLAS-DETECT-001"
	RuleModelExtraction       = "ATLAS-DETECT-002"
	RulePromptInjection       = "ATLAS-DETECT-003"
	RuleAdversarialEvasion    = "ATLAS-DETECT-004"
	RulePhysicsOracleDoS      = "ATLAS-DETECT-005"
	RuleSupplyChain           = "ATLAS-DETECT-006"
	RuleInsiderExfiltration   = "ATLAS-DETECT-007"
	RuleAlertFatigue          = "ATLAS-DETECT-008"
	RuleSensorSpoofing        = "ATLAS-DETECT-009"
	RulePartnerCompromise     = "ATLAS-DETECT-010"
	RuleEdgeNodeCompromise    = "ATLAS-DETECT-011"
)

// Entity is something a detection is about. Types used by the built-in
// rules: user, host, account.
type Entity struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Detection is a rule's output record.
type Detection struct {
	RuleID                  string         `json:"rule_id"`
	Triggered               bool           `json:"triggered"`
	AlertTitle              string         `json:"alert_title"`
	AlertSeverity           Severity       `json:"alert_severity"`
	AtlasTechnique          string         `json:"atlas_technique"`
	AttackTechnique         string         `json:"attack_technique"`
	ThreatModelRef          string         `json:"threat_model_ref"`
	Confidence              float64        `json:"confidence"`
	Evidence                map[string]any `json:"evidence"`
	Entities                []Entity       `json:"entities"`
	RequiresImmediateAction bool           `json:"requires_immediate_action"`
	SafetyRelevant          bool           `json:"safety_relevant"`
	Timestamp               string         `json:"timestamp"`
	TelemetryTrustLevel     TrustLevel     `json:"telemetry_trust_level"`
	AttestationStatus       string         `json:"attestation_status"`
	DedupKey                string         `json:"dedup_key,omitempty"`
	Suppressed              bool           `json:"suppressed,omitempty"`
	// AlertID is the id of the alert published for the detection (set by
	// the runner for triggered, non-suppressed detections).
	AlertID string `json:"alert_id,omitempty"`
}

// NewDetection returns a detection with every default: Medium, trusted,
// empty evidence and entities, Timestamp = FormatTimestamp(now).
func NewDetection(ruleID string, now time.Time) Detection {
	return Detection{
		RuleID:              ruleID,
		AlertSeverity:       SeverityMedium,
		Evidence:            map[string]any{},
		Entities:            []Entity{},
		Timestamp:           FormatTimestamp(now),
		TelemetryTrustLevel: Trusted,
	}
}

// fillDefaults completes a detection a rule returned with empty fields.
func (d *Detection) fillDefaults(ruleID string, now time.Time) {
	if d.RuleID == "" {
		d.RuleID = ruleID
	}
	if d.AlertSeverity == "" {
		d.AlertSeverity = SeverityMedium
	}
	if d.Evidence == nil {
		d.Evidence = map[string]any{}
	}
	if d.Entities == nil {
		d.Entities = []Entity{}
	}
	if d.Timestamp == "" {
		d.Timestamp = FormatTimestamp(now)
	}
	if d.TelemetryTrustLevel == "" {
		d.TelemetryTrustLevel = Trusted
	}
}

// EvalScope is what a rule evaluates: the instant and the tenant ("" = all).
type EvalScope struct {
	Now      time.Time
	TenantID string
}

// Window is the half-open time range [From, To) of a store query, for one
// tenant ("" = no tenant filter).
type Window struct {
	TenantID string
	From, To time.Time
}

// Contains reports whether t is in [From, To).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Aggregate rows returned by the telemetry store (spec §2.4).
type (
	UserActivity struct {
		UserID            string
		Count             int
		DistinctResources int
	}
	QueryVolume struct {
		UserID       string
		QueryCount   int
		MedianTokens float64
	}
	NLQuery struct {
		UserID, SessionID, QueryText string
	}
	InferenceStats struct {
		EdgeNodeID                                              string
		Count                                                   int
		AvgConfidence, StddevConfidence, AvgLatencyMs, FailRate float64
	}
	OracleStats struct {
		EdgeNodeID                            string
		TotalChecks, ErrorCount, TimeoutCount int
		FailRate, MaxLatencyMs                float64
	}
	ModelPromotion struct {
		UserID, ModelName, ModelVersion, Stage, ApprovedBy string
	}
	DependencyChange struct {
		PipelineID, CommitHash, DependencyChanges, Deployer string
	}
	APIAccess struct {
		CallerIdentity                       string
		Count, DistinctEndpoints, AfterHours int
	}
	OPCUAReading struct {
		EdgeNodeID                                          string
		SensorCount, DataPointsReceived, ProtocolViolations int
		ConnectionState                                     string
	}
	OPCUABaseline struct {
		EdgeNodeID                                      string
		AvgDataPoints, StddevDataPoints, AvgSensorCount float64
	}
	PartnerActivity struct {
		PartnerID, PartnerName string
		CallCount              int
		AvgPayload             float64
		MTLSFailures           int
	}
	PartnerBaseline struct {
		PartnerID                 string
		CallCount                 int
		AvgPayload, StddevPayload float64
	}
	EdgeNodeReading struct {
		EdgeNodeID, BootAttestation, ModelWeightHash, DiskIntegrity string
		CPUUtilisation, MemoryUtilisation                           float64
	}
)

// Errors.
var (
	// ErrInvalidRule: New got a nil rule, an empty id, or a non-positive
	// frequency or lookback.
	ErrInvalidRule = errors.New("atlas: invalid rule")
	// ErrDuplicateRule: two rules share an id.
	ErrDuplicateRule = errors.New("atlas: duplicate rule id")
	// ErrInvalidConfig: an option had an invalid value.
	ErrInvalidConfig = errors.New("atlas: invalid configuration")
)

// RuleError reports a rule that failed, timed out or panicked.
type RuleError struct {
	RuleID string
	Err    error
}

func (e *RuleError) Error() string { return fmt.Sprintf("atlas: rule %s: %v", e.RuleID, e.Err) }

// Unwrap returns the cause.
func (e *RuleError) Unwrap() error { return e.Err }

// Stats are the runner's monotonic counters.
type Stats struct {
	Evaluations     uint64
	RuleFailures    uint64
	Fired           uint64 // triggered and not suppressed
	Suppressed      uint64
	Published       uint64
	PublishFailures uint64
}
