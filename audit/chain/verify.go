package chain

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
)

// ErrorKind classifies a verification error. It implements error, so
// errors.Is(err, chain.HashMismatch) matches an *Error of that kind.
type ErrorKind int

// Verification error kinds. Malformed makes a result "cannot verify"; every
// other kind makes it "invalid".
const (
	// HashMismatch: the record's content does not hash to its record_hash.
	HashMismatch ErrorKind = iota + 1
	// LinkBroken: previous_hash is not the previous record's record_hash.
	LinkBroken
	// SequenceGap: sequence_number is not the previous one plus one.
	SequenceGap
	// Malformed: the record lacks a chain key (sequence_number,
	// previous_hash, record_hash), has one of the wrong type, holds a value
	// that cannot be hashed, or could not be decoded at all.
	Malformed
	// GenesisInvalid (strict): a chain starting at sequence 0 does not start
	// with a genesis record.
	GenesisInvalid
	// TenantMismatch (strict): records of more than one tenant.
	TenantMismatch
	// TimestampRegression (strict): an event timestamp before its
	// predecessor's.
	TimestampRegression
	// CheckpointMismatch: a signed checkpoint names a record_hash the chain
	// does not have at that sequence (the chain was rewritten).
	CheckpointMismatch
	// Truncated: the chain ends before the sequence of a signed checkpoint
	// (its tail was removed).
	Truncated
	// CheckpointSignature: a checkpoint's signature does not verify under
	// any trusted key.
	CheckpointSignature
)

var kindNames = map[ErrorKind]string{
	HashMismatch: "hash_mismatch", LinkBroken: "link_broken", SequenceGap: "sequence_gap",
	Malformed: "malformed", GenesisInvalid: "genesis_invalid", TenantMismatch: "tenant_mismatch",
	TimestampRegression: "timestamp_regression", CheckpointMismatch: "checkpoint_mismatch",
	Truncated: "truncated", CheckpointSignature: "checkpoint_signature",
}

