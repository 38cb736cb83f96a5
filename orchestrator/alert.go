package orchestrator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/socwarden/warden/entityparser"
)

// Topics and consumer group of a Kafka host (the package itself does not
// use them).
const (
	TopicNormalized      = "alerts.normalized"
	TopicCompleted       = "investigations.completed"
	TopicDLQ             = "alerts.normalized.dlq"
	DefaultConsumerGroup = "warden.orchestrator"
)

// DefaultAlertTenant is the tenant DecodeAlert gives a message without
// tenant_id (the reference service's behaviour).
const DefaultAlertTenant = "default"

// DefaultSeverity is the severity of an alert that names none.
const DefaultSeverity = "medium"

// Alert is the input of Run: one normalised alert — entityparser's
// CanonicalAlert, which carries data_source, rule_family and asset_class —
// with its parsed entities and an optional embedding, as published on
// alerts.normalized.
type Alert struct {
	entityparser.CanonicalAlert
	// Entities are the parsed entities (the message's parsed_entities).
	Entities entityparser.Entities
	// Embedding is the alert's vector for similar-incident and ATLAS
	// semantic search; it never reaches an LLM.
	Embedding []float32
}

// ruleFamily, dataSource and assetClass are the alert's scope keys; a
// missing data_source falls back to the adapter's source.
func (a *Alert) ruleFamily() string { return strings.TrimSpace(a.RuleFamily) }
func (a *Alert) assetClass() string { return strings.TrimSpace(a.AssetClass) }
func (a *Alert) dataSource() string {
	if ds := strings.TrimSpace(a.DataSource); ds != "" {
		return ds
	}
	return strings.TrimSpace(a.Source)
}

// NormalizeSeverity trims and lower-cases s; empty becomes medium, other
// values are kept.
func NormalizeSeverity(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return DefaultSeverity
	}
	return s
}

// alertWire is the lenient decoding of a normalised alert message.
type alertWire struct {
	AlertID        *string         `json:"alert_id"`
	Source         string          `json:"source"`
	Timestamp      string          `json:"timestamp"`
	Title          *string         `json:"title"`
	AlertName      string          `json:"alert_name"`
	Description    string          `json:"description"`
	Severity       string          `json:"severity"`
	Tactics        []string        `json:"tactics"`
	Techniques     []string        `json:"techniques"`
	EntitiesRaw    string          `json:"entities_raw"`
	Product        string          `json:"product"`
	TenantID       *string         `json:"tenant_id"`
	DataSource     string          `json:"data_source"`
	RuleFamily     string          `json:"rule_family"`
	AssetClass     string          `json:"asset_class"`
	RawPayload     json.RawMessage `json:"raw_payload"`
	ParsedEntities json.RawMessage `json:"parsed_entities"`
	EntitiesAlt    json.RawMessage `json:"entities"`
	Embedding      []float32       `json:"embedding"`
}

// entityExtras are the alert-level keys the reference kept inside the
// entity block.
type entityExtras struct {
	Techniques  []string  `json:"techniques"`
	Tactics     []string  `json:"tactics"`
	Description string    `json:"description"`
	Embedding   []float32 `json:"embedding"`
}

// DecodeAlert decodes a normalised alert message: the canonical alert plus
// parsed_entities (falling back to entities). tenant_id absent → "default";
// severity absent → medium; title absent → alert_name; data_source absent →
// source. Techniques, tactics, description and embedding found only inside
// the entity block are lifted to the alert. Invalid JSON → ErrInvalidAlert
// wrapping the decode error.
func DecodeAlert(data []byte) (Alert, error) {
	var w alertWire
	if err := json.Unmarshal(data, &w); err != nil {
		return Alert{}, fmt.Errorf("%w: %w", ErrInvalidAlert, err)
	}
	var a Alert
	if w.AlertID != nil {
		a.AlertID = *w.AlertID
	}
	a.Source, a.Timestamp, a.Description = w.Source, w.Timestamp, w.Description
	a.Title = w.AlertName
	if w.Title != nil {
		a.Title = *w.Title
	}
	a.Severity = entityparser.Severity(NormalizeSeverity(w.Severity))
	a.Tactics, a.Techniques, a.EntitiesRaw, a.Product = w.Tactics, w.Techniques, w.EntitiesRaw, w.Product
	a.TenantID = DefaultAlertTenant
	if w.TenantID != nil {
		a.TenantID = *w.TenantID
	}
	a.DataSource, a.RuleFamily, a.AssetClass = w.DataSource, w.RuleFamily, w.AssetClass
	if a.DataSource == "" {
		a.DataSource = w.Source
	}
	a.RawPayload = w.RawPayload
	a.Embedding = w.Embedding

	block := w.ParsedEntities
	if isAbsent(block) {
		block = w.EntitiesAlt
	}
	if !isAbsent(block) {
		if err := json.Unmarshal(block, &a.Entities); err != nil {
			return Alert{}, fmt.Errorf("%w: parsed_entities: %w", ErrInvalidAlert, err)
		}
		var x entityExtras
		if err := json.Unmarshal(block, &x); err == nil {
			if len(a.Techniques) == 0 {
				a.Techniques = x.Techniques
			}
			if len(a.Tactics) == 0 {
				a.Tactics = x.Tactics
			}
			if a.Description == "" {
				a.Description = x.Description
			}
			if len(a.Embedding) == 0 {
				a.Embedding = x.Embedding
			}
		}
	}
	return a, nil
}

func isAbsent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// UnmarshalJSON decodes with DecodeAlert's rules.
func (a *Alert) UnmarshalJSON(b []byte) error {
	v, err := DecodeAlert(b)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalJSON writes the normalised message: the canonical alert's members,
// parsed_entities and, when present, embedding.
func (a Alert) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(a.CanonicalAlert)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	ents, err := json.Marshal(a.Entities)
	if err != nil {
		return nil, err
	}
	m["parsed_entities"] = ents
	if len(a.Embedding) > 0 {
		emb, err := json.Marshal(a.Embedding)
		if err != nil {
			return nil, err
		}
		m["embedding"] = emb
	}
	return json.Marshal(m)
}

func quote(s string) string { return strconv.Quote(s) }
