package ctem

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/socwarden/warden/internal/zone"
	"github.com/socwarden/warden/taxonomy"
)

// Source names a scanner. The four built-ins have normalisers; hosts may
// register more with [WithNormaliser].
type Source string

// Built-in sources.
const (
	SourceWiz   Source = "wiz"
	SourceSnyk  Source = "snyk"
	SourceGarak Source = "garak"
	SourceART   Source = "art"
)

// Sources returns the four built-in sources.
func Sources() []Source { return []Source{SourceWiz, SourceSnyk, SourceGarak, SourceART} }

// ParseSource accepts a built-in source name case-insensitively.
func ParseSource(s string) (Source, bool) {
	src := Source(strings.ToLower(strings.TrimSpace(s)))
	switch src {
	case SourceWiz, SourceSnyk, SourceGarak, SourceART:
		return src, true
	}
	return "", false
}

// Consequence is the physical-consequence class of an exposure. It is the
// shared type of internal/zone (one zone table for ctem and response,
// DESIGN §3), re-exported so callers never import an internal package.
type Consequence = zone.Consequence

// The four consequence classes, most → least severe.
const (
	ConsequenceSafetyLife Consequence = zone.SafetyLife
	ConsequenceEquipment  Consequence = zone.Equipment
	ConsequenceDowntime   Consequence = zone.Downtime
	ConsequenceDataLoss   Consequence = zone.DataLoss
)

// ParseConsequence accepts a class case-insensitively; ok is false otherwise.
func ParseConsequence(s string) (Consequence, bool) {
	c, err := zone.ParseConsequence(s)
	return c, err == nil
}

// Exploitability is the intermediate level used only for the severity matrix.
type Exploitability string

// Exploitability levels.
const (
	ExploitabilityHigh   Exploitability = "high"
	ExploitabilityMedium Exploitability = "medium"
	ExploitabilityLow    Exploitability = "low"
)

// ParseExploitability accepts a level case-insensitively.
func ParseExploitability(s string) (Exploitability, bool) {
	e := Exploitability(strings.ToLower(strings.TrimSpace(s)))
	switch e {
	case ExploitabilityHigh, ExploitabilityMedium, ExploitabilityLow:
		return e, true
	}
	return "", false
}

// Severity is the consequence-weighted severity of an exposure (upper case on
// the wire).
type Severity string

// Severities.
const (
	SeverityCritical Severity = "CRITICAL"
	SeverityHigh     Severity = "HIGH"
	SeverityMedium   Severity = "MEDIUM"
	SeverityLow      Severity = "LOW"
)

// ParseSeverity accepts a severity case-insensitively.
func ParseSeverity(s string) (Severity, bool) {
	v := Severity(strings.ToUpper(strings.TrimSpace(s)))
	if v.rank() > 0 {
		return v, true
	}
	return "", false
}

// rank orders severities LOW 1 < MEDIUM 2 < HIGH 3 < CRITICAL 4; anything else 0.
func (s Severity) rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// Status is the lifecycle state of an exposure.
type Status string

// Exposure statuses. Verified and Closed are terminal.
const (
	StatusOpen        Status = "Open"
	StatusInProgress  Status = "InProgress"
	StatusFixDeployed Status = "FixDeployed"
	StatusVerified    Status = "Verified"
	StatusClosed      Status = "Closed"
)

// ParseStatus accepts a status case-insensitively.
func ParseStatus(s string) (Status, bool) {
	for _, v := range []Status{StatusOpen, StatusInProgress, StatusFixDeployed, StatusVerified, StatusClosed} {
		if strings.EqualFold(strings.TrimSpace(s), string(v)) {
			return v, true
		}
	}
	return "", false
}

// normalised reads an empty status as Open.
func (s Status) normalised() Status {
	if s == "" {
		return StatusOpen
	}
	return s
}

// Terminal reports whether no assignment or verification may follow.
func (s Status) Terminal() bool { return s == StatusVerified || s == StatusClosed }

// RemediationStatus is the state of a [Remediation] record.
type RemediationStatus string

// Remediation statuses.
const (
	RemediationAssigned    RemediationStatus = "Assigned"
	RemediationInProgress  RemediationStatus = "InProgress"
	RemediationFixDeployed RemediationStatus = "FixDeployed"
	RemediationVerified    RemediationStatus = "Verified"
	RemediationClosed      RemediationStatus = "Closed"
)

