package batch

import (
	"slices"
	"strings"
	"time"
)

// DefaultPatternReason is a candidate's reason when the model gives none.
const DefaultPatternReason = "Auto-generated from closed investigations"

// DefaultPlaybookName is a draft's name when the model gives none.
const DefaultPlaybookName = "Untitled Playbook"

// PlaybookStatusDraft is the status of every draft this package creates.
const PlaybookStatusDraft = "draft"

// EntityPattern matches one entity of an alert: its value against
// ValueRegex or inside ValueCIDR (at least one is set). Type is one of the
// entity kinds of EntityTypes.
type EntityPattern struct {
	Type       string `json:"type"`
	ValueRegex string `json:"value_regex"`
	ValueCIDR  string `json:"value_cidr,omitempty"`
}

// PatternCandidate is a false-positive pattern proposed by the model and
// validated here. It is only a candidate: the FP pattern type, its review
// (two distinct approvers), activation, expiry and revocation belong to
// orchestrator/autonomy, whose pattern store receives candidates through a
// CandidateStore as status pending_review.
type PatternCandidate struct {
	// PatternID is a deterministic fingerprint of tenant, alert-name regex
	// and entity patterns, so the same pattern mined in every cycle has the
	// same id.
	PatternID      string          `json:"pattern_id"`
	AlertName      string          `json:"alert_name"`
	AlertNameRegex string          `json:"alert_name_regex"`
	EntityPatterns []EntityPattern `json:"entity_patterns"`
	Severity       string          `json:"severity"`
	Confidence     float64         `json:"confidence"`
	Reason         string          `json:"reason"`
	// ScopeTenantID is the tenant whose investigations produced the pattern
	// and the only tenant it may ever apply to; "" only for platform-wide
	// tasks a host submitted itself.
	ScopeTenantID        string    `json:"scope_tenant_id"`
	SourceInvestigations []string  `json:"source_investigations"`
	CreatedAt            time.Time `json:"created_at,omitzero"`
	UpdatedAt            time.Time `json:"updated_at,omitzero"`

	// Provenance (not part of the fingerprint).
	JobID   string `json:"job_id,omitempty"`
	TaskID  string `json:"task_id,omitempty"`
	ModelID string `json:"model_id,omitempty"`
}

func (c PatternCandidate) clone() PatternCandidate {
	c.EntityPatterns = slices.Clone(c.EntityPatterns)
	c.SourceInvestigations = slices.Clone(c.SourceInvestigations)
	return c
}

// PlaybookDraft is a remediation playbook drafted by the model for analyst
// review.
type PlaybookDraft struct {
	PlaybookID           string    `json:"playbook_id"`
	Name                 string    `json:"name"`
	Description          string    `json:"description"`
	Tactics              []string  `json:"tactics"`
	Techniques           []string  `json:"techniques"`
	RemediationSteps     []string  `json:"remediation_steps"`
	Confidence           float64   `json:"confidence"`
	SourceInvestigations []string  `json:"source_investigations"`
	Status               string    `json:"status"`
	CreatedAt            time.Time `json:"created_at,omitzero"`
	TenantID             string    `json:"tenant_id"`
	PrimaryTechnique     string    `json:"primary_technique,omitempty"`
}

// NewPlaybookDraft returns a draft with a random UUID, status draft, empty
// lists and CreatedAt = now (UTC).
func NewPlaybookDraft() PlaybookDraft {
	return PlaybookDraft{
		PlaybookID: newUUID(), Name: DefaultPlaybookName, Tactics: []string{}, Techniques: []string{},
		RemediationSteps: []string{}, SourceInvestigations: []string{}, Status: PlaybookStatusDraft,
		CreatedAt: time.Now().UTC(),
	}
}

func (d PlaybookDraft) clone() PlaybookDraft {
	d.Tactics = slices.Clone(d.Tactics)
	d.Techniques = slices.Clone(d.Techniques)
	d.RemediationSteps = slices.Clone(d.RemediationSteps)
	d.SourceInvestigations = slices.Clone(d.SourceInvestigations)
	return d
}

// Entity kinds of the entityparser vocabulary (DESIGN §3).
const (
	EntityAccount  = "account"
	EntityHost     = "host"
	EntityIP       = "ip"
	EntityFile     = "file"
	EntityProcess  = "process"
	EntityURL      = "url"
	EntityDNS      = "dns"
	EntityFileHash = "filehash"
	EntityMailbox  = "mailbox"
)

// EntityTypes returns the nine entity kinds a pattern may name.
func EntityTypes() []string {
	return []string{EntityAccount, EntityHost, EntityIP, EntityFile, EntityProcess, EntityURL, EntityDNS,
		EntityFileHash, EntityMailbox}
}

// entitySynonyms maps the names models commonly use (and the plural keys of
// entity lists) to the vocabulary. Anything else is rejected.
var entitySynonyms = map[string]string{
	"account":    EntityAccount,
	"accounts":   EntityAccount,
	"user":       EntityAccount,
	"users":      EntityAccount,
	"username":   EntityAccount,
	"host":       EntityHost,
	"hosts":      EntityHost,
	"hostname":   EntityHost,
	"ip":         EntityIP,
	"ips":        EntityIP,
	"ip_address": EntityIP,
	"file":       EntityFile,
	"files":      EntityFile,
	"process":    EntityProcess,
	"processes":  EntityProcess,
	"url":        EntityURL,
	"urls":       EntityURL,
	"dns":        EntityDNS,
	"domain":     EntityDNS,
	"domains":    EntityDNS,
	"filehash":   EntityFileHash,
	"filehashes": EntityFileHash,
	"hash":       EntityFileHash,
	"hashes":     EntityFileHash,
	"mailbox":    EntityMailbox,
	"mailboxes":  EntityMailbox,
	"email":      EntityMailbox,
}

// CanonicalEntityType maps an entity type as a model may write it (any case,
// surrounding spaces, the synonyms user → account, domain → dns, hash →
// filehash, plurals) to the entityparser vocabulary; ok is false for
// anything else.
func CanonicalEntityType(s string) (string, bool) {
	t, ok := entitySynonyms[strings.ToLower(strings.TrimSpace(s))]
	return t, ok
}
