package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/socwarden/warden/internal/mitre"
)

// ValidationResult is the verdict on one model output.
type ValidationResult struct {
	Valid bool
	// Errors: technique errors first, then schema errors. Never nil.
	Errors []string
	// Quarantined are the identified ids the catalog does not contain,
	// sorted. Never nil.
	Quarantined []string
	// Identified are the distinct technique ids found, sorted. Never nil.
	Identified []string
}

// TechniqueSet is an in-memory TechniqueCatalog.
type TechniqueSet struct {
	ids           map[string]struct{}
	attack, atlas string
}

var _ TechniqueCatalog = (*TechniqueSet)(nil)

// NewTechniqueSet returns a catalog of exactly ids, with the versions of the
// frameworks they come from (recorded in audit events).
func NewTechniqueSet(ids []string, attackVersion, atlasVersion string) *TechniqueSet {
	s := &TechniqueSet{ids: make(map[string]struct{}, len(ids)), attack: attackVersion, atlas: atlasVersion}
	for _, id := range ids {
		s.ids[id] = struct{}{}
	}
	return s
}

// Contains reports whether id is in the set.
func (s *TechniqueSet) Contains(id string) bool { _, ok := s.ids[id]; return ok }

// Len is the number of ids.
func (s *TechniqueSet) Len() int { return len(s.ids) }

// Versions returns the framework versions given to NewTechniqueSet.
func (s *TechniqueSet) Versions() (attack, atlas string) { return s.attack, s.atlas }

// mitreCatalog is the pinned MITRE tables' active ids.
type mitreCatalog struct{}

var mitreActiveCount = sync.OnceValue(func() int { return len(mitre.ActiveIDs()) })

func (mitreCatalog) Contains(id string) bool { return mitre.Active(id) }
func (mitreCatalog) Len() int                { return mitreActiveCount() }
func (mitreCatalog) Versions() (attack, atlas string) {
	return mitre.ATTACKVersion, mitre.ATLASVersion
}

// MITRECatalog is the gateway's default catalog: the techniques and
// sub-techniques of the pinned MITRE ATT&CK Enterprise v18.1 and ATLAS 5.6.0
// tables that are neither deprecated nor revoked. Unknown, deprecated and
// revoked ids in model output are quarantined.
func MITRECatalog() TechniqueCatalog { return mitreCatalog{} }

// TaxonomyVersion is "attack-<v>+atlas-<v>" of the catalog's non-empty
// versions ("" when both are empty or the catalog is nil).
func TaxonomyVersion(c TechniqueCatalog) string {
	if c == nil {
		return ""
	}
	attack, atlas := c.Versions()
	var parts []string
	if attack != "" {
		parts = append(parts, "attack-"+attack)
	}
	if atlas != "" {
		parts = append(parts, "atlas-"+atlas)
	}
	return strings.Join(parts, "+")
}

// catalogActive reports whether technique validation applies.
func catalogActive(c TechniqueCatalog) bool { return c != nil && c.Len() > 0 }

// IdentifyTechniques returns the distinct technique ids of text, sorted.
func IdentifyTechniques(text string) []string {
	var buf [16]span
	spans := findTechniqueIDs(text, buf[:0])
	out := make([]string, 0, len(spans))
	for _, sp := range spans {
		out = append(out, text[sp.start:sp.end])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ValidateOutput checks content: every technique id must be in the catalog
// (skipped when the catalog is nil or empty), and, when schema is given, the
// content must satisfy the light schema of §3.8.2.
func ValidateOutput(content string, c TechniqueCatalog, schema json.RawMessage) ValidationResult {
	var sch map[string]any
	if hasSchema(schema) {
		sch = parseSchema(schema)
	}
	return validateParsed(content, c, sch)
}

// parseSchema decodes a schema object; nil when it is not one (such a
// schema checks nothing).
func parseSchema(schema json.RawMessage) map[string]any {
	v, err := decodeJSON(schema)
	if err != nil {
		return nil
	}
	m, _ := v.(map[string]any)
	return m
}

// validateParsed is ValidateOutput with the schema already decoded (nil:
// no schema).
func validateParsed(content string, c TechniqueCatalog, sch map[string]any) ValidationResult {
	res := ValidationResult{Errors: []string{}, Quarantined: []string{}, Identified: IdentifyTechniques(content)}
	if catalogActive(c) {
		for _, id := range res.Identified {
			if !c.Contains(id) {
				res.Quarantined = append(res.Quarantined, id)
				res.Errors = append(res.Errors, "Unknown technique ID: "+id)
			}
		}
	}
	if sch != nil {
		res.Errors = append(res.Errors, schemaErrors(content, sch)...)
	}
	res.Valid = len(res.Errors) == 0
	return res
}

func hasSchema(schema json.RawMessage) bool {
	t := bytes.TrimSpace(schema)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// jsonKind names the JSON kind of a value decoded with UseNumber.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "unknown"
}

// errTrailingData reports a second value after the top-level one.
var errTrailingData = errors.New("invalid character after top-level value")

// decodeJSON decodes exactly one JSON value (numbers as json.Number); any
// data after it but white space is an error.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errTrailingData
		}
		return nil, err
	}
	return v, nil
}

func schemaErrors(content string, sch map[string]any) []string {
	val, err := decodeJSON([]byte(content))
	if err != nil {
		return []string{"Response is not valid JSON: " + err.Error()}
	}
	typ, _ := sch["type"].(string)
	switch typ {
	case "array":
		if _, ok := val.([]any); !ok {
			return []string{"Expected array, got " + jsonKind(val)}
		}
		return nil
	case "object":
	default:
		return nil
	}
	obj, ok := val.(map[string]any)
	if !ok {
		return []string{"Expected object, got " + jsonKind(val)}
	}
	var errs []string
	if req, ok := sch["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				if _, present := obj[name]; !present {
					errs = append(errs, "Missing required field: "+name)
				}
			}
		}
	}
	props, _ := sch["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, present := obj[k]
		if !present {
			continue
		}
		p, _ := props[k].(map[string]any)
		want, _ := p["type"].(string)
		switch want {
		case "string", "number", "array", "boolean":
			if got := jsonKind(v); got != want {
				errs = append(errs, "Field '"+k+"' expected "+want+", got "+got)
			}
		}
	}
	return errs
}

// StripTechniqueIDs deletes every technique-id match of text that is exactly
// one of ids; ids embedded in larger tokens and other ids are untouched.
func StripTechniqueIDs(text string, ids []string) string {
	if len(ids) == 0 {
		return text
	}
	var buf [16]span
	spans := findTechniqueIDs(text, buf[:0])
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		if !slices.Contains(ids, text[sp.start:sp.end]) {
			continue
		}
		if b.Cap() == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[last:sp.start])
		last = sp.end
	}
	if b.Cap() == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}