// ParseRemediationStatus accepts a remediation status case-insensitively.
func ParseRemediationStatus(s string) (RemediationStatus, bool) {
	for _, v := range []RemediationStatus{RemediationAssigned, RemediationInProgress, RemediationFixDeployed, RemediationVerified, RemediationClosed} {
		if strings.EqualFold(strings.TrimSpace(s), string(v)) {
			return v, true
		}
	}
	return "", false
}

// SLAState is the result of [SLAStateAt].
type SLAState string

// SLA states.
const (
	SLAOnTrack  SLAState = "ON_TRACK"
	SLAAtRisk   SLAState = "AT_RISK"
	SLABreached SLAState = "BREACHED"
)

// EscalationLevel is the result of [EscalationFor].
type EscalationLevel string

// Escalation levels, lowest first.
const (
	EscalationTeamLead EscalationLevel = "SECURITY_TEAM_LEAD"
	EscalationManager  EscalationLevel = "SECURITY_MANAGER"
	EscalationDirector EscalationLevel = "SECURITY_DIRECTOR"
	EscalationCISO     EscalationLevel = "CISO_EXECUTIVE"
)

// Topics.
const (
	TopicPrefix     = "ctem.raw."
	NormalisedTopic = "ctem.normalized"
	DeadLetterTopic = "ctem.normalized.dlq"
	DefaultTenant   = "default"
)

// SubscribedTopics are the raw topics the example consumer subscribes to.
// burp and custom have no built-in normaliser: their records dead-letter
// unless the host registers one.
var SubscribedTopics = []string{
	TopicPrefix + "wiz", TopicPrefix + "snyk", TopicPrefix + "garak",
	TopicPrefix + "art", TopicPrefix + "burp", TopicPrefix + "custom",
}

// Exposure is the normalised, scored record. Its JSON keys are the
// reference's column names and are the ctem.normalized message, the columns a
// SQL store uses and what dashboards read; they must not change.
type Exposure struct {
	ExposureKey         string      `json:"exposure_key"`
	TS                  time.Time   `json:"ts"`
	SourceTool          Source      `json:"source_tool"`
	Title               string      `json:"title"`
	Description         string      `json:"description"`
	Severity            Severity    `json:"severity"`
	OriginalSeverity    string      `json:"original_severity"`
	AssetID             string      `json:"asset_id"`
	AssetType           string      `json:"asset_type"`
	AssetZone           string      `json:"asset_zone"`
	ExploitabilityScore float64     `json:"exploitability_score"`
	PhysicalConsequence Consequence `json:"physical_consequence"`
	CTEMScore           float64     `json:"ctem_score"`
	AtlasTechnique      string      `json:"atlas_technique"`
	AttackTechnique     string      `json:"attack_technique"`
	ThreatModelRef      string      `json:"threat_model_ref"`
	Status              Status      `json:"status"`
	AssignedTo          string      `json:"assigned_to"`
	SLADeadline         time.Time   `json:"sla_deadline,omitzero"`
	RemediationGuidance string      `json:"remediation_guidance"`
	EvidenceURL         string      `json:"evidence_url"`
	TenantID            string      `json:"tenant_id"`
	CreatedAt           time.Time   `json:"created_at,omitzero"`
	UpdatedAt           time.Time   `json:"updated_at,omitzero"`
}

// Validate checks the exposure's invariants and returns a *FieldError (field
// = JSON key, source = the exposure's source tool) for the first violation.
func (e Exposure) Validate() error {
	fail := func(field, reason string) error {
		return &FieldError{Source: e.SourceTool, Field: field, Reason: reason}
	}
	switch {
	case !validKey(e.ExposureKey):
		return fail("exposure_key", "must be 16 lower-case hex characters")
	case e.TS.IsZero():
		return fail("ts", "must be set")
	case e.SourceTool == "":
		return fail("source_tool", "must be set")
	case strings.TrimSpace(e.Title) == "":
		return fail("title", "must not be empty")
	case e.Severity.rank() == 0:
		return fail("severity", "must be CRITICAL, HIGH, MEDIUM or LOW")
	case strings.TrimSpace(e.AssetID) == "":
		return fail("asset_id", "must not be empty")
	case !(e.ExploitabilityScore >= 0 && e.ExploitabilityScore <= 1):
		return fail("exploitability_score", "must be between 0 and 1")
	case !e.PhysicalConsequence.Valid():
		return fail("physical_consequence", "must be safety_life, equipment, downtime or data_loss")
	case !(e.CTEMScore >= 0 && e.CTEMScore <= 10):
		return fail("ctem_score", "must be between 0 and 10")
	case e.Status != "" && !validStatus(e.Status):
		return fail("status", "must be Open, InProgress, FixDeployed, Verified or Closed")
	case e.TenantID == "":
		return fail("tenant_id", "must not be empty")
	}
	return nil
}

