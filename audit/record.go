package audit

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/taxonomy"
)

// Record is a typed, read-only view of an encoded event or a chained record,
// for tests, evidence packages and tools. Numbers inside Context, Decision and
// Outcome are json.Number holding the literal. Hashing never goes through
// Record: it uses the raw object (see audit/chain).
type Record struct {
	AuditID          string
	TenantID         string
	Timestamp        string
	EventType        taxonomy.EventType // as written; not validated, so other producers' records decode
	EventCategory    taxonomy.Category
	Severity         taxonomy.Severity
	ActorType        taxonomy.ActorType
	ActorID          string
	ActorPermissions []string
	SourceService    string
	ProducerID       string
	ProducerSeq      uint64 // 0 when absent
	InvestigationID  string
	AlertID          string
	EntityIDs        []string
	Context          Fields // nil when absent
	Decision         Fields
	Outcome          Fields

	// Chain fields, zero when absent. SequenceNumber is nil when absent, so
	// that absent and 0 (a genesis record) differ.
	SequenceNumber *int64
	PreviousHash   string
	IngestedAt     string
	RecordHash     string
	RecordVersion  string

	// Extra holds every top-level key not listed above.
	Extra map[string]any
}

// RecordFieldError reports a well-known key whose JSON type is wrong.
type RecordFieldError struct {
	Key  string
	Want string
}

func (e *RecordFieldError) Error() string {
	return fmt.Sprintf("audit: record key %q is not %s", e.Key, e.Want)
}

// DecodeRecord decodes one JSON object into a Record.
func DecodeRecord(b []byte) (Record, error) {
	obj, err := canonical.DecodeObject(b)
	if err != nil {
		return Record{}, err
	}
	return RecordFromObject(obj)
}

// RecordFromObject builds a Record from a decoded object. The object's maps
// are shared, not copied.
func RecordFromObject(obj canonical.Object) (Record, error) {
	var r Record
	d := recordDecoder{obj: obj}
	r.AuditID = d.str("audit_id")
	r.TenantID = d.str("tenant_id")
	r.Timestamp = d.str("timestamp")
	r.EventType = taxonomy.EventType(d.str("event_type"))
	r.EventCategory = taxonomy.Category(d.str("event_category"))
	r.Severity = taxonomy.Severity(d.str("severity"))
	r.ActorType = taxonomy.ActorType(d.str("actor_type"))
	r.ActorID = d.str("actor_id")
	r.ActorPermissions = d.strs("actor_permissions")
	r.SourceService = d.str("source_service")
	r.ProducerID = d.str("producer_id")
	if n, ok := d.num("producer_seq"); ok {
		seq, err := parseUint(n)
		if err != nil {
			d.fail("producer_seq", "a non-negative integer")
		}
		r.ProducerSeq = seq
	}
	r.InvestigationID = d.str("investigation_id")
	r.AlertID = d.str("alert_id")
	r.EntityIDs = d.strs("entity_ids")
	r.Context = d.fields("context")
	r.Decision = d.fields("decision")
	r.Outcome = d.fields("outcome")
	if n, ok := d.num("sequence_number"); ok {
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			d.fail("sequence_number", "an integer")
		}
		r.SequenceNumber = &v
	}
	r.PreviousHash = d.str("previous_hash")
	r.IngestedAt = d.str("ingested_at")
	r.RecordHash = d.str("record_hash")
	r.RecordVersion = d.str("record_version")
	for k, v := range obj {
		if !d.used[k] {
			if r.Extra == nil {
				r.Extra = map[string]any{}
			}
			r.Extra[k] = v
		}
	}
	return r, d.err
}

type recordDecoder struct {
	obj  canonical.Object
	used map[string]bool
	err  error
}

func (d *recordDecoder) take(k string) (any, bool) {
	if d.used == nil {
		d.used = map[string]bool{}
	}
	d.used[k] = true
	v, ok := d.obj[k]
	return v, ok
}

func (d *recordDecoder) fail(k, want string) {
	if d.err == nil {
		d.err = &RecordFieldError{Key: k, Want: want}
	}
}

func (d *recordDecoder) str(k string) string {
	v, ok := d.take(k)
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(k, "a string")
	}
	return s
}

func (d *recordDecoder) num(k string) (string, bool) {
	v, ok := d.take(k)
	if !ok || v == nil {
		return "", false
	}
	n, ok := v.(json.Number)
	if !ok {
		d.fail(k, "a number")
		return "", false
	}
	return string(n), true
}

func (d *recordDecoder) strs(k string) []string {
	v, ok := d.take(k)
	if !ok || v == nil {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		d.fail(k, "an array of strings")
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, el := range arr {
		s, ok := el.(string)
		if !ok {
			d.fail(k, "an array of strings")
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (d *recordDecoder) fields(k string) Fields {
	v, ok := d.take(k)
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(k, "an object")
		return nil
	}
	return Fields(m)
}

func parseUint(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