func (k ErrorKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// Error makes a kind usable as an errors.Is target.
func (k ErrorKind) Error() string { return k.String() }

// MarshalText writes the kind's name.
func (k ErrorKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *ErrorKind) UnmarshalText(b []byte) error {
	for kind, name := range kindNames {
		if name == string(b) {
			*k = kind
			return nil
		}
	}
	return fmt.Errorf("chain: unknown error kind %q", b)
}

// Error is one verification finding.
type Error struct {
	Kind ErrorKind `json:"kind"`
	// Sequence is the record's sequence_number (the checkpoint's, for
	// checkpoint kinds); meaningless when NoSequence is set.
	Sequence   int64 `json:"sequence"`
	NoSequence bool  `json:"no_sequence,omitempty"`
	// Previous is the predecessor's sequence (LinkBroken, SequenceGap).
	Previous int64 `json:"previous,omitempty"`
	// Expected and Got are the values compared: hashes or sequences.
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
	// Detail says what exactly is malformed or inconsistent.
	Detail string `json:"detail,omitempty"`
	// Index is the record's position among the records verified (for a
	// stream, among the tenant's records), from 0.
	Index int `json:"index"`
	// Line is the input line (from 1) when verifying a stream, else 0.
	Line int `json:"line,omitempty"`
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

func (e *Error) seqText() string {
	if e.NoSequence {
		return "missing"
	}
	return strconv.FormatInt(e.Sequence, 10)
}

// Error returns the reference's message for the reference kinds.
func (e *Error) Error() string {
	switch e.Kind {
	case HashMismatch:
		return fmt.Sprintf("Record seq=%s: hash mismatch (expected %s..., got %s...)", e.seqText(), short(e.Expected), short(e.Got))
	case LinkBroken:
		return fmt.Sprintf("Record seq=%s: previous_hash does not link to seq=%d record_hash", e.seqText(), e.Previous)
	case SequenceGap:
		return fmt.Sprintf("Sequence gap: expected %s, got %s", e.Expected, e.Got)
	case Malformed:
		if e.Line > 0 {
			return fmt.Sprintf("Line %d: malformed record (seq=%s): %s", e.Line, e.seqText(), e.Detail)
		}
		return fmt.Sprintf("Record seq=%s: malformed: %s", e.seqText(), e.Detail)
	case GenesisInvalid:
		return fmt.Sprintf("Record seq=%s: not a genesis record: %s", e.seqText(), e.Detail)
	case TenantMismatch:
		return fmt.Sprintf("Record seq=%s: tenant_id %q differs from %q", e.seqText(), e.Got, e.Expected)
	case TimestampRegression:
		return fmt.Sprintf("Record seq=%s: timestamp %s is before the previous record's %s", e.seqText(), e.Got, e.Expected)
	case CheckpointMismatch:
		return fmt.Sprintf("Checkpoint seq=%d: %s", e.Sequence, e.Detail)
	case Truncated:
		return fmt.Sprintf("Chain truncated: %s", e.Detail)
	case CheckpointSignature:
		return fmt.Sprintf("Checkpoint seq=%d: %s", e.Sequence, e.Detail)
	}
	return fmt.Sprintf("Record seq=%s: %s %s", e.seqText(), e.Kind, e.Detail)
}

// Is matches an ErrorKind target of the same kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(ErrorKind)
	return ok && k == e.Kind
}

// MarshalJSON adds the message to the fields.
func (e Error) MarshalJSON() ([]byte, error) {
	type plain Error
	return json.Marshal(struct {
		plain
		Message string `json:"message"`
	}{plain(e), e.Error()})
}

// Status is the three-state outcome of a verification.
type Status int

const (
	// StatusValid: every record was judged and nothing is wrong.
	StatusValid Status = iota
	// StatusCannotVerify: nothing judged is wrong, but some record could not
	// be judged (undecodable, or lacking the chain keys), so neither it nor
	// its link to the next record was checked.
	StatusCannotVerify
	// StatusInvalid: at least one definite error. Invalid outranks cannot
	// verify.
	StatusInvalid
)

func (s Status) String() string {
	switch s {
	case StatusValid:
		return "valid"
	case StatusInvalid:
		return "invalid"
	case StatusCannotVerify:
		return "cannot_verify"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the status name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for _, st := range []Status{StatusValid, StatusCannotVerify, StatusInvalid} {
		if st.String() == string(b) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("chain: unknown status %q", b)
}

// Result is the verdict on one tenant's records.
type Result struct {
	Status Status `json:"status"`
	// Valid is Status == StatusValid (the reference's boolean).
	Valid bool `json:"valid"`
	// Checked is the number of records examined.
	Checked int `json:"checked"`
	// FirstSequence and LastSequence are the first and last usable
	// sequence numbers seen (0 when none).
	FirstSequence int64 `json:"first_sequence"`
	LastSequence  int64 `json:"last_sequence"`
	// FirstBad is the sequence of the first record with an error (nil when
	// none, or when that record had no usable sequence).
	FirstBad *int64 `json:"first_bad,omitempty"`
	// Errors in input order, capped by WithMaxErrors; ErrorsOmitted counts
	// the rest.
	Errors        []Error `json:"errors"`
	ErrorsOmitted int     `json:"errors_omitted,omitempty"`
	// CheckpointsChecked counts checkpoints matched against the chain.
	CheckpointsChecked int `json:"checkpoints_checked"`
	// CheckpointsUnauthenticated is set when checkpoints were compared but
	// no public key was given to check their signatures; they then only
	// show accidental truncation, not a deliberate rewrite.
	CheckpointsUnauthenticated bool `json:"checkpoints_unauthenticated,omitempty"`
	// CheckpointsUnchecked counts checkpoints that named a sequence too far
	// behind the stream to compare (see WithCheckpointWindow).
	CheckpointsUnchecked int `json:"checkpoints_unchecked,omitempty"`
}

// Defaults of the verification options.
const (
	// DefaultMaxErrors caps the errors kept per tenant.
	DefaultMaxErrors = 1000
	// DefaultCheckpointWindow is how many recent record hashes per tenant a
	// stream verifier keeps to match checkpoints that arrive after their
	// record.
	DefaultCheckpointWindow = 64
)

type verifyConfig struct {
	strict      bool
	full        bool
	maxErrors   int
	keys        []ed25519.PublicKey
	checkpoints []Checkpoint
	window      int
}

// VerifyOption configures Verify and StreamVerifier.
type VerifyOption func(*verifyConfig)

// VerifyStrict adds the checks the reference does not make: a chain that
// starts at sequence 0 must start with a genesis record (GenesisInvalid),
// all records share one tenant_id (TenantMismatch), and event timestamps
// never decrease (TimestampRegression).
func VerifyStrict() VerifyOption { return func(c *verifyConfig) { c.strict = true } }

// VerifyFromGenesis declares that the records are a tenant's whole chain,
// not a segment: the first record must be a genesis record at sequence 0
// (GenesisInvalid otherwise). Without it a chain whose genesis was deleted
// verifies, since any contiguous segment does.
func VerifyFromGenesis() VerifyOption { return func(c *verifyConfig) { c.full = true } }

// WithMaxErrors caps the errors kept per tenant; the rest are counted in
// Result.ErrorsOmitted. This overrides the default of 1,000.
func WithMaxErrors(n int) VerifyOption {
	return func(c *verifyConfig) {
		if n > 0 {
			c.maxErrors = n
		}
	}
}

// WithPublicKeys sets the Ed25519 keys checkpoints must be signed with.
// Without keys, checkpoints are still compared with the chain but their
// signatures are not checked (Result.CheckpointsUnauthenticated).
func WithPublicKeys(keys ...ed25519.PublicKey) VerifyOption {
	return func(c *verifyConfig) { c.keys = append(c.keys, keys...) }
}

// WithCheckpoints gives Verify the checkpoints to check the records
// against; those of other tenants than the records' are ignored. A
// StreamVerifier takes them as if added with AddCheckpoint first.
func WithCheckpoints(cps ...Checkpoint) VerifyOption {
	return func(c *verifyConfig) { c.checkpoints = append(c.checkpoints, cps...) }
}

// WithCheckpointWindow sets how many recent record hashes per tenant a
// StreamVerifier keeps for checkpoints that arrive after their record. This
// overrides the default of 64.
func WithCheckpointWindow(n int) VerifyOption {
	return func(c *verifyConfig) {
		if n >= 0 {
			c.window = n
		}
	}
}

func newVerifyConfig(opts []VerifyOption) *verifyConfig {
	c := &verifyConfig{maxErrors: DefaultMaxErrors, window: DefaultCheckpointWindow}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// Verify judges one tenant's records in the order given, which must be
// ascending sequence (as Store.Range returns them and the chain writes
// them). Unlike the reference, it does not sort first: a stream delivered
// out of order is itself a defect worth reporting, and a reordering is
// detected rather than silently repaired.
//
// For every record: its hash is recomputed (HashMismatch); from the second
// judged record on, previous_hash must be the predecessor's record_hash
// (LinkBroken) and sequence_number the predecessor's plus one
// (SequenceGap). The first record's previous_hash is not checked, so any
// contiguous segment verifies. A record without usable chain keys makes
// the result StatusCannotVerify (unless something is definitely wrong) and
// its successor is not link-checked. Checkpoints (WithCheckpoints) must
// match the record at their sequence, and the records must reach the last
// checkpoint.
func Verify(records []canonical.Object, opts ...VerifyOption) Result {
	cfg := newVerifyConfig(opts)
	v := newTenantVerifier(cfg)
	if len(cfg.checkpoints) > 0 {
		tenant, have := "", false
		for _, r := range records {
			if t, ok := r[KeyTenantID].(string); ok {
				tenant, have = t, true
				break
			}
		}
		for _, cp := range cfg.checkpoints {
			if have && cp.TenantID == tenant {
				v.addCheckpoint(cp)
			}
		}
	}
	for i, rec := range records {
		f, err := objectFields(rec)
		if err != nil {
			v.malformed(f, "unhashable value: "+err.Error(), i, 0)
			continue
		}
		v.add(&f, i, 0)
	}
	return v.finish()
}

// recentHash remembers one record for late checkpoints.
type recentHash struct {
	seq  int64
	hash string
}

// tenantVerifier is the O(1)-state verifier of one tenant's stream.
type tenantVerifier struct {
	cfg *verifyConfig
	res Result

	tenant    string
	tenantSet bool
	judged    int  // records with usable chain keys
	anchored  bool // last record usable as the next one's predecessor
	lastSeq   int64
	lastHash  string
	lastTS    time.Time
	lastTSOK  bool
	maxSeq    int64
	sawSeq    bool
	pending   []Checkpoint // ascending, beyond the records seen so far
	recent    []recentHash // ring of the last cfg.window records
	recentPos int
}

func newTenantVerifier(cfg *verifyConfig) *tenantVerifier {
	return &tenantVerifier{cfg: cfg, res: Result{Errors: []Error{}}}
}

func (v *tenantVerifier) addErr(e Error) {
	if v.res.FirstBad == nil && !e.NoSequence && e.Kind != Malformed {
		s := e.Sequence
		v.res.FirstBad = &s
	}
	if e.Kind == Malformed {
		if v.res.Status == StatusValid {
			v.res.Status = StatusCannotVerify
		}
	} else {
		v.res.Status = StatusInvalid
	}
	if len(v.res.Errors) >= v.cfg.maxErrors {
		v.res.ErrorsOmitted++
		return
	}
	v.res.Errors = append(v.res.Errors, e)
}

// malformed records a record that cannot be judged.
func (v *tenantVerifier) malformed(f fields, detail string, index, line int) {
	v.res.Checked++
	v.addErr(Error{Kind: Malformed, Sequence: f.seq, NoSequence: !f.hasSeq, Detail: detail, Index: index, Line: line})
	v.anchored = false
}

// breakAnchor is called when a line that may have belonged to this tenant
// could not be read: the next record's link cannot be judged.
func (v *tenantVerifier) breakAnchor() { v.anchored = false }

func (v *tenantVerifier) add(f *fields, index, line int) {
	var missing []string
	if !f.hasSeq {
		if f.seqBad != "" {
			missing = append(missing, KeySequenceNumber+" "+f.seqBad)
		} else {
			missing = append(missing, KeySequenceNumber+" missing")
		}
	}
	if !f.hasPrev {
		missing = append(missing, KeyPreviousHash+" missing or not a string")
	}
	if !f.hasStored {
		missing = append(missing, KeyRecordHash+" missing or not a string")
	}
	if len(missing) > 0 {
		v.malformed(*f, strings.Join(missing, ", "), index, line)
		return
	}
	v.res.Checked++
	seq := f.seq
	mk := func(k ErrorKind) Error { return Error{Kind: k, Sequence: seq, Index: index, Line: line} }
	if v.judged == 0 {
		v.res.FirstSequence = seq
	}
	if f.computed != f.stored {
		e := mk(HashMismatch)
		e.Expected, e.Got = f.computed, f.stored
		v.addErr(e)
	}
	if v.anchored {
		if f.prev != v.lastHash {
			e := mk(LinkBroken)
			e.Previous, e.Expected, e.Got = v.lastSeq, v.lastHash, f.prev
			v.addErr(e)
		}
		if seq != v.lastSeq+1 {
			e := mk(SequenceGap)
			e.Previous = v.lastSeq
			e.Expected, e.Got = strconv.FormatInt(v.lastSeq+1, 10), strconv.FormatInt(seq, 10)
			v.addErr(e)
		}
	}
	if v.cfg.full && v.judged == 0 && (seq != 0 || f.genesisBad != "") {
		e := mk(GenesisInvalid)
		e.Detail = "the chain does not start with a genesis record at sequence 0"
		if seq == 0 {
			e.Detail = f.genesisBad
		}
		v.addErr(e)
	}
	if v.cfg.strict {
		v.strictChecks(f, mk)
	}
	v.checkPending(f, index, line)
	v.remember(seq, f.stored)
	v.judged++
	v.anchored = true
	v.lastSeq, v.lastHash = seq, f.stored
	v.res.LastSequence = seq
	if !v.sawSeq || seq > v.maxSeq {
		v.maxSeq, v.sawSeq = seq, true
	}
}

func (v *tenantVerifier) strictChecks(f *fields, mk func(ErrorKind) Error) {
	if v.judged == 0 && f.seq == 0 && f.genesisBad != "" && !v.cfg.full {
		e := mk(GenesisInvalid)
		e.Detail = f.genesisBad
		v.addErr(e)
	}
	if !v.tenantSet {
		v.tenant, v.tenantSet = f.tenant, true
	} else if f.tenant != v.tenant || f.tenantBad {
		e := mk(TenantMismatch)
		e.Expected, e.Got = v.tenant, f.tenant
		v.addErr(e)
	}
	// A genesis record's timestamp is the chain's ingestion time, later
	// than the event time of the first events; only events are ordered.
	if f.seq == 0 && f.genesisBad == "" {
		return
	}
	if ts, err := audit.ParseTimestamp(f.timestamp); err == nil {
		if v.lastTSOK && ts.Before(v.lastTS) {
			e := mk(TimestampRegression)
			e.Expected, e.Got = audit.FormatTimestamp(v.lastTS), f.timestamp
			v.addErr(e)
		}
		v.lastTS, v.lastTSOK = ts, true
	}
}

// checkPending compares the checkpoints waiting for this record.
func (v *tenantVerifier) checkPending(f *fields, index, line int) {
	for len(v.pending) > 0 {
		cp := v.pending[0]
		if cp.Sequence > f.seq {
			return
		}
		v.pending = v.pending[1:]
		switch {
		case v.judged == 0 && cp.Sequence < f.seq:
			// Before the first record verified: outside this segment.
		case cp.Sequence < f.seq:
			v.addErr(Error{Kind: CheckpointMismatch, Sequence: cp.Sequence, Index: index, Line: line,
				Detail: fmt.Sprintf("the chain has no record with this sequence (next is seq=%d)", f.seq)})
		case cp.HeadHash != f.stored:
			v.addErr(Error{Kind: CheckpointMismatch, Sequence: cp.Sequence, Index: index, Line: line,
				Expected: cp.HeadHash, Got: f.stored,
				Detail: fmt.Sprintf("signed head hash %s... differs from the record_hash %s...", short(cp.HeadHash), short(f.stored))})
		default:
			v.res.CheckpointsChecked++
		}
	}
}

func (v *tenantVerifier) remember(seq int64, hash string) {
	if v.cfg.window == 0 {
		return
	}
	if len(v.recent) < v.cfg.window {
		v.recent = append(v.recent, recentHash{seq, hash})
		return
	}
	v.recent[v.recentPos] = recentHash{seq, hash}
	v.recentPos = (v.recentPos + 1) % len(v.recent)
}

// addCheckpoint takes a checkpoint for this tenant: compared at once if its
// record has passed, else kept until it arrives.
func (v *tenantVerifier) addCheckpoint(cp Checkpoint) {
	if len(v.cfg.keys) == 0 {
		v.res.CheckpointsUnauthenticated = true
	} else if err := cp.VerifySignature(v.cfg.keys...); err != nil {
		v.addErr(Error{Kind: CheckpointSignature, Sequence: cp.Sequence, Detail: err.Error()})
		return
	}
	if !v.sawSeq || cp.Sequence > v.maxSeq {
		i, _ := slices.BinarySearchFunc(v.pending, cp.Sequence, func(c Checkpoint, s int64) int {
			switch {
			case c.Sequence < s:
				return -1
			case c.Sequence > s:
				return 1
			}
			return 0
		})
		v.pending = slices.Insert(v.pending, i, cp)
		return
	}
	for _, r := range v.recent {
		if r.seq == cp.Sequence {
			if r.hash != cp.HeadHash {
				v.addErr(Error{Kind: CheckpointMismatch, Sequence: cp.Sequence, Expected: cp.HeadHash, Got: r.hash,
					Detail: fmt.Sprintf("signed head hash %s... differs from the record_hash %s...", short(cp.HeadHash), short(r.hash))})
			} else {
				v.res.CheckpointsChecked++
			}
			return
		}
	}
	if cp.Sequence >= v.res.FirstSequence {
		v.res.CheckpointsUnchecked++
	}
}

// finish reports checkpoints the chain never reached and settles the
// status.
func (v *tenantVerifier) finish() Result {
	if n := len(v.pending); n > 0 {
		last := v.pending[n-1]
		end := "the chain is empty"
		if v.sawSeq {
			end = fmt.Sprintf("it ends at seq=%d", v.lastSeq)
		}
		v.addErr(Error{Kind: Truncated, Sequence: last.Sequence, Index: v.res.Checked,
			Detail: fmt.Sprintf("%s, but a checkpoint signed at %s vouches for seq=%d", end, last.Timestamp, last.Sequence)})
		v.pending = nil
	}
	v.res.Valid = v.res.Status == StatusValid
	return v.res
}