func validKey(k string) bool {
	if len(k) != 16 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func validStatus(s Status) bool {
	_, ok := ParseStatus(string(s))
	return ok && string(s) == string(s.normalised())
}

// Remediation is the remediation record of one (tenant, exposure); it is
// created by the first Assign (or by Verify if never assigned).
type Remediation struct {
	RemediationID   string            `json:"remediation_id"`
	ExposureKey     string            `json:"exposure_id"`
	TS              time.Time         `json:"ts"`
	Status          RemediationStatus `json:"status"`
	AssignedTo      string            `json:"assigned_to"`
	AssignedDate    time.Time         `json:"assigned_date"`
	SLADeadline     time.Time         `json:"sla_deadline,omitzero"`
	FixDeployedDate time.Time         `json:"fix_deployed_date,omitzero"`
	VerifiedDate    time.Time         `json:"verified_date,omitzero"`
	VerifiedBy      string            `json:"verified_by"`
	SLABreached     bool              `json:"sla_breached"`
	EscalationLevel string            `json:"escalation_level"`
	FixDescription  string            `json:"fix_description"`
	PullRequestURL  string            `json:"pull_request_url"`
	TenantID        string            `json:"tenant_id"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

// RemediationID returns the deterministic remediation id of an exposure key.
func RemediationID(exposureKey string) string { return "rem-" + exposureKey }

// Record is what a [Store] holds for one (tenant, key).
type Record struct {
	Exposure    Exposure     `json:"exposure"`
	Remediation *Remediation `json:"remediation,omitempty"` // nil until the first Assign/Verify
}

// clone returns a deep copy so no *Remediation is shared between callers.
func (r Record) clone() Record {
	if r.Remediation != nil {
		rem := *r.Remediation
		r.Remediation = &rem
	}
	return r
}

// Actor is who performs a manual operation.
type Actor struct {
	Type taxonomy.ActorType
	ID   string
}

func (a Actor) validate() error {
	if !a.Type.Valid() {
		return fmt.Errorf("%w: actor type %q is not agent, human, system or scheduler", ErrInvalidRequest, a.Type)
	}
	if strings.TrimSpace(a.ID) == "" {
		return fmt.Errorf("%w: actor id is empty", ErrInvalidRequest)
	}
	return nil
}

// Request field limits.
const (
	MaxAssigneeBytes = 256
	MaxReasonBytes   = 1024
)

// AssignRequest assigns an exposure to an owner.
type AssignRequest struct {
	TenantID    string
	ExposureKey string
	Assignee    string // required, trimmed, ≤ MaxAssigneeBytes
	Actor       Actor
	Reason      string // optional, ≤ MaxReasonBytes
}

// VerifyRequest records the verified fix of an exposure.
type VerifyRequest struct {
	TenantID       string
	ExposureKey    string
	VerifiedBy     string // required, trimmed, ≤ MaxAssigneeBytes
	Actor          Actor
	FixDescription string
	PullRequestURL string
	Note           string
}

// Errors. Each returned error wraps one of these so errors.Is works.
var (
	ErrUnsupportedSource = errors.New("ctem: unsupported source")
	ErrInvalidFinding    = errors.New("ctem: invalid finding")
	ErrNotFound          = errors.New("ctem: exposure not found")
	ErrInvalidTransition = errors.New("ctem: invalid transition")
	ErrInvalidRequest    = errors.New("ctem: invalid request")
	ErrStore             = errors.New("ctem: store error")
	ErrDeadLetterFailed  = errors.New("ctem: dead-letter publish failed")
	ErrInvalidConfig     = errors.New("ctem: invalid configuration")
)

// FieldError says which field of a finding was unacceptable and why.
type FieldError struct {
	Source Source
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("ctem: invalid finding: %s: field %q: %s", e.Source, e.Field, e.Reason)
}

// Unwrap returns ErrInvalidFinding.
func (e *FieldError) Unwrap() error { return ErrInvalidFinding }

// Reasons used in FieldError.
const (
	reasonMissing       = "missing"
	reasonWantString    = "wrong type: want string"
	reasonWantNumber    = "wrong type: want number"
	reasonBadTimestamp  = "unparseable timestamp"
	reasonNotObject     = "not a JSON object"
	reasonInvalidJSON   = "invalid JSON"
	reasonNormaliserFmt = "normaliser panic: %v"
)
