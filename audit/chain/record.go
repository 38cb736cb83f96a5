package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
)

// GenesisHash is the previous_hash of every genesis record: 64 zeros.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Record keys the chain reads or writes.
const (
	KeySequenceNumber = "sequence_number"
	KeyPreviousHash   = "previous_hash"
	KeyIngestedAt     = "ingested_at"
	KeyRecordHash     = "record_hash"
	KeyRecordVersion  = "record_version"
	KeyTenantID       = "tenant_id"
	KeyAuditID        = "audit_id"
	KeyTimestamp      = "timestamp"
	KeyProducerID     = "producer_id"
	KeyProducerSeq    = "producer_seq"
	KeyInvestigation  = "investigation_id"
)

// Genesis record constants (spec §3.7; the reference's code, not its
// architecture document).
const (
	GenesisEventType     = "system.genesis"
	GenesisActorID       = "audit-service"
	GenesisSourceService = "audit-service"
	GenesisRecordVersion = "1.0"
)

// Head is a tenant's chain state: its last record.
type Head struct {
	TenantID string `json:"tenant_id"`
	// Sequence is the last record's sequence_number.
	Sequence int64 `json:"sequence_number"`
	// Hash is the last record's record_hash; empty means "no chain yet".
	Hash string `json:"record_hash"`
	// Timestamp is the last record's event timestamp (not ingested_at).
	Timestamp string `json:"timestamp"`
}

// Exists reports whether h describes a chain (a zero Head does not).
func (h Head) Exists() bool { return h.Hash != "" }

// same reports whether two heads name the same chain position.
func (h Head) same(o Head) bool {
	if !h.Exists() || !o.Exists() {
		return h.Exists() == o.Exists()
	}
	return h.Sequence == o.Sequence && h.Hash == o.Hash
}

// ErrNoHead is returned by Link for a zero Head: a chain starts with
// Genesis, not with Link.
var ErrNoHead = errors.New("chain: no head to link to (a chain starts with a genesis record)")

// FieldError reports a record whose chain key is missing or of the wrong
// JSON type.
type FieldError struct {
	Key  string
	Want string // "string", "integer", ...
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("chain: record key %q is missing or not %s", e.Key, e.Want)
}

// MalformedEventError reports an event the chain cannot take: not valid
// JSON, not an object, or with a non-string tenant_id. Nothing is written
// for it.
type MalformedEventError struct {
	Err error
}

func (e *MalformedEventError) Error() string { return "chain: malformed event: " + e.Err.Error() }
func (e *MalformedEventError) Unwrap() error { return e.Err }

// Hash returns record_hash for rec: the lowercase hex SHA-256 of the
// canonical form of rec without its top-level record_hash key. rec is not
// modified. Values must be of the types canonical.Append accepts.
func Hash(rec canonical.Object) (string, error) {
	h := getHasher()
	defer putHasher(h)
	var err error
	h.buf, err = appendObjectWithout(h.buf[:0], rec, KeyRecordHash)
	if err != nil {
		return "", err
	}
	return h.sum(h.buf), nil
}

// appendObjectWithout appends the canonical form of m minus key skip.
func appendObjectWithout(dst []byte, m canonical.Object, skip string) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != skip {
			if !utf8.ValidString(k) {
				return dst, &canonical.MarshalError{Err: canonical.ErrInvalidUTF8}
			}
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = canonical.AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = canonical.Append(dst, m[k]); err != nil {
			return dst, fmt.Errorf("chain: key %q: %w", k, err)
		}
	}
	return append(dst, '}'), nil
}

// hasher bundles a reusable SHA-256 state and scratch buffer.
type hasher struct {
	h     hash.Hash
	buf   []byte
	sum32 [32]byte
}

var hasherPool = sync.Pool{New: func() any { return &hasher{h: sha256.New(), buf: make([]byte, 0, 1024)} }}

