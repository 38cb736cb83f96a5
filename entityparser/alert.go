package entityparser

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Severity is an alert's severity: exactly one of five lower-case values.
type Severity string

// The five severities. There are no aliases ("info" is not accepted here;
// the Splunk normaliser maps it).
const (
	SeverityCritical      Severity = "critical"
	SeverityHigh          Severity = "high"
	SeverityMedium        Severity = "medium"
	SeverityLow           Severity = "low"
	SeverityInformational Severity = "informational"
)

// Valid reports whether s is one of the five severities, exactly.
func (s Severity) Valid() bool {
	switch s {
	case SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational:
		return true
	}
	return false
}

// CanonicalAlert is the vendor-neutral alert every source adapter produces
// and the base of the normalized message. It is the one definition of an
// alert in Warden (DESIGN §3).
type CanonicalAlert struct {
	AlertID     string          `json:"alert_id"`
	Source      string          `json:"source"`
	Timestamp   string          `json:"timestamp"` // ISO 8601, kept verbatim
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Severity    Severity        `json:"severity"`
	Tactics     []string        `json:"tactics"`
	Techniques  []string        `json:"techniques"`
	EntitiesRaw string          `json:"entities_raw"` // JSON text of a Sentinel-style entity array
	Product     string          `json:"product"`
	TenantID    string          `json:"tenant_id"`
	RawPayload  json.RawMessage `json:"raw_payload"`
	// DataSource is the adapter that produced the alert (sentinel, elastic,
	// splunk, crowdstrike, defender); empty when the producer did not say.
	DataSource string `json:"data_source"`
	// RuleFamily is the detection rule's name or id in the SIEM (Sentinel
	// AlertName, Elastic rule name, Splunk search_name, CrowdStrike and
	// Defender detection name); FP patterns and kill switches scope on it.
	RuleFamily string `json:"rule_family"`
	// AssetClass is empty unless a host-supplied resolver fills it
	// (WithAssetClassResolver).
	AssetClass string `json:"asset_class"`
}

// ErrInvalidAlert is matched by errors.Is for every *ValidationError.
var ErrInvalidAlert = errors.New("entityparser: invalid alert")

// ValidationError says why a message is not a valid CanonicalAlert.
type ValidationError struct {
	Field  string // JSON key; empty when the message as a whole is wrong
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "entityparser: invalid alert: " + e.Reason
	}
	return "entityparser: invalid alert: field " + strconv.Quote(e.Field) + ": " + e.Reason
}

// Is reports whether target is ErrInvalidAlert.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidAlert }

// Reasons of validation errors.
const (
	reasonRequired     = "required"
	reasonWantString   = "wrong type: want string"
	reasonWantStrings  = "wrong type: want array of strings"
	reasonWantObject   = "wrong type: want object"
	reasonSeverity     = "must be one of critical, high, medium, low, informational"
	reasonTimestamp    = "not an ISO 8601 timestamp"
	reasonNotUTF8      = "not valid UTF-8"
	reasonNotObject    = "not a single JSON object"
	reasonDuplicateKey = "duplicate member"
)

// member is one top-level member of a message, its value byte-for-byte.
type member struct {
	key   string
	value json.RawMessage
}

// decodedMessage is a validated message: the typed alert and its members in
// document order (for the published output).
type decodedMessage struct {
	alert   CanonicalAlert
	members []member
}

// DecodeAlert decodes and validates one alerts.raw message.
func DecodeAlert(msg []byte) (CanonicalAlert, error) {
	d, err := decodeMessage(msg)
	return d.alert, err
}

// Validate checks a (programmatically built) alert against the same rules
// DecodeAlert applies to a message.
func (a CanonicalAlert) Validate() error {
	b, err := json.Marshal(a)
	if err != nil {
		return &ValidationError{Reason: err.Error()}
	}
	_, err = decodeMessage(b)
	return err
}

// MarshalJSON writes nil tactics/techniques as [] and a nil raw payload as
// {}, so an alert built in code is always a valid message.
func (a CanonicalAlert) MarshalJSON() ([]byte, error) {
	type plain CanonicalAlert
	p := plain(a)
	if p.Tactics == nil {
		p.Tactics = []string{}
	}
	if p.Techniques == nil {
		p.Techniques = []string{}
	}
	if len(p.RawPayload) == 0 {
		p.RawPayload = json.RawMessage("{}")
	}
	return json.Marshal(p)
}

