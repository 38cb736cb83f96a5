package atlas

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Alert is the canonical alert published to alerts.raw (keys in this order).
type Alert struct {
	AlertID     string       `json:"alert_id"`
	Source      string       `json:"source"`
	Timestamp   string       `json:"timestamp"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Severity    string       `json:"severity"`
	Tactics     []string     `json:"tactics"`
	Techniques  []string     `json:"techniques"`
	EntitiesRaw string       `json:"entities_raw"`
	Product     string       `json:"product"`
	TenantID    string       `json:"tenant_id"`
	RawPayload  AlertPayload `json:"raw_payload"`
}

// AlertPayload is the detection as the alert carries it: the reference's
// keys plus the trust fields, the dedup key and the entities.
type AlertPayload struct {
	RuleID                  string         `json:"rule_id"`
	Confidence              float64        `json:"confidence"`
	Evidence                map[string]any `json:"evidence"`
	ThreatModelRef          string         `json:"threat_model_ref"`
	RequiresImmediateAction bool           `json:"requires_immediate_action"`
	SafetyRelevant          bool           `json:"safety_relevant"`
	TelemetryTrustLevel     TrustLevel     `json:"telemetry_trust_level"`
	AttestationStatus       string         `json:"attestation_status"`
	DedupKey                string         `json:"dedup_key"`
	Entities                []Entity       `json:"entities"`
}

// AlertID is the deterministic id of an alert: the rule, the start of the
// detection window the alert belongs to, and a digest of the dedup key. The
// same detection of the same window always gets the same id — after a
// restart, on a second replica, or when a failed publish is retried — so the
// downstream pipeline can drop repeats; two different keys never share one.
//
// The window is the evaluation instant truncated to the rule's suppression
// window (its lookback by default): the runner publishes one alert per key
// per suppression window, and aligned windows of that width give each such
// alert a distinct id.
func AlertID(ruleID, dedupKey string, windowStart time.Time) string {
	sum := sha256.Sum256([]byte(dedupKey))
	return ruleID + "-" + FormatTimestamp(windowStart) + "-" + hex.EncodeToString(sum[:6])
}

// windowStart aligns now to a grid of width w (Unix epoch based).
func windowStart(now time.Time, w time.Duration) time.Time {
	if w <= 0 {
		return now.UTC()
	}
	return now.UTC().Truncate(w)
}

// AlertSeverity maps a detection severity to the alert's lower-case wire
// value; ok is false for a value outside the vocabulary (mapped to medium).
func AlertSeverity(s Severity) (sev string, ok bool) {
	switch strings.ToLower(strings.TrimSpace(string(s))) {
	case "critical":
		return "critical", true
	case "high":
		return "high", true
	case "medium":
		return "medium", true
	case "low":
		return "low", true
	case "informational", "info":
		return "informational", true
	}
	return "medium", false
}

// NewAlert converts a detection into its alert. The runner passes the
// detection's AlertID; tenant is the runner's tenant ("" when unset).
func NewAlert(d Detection, tenant, alertID string) Alert {
	sev, _ := AlertSeverity(d.AlertSeverity)
	techniques := []string{}
	for _, t := range []string{d.AtlasTechnique, d.AttackTechnique} {
		if t != "" {
			techniques = append(techniques, t)
		}
	}
	evidence := d.Evidence
	if evidence == nil {
		evidence = map[string]any{}
	}
	ents := d.Entities
	if ents == nil {
		ents = []Entity{}
	}
	trust := d.TelemetryTrustLevel
	if trust == "" {
		trust = Trusted
	}
	return Alert{
		AlertID:     alertID,
		Source:      AlertSource,
		Timestamp:   d.Timestamp,
		Title:       d.AlertTitle,
		Description: alertDescriptionPrefix + d.AlertTitle,
		Severity:    sev,
		Tactics:     []string{},
		Techniques:  techniques,
		EntitiesRaw: EntitiesRaw(ents),
		TenantID:    tenant,
		RawPayload: AlertPayload{
			RuleID: d.RuleID, Confidence: d.Confidence, Evidence: evidence, ThreatModelRef: d.ThreatModelRef,
			RequiresImmediateAction: d.RequiresImmediateAction, SafetyRelevant: d.SafetyRelevant,
			TelemetryTrustLevel: trust, AttestationStatus: d.AttestationStatus, DedupKey: d.DedupKey, Entities: ents,
		},
	}
}

// Entity shapes of the entity parser's structured format.
type rawAccount struct {
	ID   string `json:"$id"`
	Type string `json:"Type"`
	Name string `json:"Name"`
}

type rawHost struct {
	ID       string `json:"$id"`
	Type     string `json:"Type"`
	HostName string `json:"HostName"`
}

// EntitiesRaw renders entities in the entity parser's structured format:
// users and accounts as {"$id","Type":"account","Name"}, hosts as
// {"$id","Type":"host","HostName"}, anything else with its own type and
// Name. Entities with an empty id are skipped; "" when none remain.
func EntitiesRaw(es []Entity) string {
	var out []any
	for _, e := range es {
		if e.ID == "" {
			continue
		}
		n := strconv.Itoa(len(out) + 1)
		switch strings.ToLower(e.Type) {
		case "user", "account":
			out = append(out, rawAccount{n, "account", e.ID})
		case "host":
			out = append(out, rawHost{n, "host", e.ID})
		default:
			out = append(out, rawAccount{n, e.Type, e.ID})
		}
	}
	if len(out) == 0 {
		return ""
	}
	b, err := json.Marshal(out)
	if err != nil {
		return ""
	}
	return string(b)
}