func getHasher() *hasher { return hasherPool.Get().(*hasher) }

func putHasher(h *hasher) {
	if cap(h.buf) > 64<<10 {
		h.buf = make([]byte, 0, 1024)
	}
	hasherPool.Put(h)
}

// sum returns the hex SHA-256 of the concatenation of parts.
func (h *hasher) sum(parts ...[]byte) string {
	var dst [64]byte
	h.sumInto(dst[:], parts...)
	return string(dst[:])
}

// sumInto writes the hex SHA-256 of parts into dst[:64].
func (h *hasher) sumInto(dst []byte, parts ...[]byte) {
	h.h.Reset()
	for _, p := range parts {
		h.h.Write(p)
	}
	hex.Encode(dst, h.h.Sum(h.sum32[:0]))
}

// Genesis returns the genesis record of a tenant's chain: exactly the 20
// keys the reference writes, and record_hash. tenantID and auditID must be
// valid UTF-8.
func Genesis(tenantID, auditID string, now time.Time) canonical.Object {
	ts := audit.FormatTimestamp(now)
	rec := canonical.Object{
		KeyAuditID:          auditID,
		KeyTenantID:         tenantID,
		KeySequenceNumber:   json.Number("0"),
		KeyPreviousHash:     GenesisHash,
		KeyTimestamp:        ts,
		KeyIngestedAt:       ts,
		"event_type":        GenesisEventType,
		"event_category":    "system",
		"severity":          "info",
		"actor_type":        "system",
		"actor_id":          GenesisActorID,
		"actor_permissions": []any{},
		KeyInvestigation:    "",
		"alert_id":          "",
		"entity_ids":        []any{},
		"context":           canonical.Object{},
		"decision":          canonical.Object{},
		"outcome":           canonical.Object{},
		KeyRecordVersion:    GenesisRecordVersion,
		"source_service":    GenesisSourceService,
	}
	// Every value above is a string, a number or an empty list or map, so
	// hashing fails only for a tenant or audit id that is not valid UTF-8
	// (never one decoded from JSON). The record then has an empty
	// record_hash, which every verifier and Store refuses.
	h, err := Hash(rec)
	if err != nil {
		h = ""
	}
	rec[KeyRecordHash] = h
	return rec
}

// Link returns the record that appends event to the chain whose last record
// is head: a shallow copy of event with sequence_number = head.Sequence+1,
// previous_hash = head.Hash, ingested_at = now, and record_hash. Values the
// producer sent for those four keys are overwritten; nothing else is added
// or removed (no record_version, no defaults), exactly as the reference
// does. event is not modified.
func Link(event canonical.Object, head Head, now time.Time) (canonical.Object, error) {
	if !head.Exists() {
		return nil, ErrNoHead
	}
	rec := make(canonical.Object, len(event)+4)
	for k, v := range event {
		rec[k] = v
	}
	delete(rec, KeyRecordHash)
	rec[KeySequenceNumber] = json.Number(strconv.FormatInt(head.Sequence+1, 10))
	rec[KeyPreviousHash] = head.Hash
	rec[KeyIngestedAt] = audit.FormatTimestamp(now)
	h, err := Hash(rec)
	if err != nil {
		return nil, err
	}
	rec[KeyRecordHash] = h
	return rec, nil
}

// HeadOf returns the Head a record establishes.
func HeadOf(rec canonical.Object) (Head, error) {
	f, err := objectFields(rec)
	if err != nil {
		return Head{}, err
	}
	if !f.hasSeq {
		return Head{}, &FieldError{Key: KeySequenceNumber, Want: "an integer"}
	}
	if !f.hasStored {
		return Head{}, &FieldError{Key: KeyRecordHash, Want: "a string"}
	}
	return Head{TenantID: f.tenant, Sequence: f.seq, Hash: f.stored, Timestamp: f.timestamp}, nil
}