func decodeMessage(msg []byte) (decodedMessage, error) {
	var d decodedMessage
	if !utf8.Valid(msg) {
		return d, &ValidationError{Reason: reasonNotUTF8}
	}
	members, err := splitObject(msg)
	if err != nil {
		return d, err
	}
	d.members = members
	values := make(map[string]json.RawMessage, len(members))
	for _, m := range members {
		values[m.key] = m.value
	}
	a := &d.alert
	required := []struct {
		key string
		dst *string
	}{
		{"alert_id", &a.AlertID}, {"source", &a.Source}, {"timestamp", &a.Timestamp},
		{"title", &a.Title}, {"description", &a.Description},
	}
	for _, f := range required {
		v, ok := values[f.key]
		if !ok {
			return d, &ValidationError{Field: f.key, Reason: reasonRequired}
		}
		if err := json.Unmarshal(v, f.dst); err != nil || isNull(v) {
			return d, &ValidationError{Field: f.key, Reason: reasonWantString}
		}
	}
	sev, ok := values["severity"]
	if !ok {
		return d, &ValidationError{Field: "severity", Reason: reasonRequired}
	}
	var s string
	if err := json.Unmarshal(sev, &s); err != nil || isNull(sev) {
		return d, &ValidationError{Field: "severity", Reason: reasonWantString}
	}
	if a.Severity = Severity(s); !a.Severity.Valid() {
		return d, &ValidationError{Field: "severity", Reason: reasonSeverity}
	}
	if !ValidTimestamp(a.Timestamp) {
		return d, &ValidationError{Field: "timestamp", Reason: reasonTimestamp}
	}
	for _, f := range []struct {
		key string
		dst *[]string
	}{{"tactics", &a.Tactics}, {"techniques", &a.Techniques}} {
		*f.dst = []string{}
		if v, ok := values[f.key]; ok {
			if isNull(v) || json.Unmarshal(v, f.dst) != nil {
				return d, &ValidationError{Field: f.key, Reason: reasonWantStrings}
			}
		}
	}
	optional := []struct {
		key string
		dst *string
	}{
		{"entities_raw", &a.EntitiesRaw}, {"product", &a.Product}, {"tenant_id", &a.TenantID},
		{"data_source", &a.DataSource}, {"rule_family", &a.RuleFamily}, {"asset_class", &a.AssetClass},
	}
	for _, f := range optional {
		if v, ok := values[f.key]; ok {
			if isNull(v) || json.Unmarshal(v, f.dst) != nil {
				return d, &ValidationError{Field: f.key, Reason: reasonWantString}
			}
		}
	}
	a.RawPayload = json.RawMessage("{}")
	if v, ok := values["raw_payload"]; ok {
		if t := firstByte(v); t != '{' {
			return d, &ValidationError{Field: "raw_payload", Reason: reasonWantObject}
		}
		a.RawPayload = v
	}
	return d, nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func firstByte(v json.RawMessage) byte {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// splitObject splits a single JSON object into its members, values
// byte-for-byte. A later duplicate key replaces the earlier value in place.
func splitObject(msg []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	notObject := &ValidationError{Reason: reasonNotObject}
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	var members []member
	index := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notObject
		}
		key, ok := tok.(string)
		if !ok {
			return nil, notObject
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, notObject
		}
		if i, dup := index[key]; dup {
			members[i].value = v
			continue
		}
		index[key] = len(members)
		members = append(members, member{key: key, value: v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, notObject
	}
	if _, err := dec.Token(); err == nil {
		return nil, notObject // trailing data
	}
	if dec.InputOffset() < int64(len(bytes.TrimRight(msg, " \t\r\n"))) {
		return nil, notObject
	}
	return members, nil
}

// encodeMembers writes members as one compact JSON object.
func encodeMembers(members []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

var timestampRe = regexp.MustCompile(`\A(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-](\d{2})(?::?(\d{2}))?)?)?\z`)

// ValidTimestamp reports whether s is in the accepted ISO 8601 subset:
// YYYY-MM-DD, optionally followed by T or one space and HH, HH:MM, HH:MM:SS
// or HH:MM:SS.f (1–9 digits), optionally followed by Z, ±HH:MM, ±HHMM or
// ±HH, with every field in range.
func ValidTimestamp(s string) bool {
	m := timestampRe.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	num := func(x string) int { n, _ := strconv.Atoi(x); return n }
	year, month, day := num(m[1]), num(m[2]), num(m[3])
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return false
	}
	if m[4] != "" && num(m[4]) > 23 || m[5] != "" && num(m[5]) > 59 || m[6] != "" && num(m[6]) > 59 {
		return false
	}
	if m[8] != "" && num(m[8]) > 23 || m[9] != "" && num(m[9]) > 59 {
		return false
	}
	return true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// trimLower is the normalisation used for vocabulary lookups.
func trimLower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