// TenantOf returns a record's or event's tenant_id: "" when absent (as the
// reference reads it), an error when it is not a string.
func TenantOf(obj canonical.Object) (string, error) {
	v, ok := obj[KeyTenantID]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", &FieldError{Key: KeyTenantID, Want: "a string"}
	}
	return s, nil
}

// fields are the top-level values the chain reads from a record, plus what
// went wrong reading them. They come from an object (objectFields) or from
// canonical bytes (the fast path in raw.go).
type fields struct {
	tenant        string
	tenantBad     bool // tenant_id present but not a string
	auditID       string
	timestamp     string
	seq           int64
	hasSeq        bool
	seqBad        string // why sequence_number is unusable ("" if fine or absent)
	prev          string
	hasPrev       bool
	stored        string // record_hash as stored
	hasStored     bool
	computed      string // recomputed record_hash
	producerID    string
	producerSeq   uint64
	hasProducer   bool
	genesisBad    string // why it is not a valid genesis record ("" if it is)
	investigation string
}

// objectFields reads the chain keys of an object and recomputes its hash.
func objectFields(obj canonical.Object) (fields, error) {
	var f fields
	switch v := obj[KeyTenantID].(type) {
	case string:
		f.tenant = v
	case nil:
		if _, present := obj[KeyTenantID]; present {
			f.tenantBad = true
		}
	default:
		f.tenantBad = true
	}
	f.auditID, _ = obj[KeyAuditID].(string)
	f.timestamp, _ = obj[KeyTimestamp].(string)
	f.investigation, _ = obj[KeyInvestigation].(string)
	if v, ok := obj[KeySequenceNumber]; ok {
		f.seq, f.seqBad = sequenceValue(v)
		f.hasSeq = f.seqBad == ""
	}
	f.prev, f.hasPrev = obj[KeyPreviousHash].(string)
	f.stored, f.hasStored = obj[KeyRecordHash].(string)
	if pid, ok := obj[KeyProducerID].(string); ok {
		if n, ok := obj[KeyProducerSeq].(json.Number); ok {
			if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
				f.producerID, f.producerSeq, f.hasProducer = pid, u, true
			}
		}
	}
	var err error
	f.computed, err = Hash(obj)
	if err != nil {
		return f, err
	}
	if f.hasSeq && f.seq == 0 {
		f.genesisBad = genesisProblem(obj)
	}
	return f, nil
}

// sequenceValue converts a sequence_number value; bad is non-empty when it
// is not an integer in int64 range.
func sequenceValue(v any) (seq int64, bad string) {
	var lit string
	switch x := v.(type) {
	case json.Number:
		lit = string(x)
	case int64:
		return x, ""
	case int:
		return int64(x), ""
	default:
		return 0, "not an integer"
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return 0, "not an integer in int64 range: " + strconv.QuoteToASCII(lit)
	}
	return n, ""
}

// genesisProblem says why obj is not a genesis record of the spec's shape,
// or "" if it is. The hash itself is checked separately.
func genesisProblem(obj canonical.Object) string {
	want := map[string]string{
		KeyPreviousHash: GenesisHash, "event_type": GenesisEventType, "event_category": "system",
		"severity": "info", "actor_type": "system", "actor_id": GenesisActorID,
		KeyRecordVersion: GenesisRecordVersion,
	}
	for _, k := range []string{KeyPreviousHash, "event_type", "event_category", "severity", "actor_type", "actor_id", KeyRecordVersion} {
		if s, _ := obj[k].(string); s != want[k] {
			return fmt.Sprintf("%s is not %q", k, want[k])
		}
	}
	if n, ok := obj[KeySequenceNumber].(json.Number); !ok || n != "0" {
		return "sequence_number is not 0"
	}
	for _, k := range []string{KeyAuditID, KeyTimestamp, KeyIngestedAt} {
		if s, _ := obj[k].(string); s == "" {
			return k + " is missing"
		}
	}
	return ""
}
