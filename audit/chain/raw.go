package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
)

// This file is the fast path for encoded records. Warden's producer and
// chain write canonical JSON, and for canonical text the canonical form of
// "the record without record_hash" is the text itself with one member cut
// out, and a linked record is the event's text with four members spliced in.
// No maps are built. The scanner below accepts exactly the texts that are
// their own canonical form (canonical.Canonicalize(b) == b); anything else
// takes the slow path (decode, then canonical.Marshal), so the fast path can
// only be faster, never different. FuzzRawMatchesObjectPath holds it to that.

// maxFastDepth bounds the scanner's recursion; deeper texts take the slow
// path, which has its own limit.
const maxFastDepth = 64

// rawMember is one top-level member of a canonical object.
// It holds offsets into the text, not slices, so that filling a slice of
// them costs no GC write barriers; methods take the text.
type rawMember struct {
	start int  // offset of the key's opening quote
	kend  int  // offset of the key's closing quote
	val   int  // offset of the value's first byte
	end   int  // offset just past the value
	esc   bool // key contains a backslash escape
}

// key returns the key's text between the quotes, escapes undecoded.
func (m *rawMember) key(b []byte) []byte { return b[m.start+1 : m.kend] }

// keyString returns the decoded key.
func (m *rawMember) keyString(b []byte) string {
	if !m.esc {
		return string(m.key(b))
	}
	return unescape(m.key(b))
}

// keyIs compares the decoded key with an ASCII name without allocating.
func (m *rawMember) keyIs(b []byte, name string) bool { return !m.esc && string(m.key(b)) == name }

// unescape decodes a canonical string body (known valid).
func unescape(body []byte) string {
	q := make([]byte, 0, len(body)+2)
	q = append(append(append(q, '"'), body...), '"')
	v, err := canonical.Decode(q)
	if err != nil {
		return string(body) // unreachable for scanner-accepted text
	}
	s, _ := v.(string)
	return s
}

// scanCanonical reports whether b is exactly the canonical form of a JSON
// object, appending its top-level members to ms.
func scanCanonical(b []byte, ms []rawMember) ([]rawMember, bool) {
	if len(b) < 2 || b[0] != '{' {
		return ms, false
	}
	s := scanner{b: b}
	s.i = 1
	if b[1] == '}' {
		return ms, len(b) == 2
	}
	var prev rawMember
	for {
		var m rawMember
		if !s.key(&m) {
			return ms, false
		}
		if len(ms) > 0 && !keyLess(s.b, &prev, &m) {
			return ms, false
		}
		if !s.value(1) {
			return ms, false
		}
		m.end = s.i
		ms = append(ms, m)
		prev = m
		if s.i >= len(b) {
			return ms, false
		}
		switch b[s.i] {
		case ',':
			s.i++
		case '}':
			return ms, s.i+1 == len(b)
		default:
			return ms, false
		}
	}
}

// keyLess reports whether a's key sorts strictly before b's in code point
// order (= byte order of the decoded UTF-8).
func keyLess(text []byte, a, b *rawMember) bool {
	if !a.esc && !b.esc {
		return bytes.Compare(a.key(text), b.key(text)) < 0
	}
	return a.keyString(text) < b.keyString(text)
}

type scanner struct {
	b []byte
	i int
}

// key scans `"key":` and fills m.key, m.esc, m.start, m.val.
func (s *scanner) key(m *rawMember) bool {
	m.start = s.i
	end, esc, ok := s.str(s.i)
	if !ok || end >= len(s.b) || s.b[end] != ':' {
		return false
	}
	m.kend, m.esc = end-1, esc
	s.i = end + 1
	m.val = s.i
	return true
}

// value scans one canonical value at s.i.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		end, _, ok := s.str(s.i)
		s.i = end
		return ok
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return false
}

func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

func (s *scanner) object(depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	s.i++ // {
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	var prev rawMember
	first := true
	for {
		var m rawMember
		if s.i >= len(s.b) || !s.key(&m) {
			return false
		}
		if !first && !keyLess(s.b, &prev, &m) {
			return false
		}
		first = false
		prev = m
		if !s.value(depth) || s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) array(depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	s.i++ // [
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) || s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// str scans a canonical string starting at the quote at i and returns the
// offset just past its closing quote. Canonical strings are pure ASCII:
// printable characters other than `"` and `\` appear as themselves;
// everything else has exactly one permitted escape.
func (s *scanner) str(i int) (end int, esc, ok bool) {
	b := s.b
	if i >= len(b) || b[i] != '"' {
		return i, false, false
	}
	i++
	for i < len(b) {
		// Skip eight plain characters at a time.
		for i+8 <= len(b) && !special8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		// Then one at a time up to the special character the word held.
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return i, esc, false
			}
			switch b[i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, good := hex4(b, i+2)
				if !good {
					return i, esc, false
				}
				switch {
				case r < 0x20:
					if r == '\b' || r == '\f' || r == '\n' || r == '\r' || r == '\t' {
						return i, esc, false // has a short form
					}
				case r < 0x7f:
					return i, esc, false // printable ASCII is written as itself
				case r >= 0xdc00 && r <= 0xdfff:
					return i, esc, false // lone low surrogate
				case r >= 0xd800 && r <= 0xdbff:
					if i+11 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
						return i, esc, false
					}
					lo, good := hex4(b, i+8)
					if !good || lo < 0xdc00 || lo > 0xdfff {
						return i, esc, false
					}
					i += 6
				}
				i += 6
			default:
				return i, esc, false
			}
		case c < 0x20 || c >= 0x7f:
			return i, esc, false
		default:
			i++
		}
	}
	return i, esc, false
}

// plainByte marks the bytes a canonical string holds as themselves.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// special8 reports whether any of the eight bytes in x is not a plain
// string character: below 0x20, '"', '\\' or 0x7f and above. It may
// report true for a plain word (a borrow between bytes); never false for
// a special one.
func special8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	lt20 := (x - ones*0x20) & ^x
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	eq := (quote-ones) & ^quote | (backslash-ones) & ^backslash
	ge7f := (x + ones) | x
	return (lt20|eq|ge7f)&highs != 0
}

// hex4 reads four lowercase hex digits at i.
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number scans a number literal that is already in canonical form: an
// integer without leading zeros or "-0", or a float literal equal to the
// repr of its value.
func (s *scanner) number() bool {
	b, start := s.b, s.i
	i := start
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	intStart := i
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	isFloat := false
	if i < len(b) && b[i] == '.' {
		isFloat = true
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isFloat = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	lit := b[start:i]
	s.i = i
	if !isFloat {
		if string(lit) == "-0" {
			return false
		}
		return i-intStart <= canonical.MaxIntegerDigits
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return false // out of range: its repr is not a JSON number
	}
	var tmp [32]byte
	return bytes.Equal(canonical.AppendFloat(tmp[:0], f), lit)
}

// memberString returns a top-level member's value if it is a string.
func memberString(b []byte, m *rawMember) (string, bool) {
	v := b[m.val:m.end]
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), true
	}
	return unescape(v[1 : len(v)-1]), true
}

// memberInt returns a top-level member's value as an int64 if it is an
// integer literal in range; bad explains otherwise.
func memberInt(b []byte, m *rawMember) (n int64, bad string) {
	v := b[m.val:m.end]
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || bytes.ContainsAny(v, ".eE") {
		return 0, "not an integer"
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, "not an integer in int64 range: " + string(v)
	}
	return n, ""
}

// rawFields reads the chain keys of canonical text b whose members are ms
// and recomputes its hash with h.
// With lean set it skips the keys verification does not use (audit_id,
// investigation_id, and timestamp unless strict) to save their copies.
func rawFields(b []byte, ms []rawMember, h *hasher, lean, strict bool) fields {
	var f fields
	rh := -1
	for i := range ms {
		m := &ms[i]
		if m.esc {
			continue // every key read here is plain ASCII
		}
		switch string(m.key(b)) {
		case KeyTenantID:
			var ok bool
			if f.tenant, ok = memberString(b, m); !ok {
				f.tenantBad = true
			}
		case KeyAuditID:
			if !lean {
				f.auditID, _ = memberString(b, m)
			}
		case KeyTimestamp:
			if !lean || strict {
				f.timestamp, _ = memberString(b, m)
			}
		case KeyInvestigation:
			if !lean {
				f.investigation, _ = memberString(b, m)
			}
		case KeySequenceNumber:
			f.seq, f.seqBad = memberInt(b, m)
			f.hasSeq = f.seqBad == ""
		case KeyPreviousHash:
			f.prev, f.hasPrev = memberString(b, m)
		case KeyRecordHash:
			f.stored, f.hasStored = memberString(b, m)
			rh = i
		case KeyProducerID:
			f.producerID, f.hasProducer = memberString(b, m)
		case KeyProducerSeq:
			v := b[m.val:m.end]
			u, err := strconv.ParseUint(string(v), 10, 64)
			if err == nil {
				f.producerSeq = u
			} else {
				f.producerSeq = 0
			}
		}
	}
	if f.producerSeq == 0 {
		f.hasProducer = false
	}
	a, z := cutSpan(ms, rh)
	f.computed = h.sum(b[:a], b[z:])
	if f.hasSeq && f.seq == 0 {
		f.genesisBad = rawGenesisProblem(b, ms)
	}
	return f
}

// cutSpan returns the byte range [a, z) to remove from a canonical object to
// drop member i together with one separating comma; for i < 0 the empty
// range at the end.
func cutSpan(ms []rawMember, i int) (a, z int) {
	switch {
	case i < 0:
		return 0, 0
	case i > 0:
		return ms[i-1].end, ms[i].end
	case len(ms) > 1:
		return ms[0].start, ms[1].start
	default:
		return ms[0].start, ms[0].end
	}
}

// rawGenesisProblem is genesisProblem for canonical text.
func rawGenesisProblem(b []byte, ms []rawMember) string {
	want := [...][2]string{
		{KeyPreviousHash, GenesisHash}, {"event_type", GenesisEventType}, {"event_category", "system"},
		{"severity", "info"}, {"actor_type", "system"}, {"actor_id", GenesisActorID},
		{KeyRecordVersion, GenesisRecordVersion},
	}
	get := func(k string) (string, bool) {
		for i := range ms {
			if ms[i].keyIs(b, k) {
				return memberString(b, &ms[i])
			}
		}
		return "", false
	}
	for _, kv := range want {
		if s, _ := get(kv[0]); s != kv[1] {
			return kv[0] + " is not " + strconv.Quote(kv[1])
		}
	}
	for _, k := range []string{KeyAuditID, KeyTimestamp, KeyIngestedAt} {
		if s, _ := get(k); s == "" {
			return k + " is missing"
		}
	}
	return ""
}

// recordParser reads the chain fields of encoded records, reusing scratch
// space between calls. Not safe for concurrent use; the zero value is ready.
type recordParser struct {
	ms []rawMember
	h  *hasher
}

// parse returns the fields of one encoded record, taking the fast path for
// canonical text. Only text that is not a JSON object is an error.
func (p *recordParser) parse(b []byte) (fields, error) {
	if p.h == nil {
		p.h = &hasher{h: sha256.New()}
	}
	var ok bool
	if p.ms, ok = scanCanonical(b, p.ms[:0]); ok {
		return rawFields(b, p.ms, p.h, false, false), nil
	}
	obj, err := canonical.DecodeObject(b)
	if err != nil {
		return fields{}, err
	}
	return objectFields(obj)
}

// HashJSON returns record_hash for the encoded record b (see Hash). Canonical
// input is hashed in place; other JSON is decoded first.
func HashJSON(b []byte) (string, error) {
	h := getHasher()
	defer putHasher(h)
	ms, ok := scanCanonical(b, make([]rawMember, 0, 24))
	if !ok {
		obj, err := canonical.DecodeObject(b)
		if err != nil {
			return "", err
		}
		return Hash(obj)
	}
	rh := -1
	for i := range ms {
		if ms[i].keyIs(b, KeyRecordHash) {
			rh = i
		}
	}
	a, z := cutSpan(ms, rh)
	return h.sum(b[:a], b[z:]), nil
}

// Linker links encoded events. It keeps scratch space between calls, so
// one goroutine linking a stream allocates little; it is not safe for
// concurrent use. The zero value is ready.
type Linker struct {
	ms  []rawMember
	out []byte
	h   *hasher
	// The prepared event: its text (or, past the fast path's nesting
	// limit, its object) and the keys Link needs.
	event                      []byte
	obj                        canonical.Object
	tenant, auditID, timestamp string
	prepared                   bool
	// The quoted ingested_at of the last call, reused while the clock
	// stays in the same millisecond (a batch usually does).
	tsMilli  int64
	tsQuoted []byte
}

// LinkJSON is Link for encoded events. It returns the chained record's
// canonical JSON (no trailing newline) and the new head. Canonical events —
// what Warden's producer emits — are spliced without decoding; other JSON is
// decoded first. A value that is not a JSON object, or whose tenant_id is
// not a string, is a *MalformedEventError.
func LinkJSON(event []byte, head Head, now time.Time) ([]byte, Head, error) {
	var l Linker
	rec, h, err := l.Link(event, head, now)
	return bytes.Clone(rec), h, err
}

// Link is LinkJSON; the returned slice is only valid until the next call.
func (l *Linker) Link(event []byte, head Head, now time.Time) ([]byte, Head, error) {
	if _, _, err := l.Prepare(event); err != nil {
		return nil, Head{}, err
	}
	return l.LinkPrepared(head, now)
}

// Prepare reads an event for LinkPrepared and returns its tenant_id and
// audit_id, so that a caller can pick the tenant's head (and skip a
// duplicate) without scanning the event twice. event must stay unchanged
// until LinkPrepared returns.
func (l *Linker) Prepare(event []byte) (tenant, auditID string, err error) {
	l.event, l.obj, l.prepared = nil, nil, false
	var ok bool
	l.ms, ok = scanCanonical(event, l.ms[:0])
	if !ok {
		c, err := canonical.Canonicalize(event)
		if err != nil {
			return "", "", &MalformedEventError{Err: err}
		}
		if l.ms, ok = scanCanonical(c, l.ms[:0]); !ok {
			// Canonical output the scanner refuses (nesting beyond
			// maxFastDepth): link it as an object.
			obj, err := canonical.DecodeObject(c)
			if err != nil {
				return "", "", &MalformedEventError{Err: err}
			}
			if l.tenant, err = TenantOf(obj); err != nil {
				return "", "", &MalformedEventError{Err: err}
			}
			l.auditID, _ = obj[KeyAuditID].(string)
			l.timestamp, _ = obj[KeyTimestamp].(string)
			l.obj, l.prepared = obj, true
			return l.tenant, l.auditID, nil
		}
		event = c
	}
	l.tenant, l.auditID, l.timestamp = "", "", ""
	for i := range l.ms {
		m := &l.ms[i]
		if m.esc {
			continue
		}
		switch string(m.key(event)) {
		case KeyTenantID:
			s, isStr := memberString(event, m)
			if !isStr {
				return "", "", &MalformedEventError{Err: &FieldError{Key: KeyTenantID, Want: "a string"}}
			}
			l.tenant = s
		case KeyAuditID:
			l.auditID, _ = memberString(event, m)
		case KeyTimestamp:
			l.timestamp, _ = memberString(event, m)
		}
	}
	l.event, l.prepared = event, true
	return l.tenant, l.auditID, nil
}

// LinkPrepared links the event of the last successful Prepare to head. The
// returned slice is only valid until the next call.
func (l *Linker) LinkPrepared(head Head, now time.Time) ([]byte, Head, error) {
	if !l.prepared {
		return nil, Head{}, errors.New("chain: LinkPrepared without a successful Prepare")
	}
	l.prepared = false
	if !head.Exists() {
		return nil, Head{}, ErrNoHead
	}
	if l.h == nil {
		l.h = &hasher{h: sha256.New()}
	}
	if l.obj != nil {
		return l.linkObject(l.obj, head, now)
	}
	event, tenant, timestamp := l.event, l.tenant, l.timestamp
	seq := head.Sequence + 1
	var seqBuf [32]byte
	if ms := now.UnixMilli(); ms != l.tsMilli || l.tsQuoted == nil {
		l.tsQuoted = append(l.tsQuoted[:0], '"')
		l.tsQuoted = append(now.UTC().AppendFormat(l.tsQuoted, audit.TimestampLayout), '"')
		l.tsMilli = ms
	}
	tsv := l.tsQuoted
	prevQ := canonical.AppendString(make([]byte, 0, len(head.Hash)+2), head.Hash)
	// The four chain members, in key order; record_hash holds a placeholder
	// until the hash of everything else is known.
	chainMembers := [4]insert{
		{KeyIngestedAt, tsv},
		{KeyPreviousHash, prevQ},
		{KeyRecordHash, []byte(`"` + GenesisHash + `"`)},
		{KeySequenceNumber, strconv.AppendInt(seqBuf[:0], seq, 10)},
	}
	out := append(l.out[:0], '{')
	rhStart, rhEnd := 0, 0
	emit := func(c *insert) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		if c.key == KeyRecordHash {
			rhStart = len(out) - 1 // with the comma before it: never first
		}
		out = append(out, '"')
		out = append(out, c.key...)
		out = append(out, '"', ':')
		out = append(out, c.val...)
		if c.key == KeyRecordHash {
			rhEnd = len(out)
		}
	}
	j := 0
	for i := range l.ms {
		m := &l.ms[i]
		if isChainKey(event, m) {
			continue
		}
		for j < len(chainMembers) && memberAfter(event, m, chainMembers[j].key) {
			emit(&chainMembers[j])
			j++
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, event[m.start:m.end]...)
	}
	for ; j < len(chainMembers); j++ {
		emit(&chainMembers[j])
	}
	out = append(out, '}')
	l.out = out
	var sum [64]byte
	l.h.sumInto(sum[:], out[:rhStart], out[rhEnd:])
	copy(out[rhEnd-65:rhEnd-1], sum[:])
	return out, Head{TenantID: tenant, Sequence: seq, Hash: string(sum[:]), Timestamp: timestamp}, nil
}

// isChainKey reports whether m is one of the four keys Link overwrites.
func isChainKey(b []byte, m *rawMember) bool {
	if m.esc {
		return false
	}
	switch string(m.key(b)) {
	case KeySequenceNumber, KeyPreviousHash, KeyIngestedAt, KeyRecordHash:
		return true
	}
	return false
}

// memberAfter reports whether m's key sorts after the ASCII key k.
func memberAfter(b []byte, m *rawMember, k string) bool {
	if !m.esc {
		return string(m.key(b)) > k
	}
	return m.keyString(b) > k
}

type insert struct {
	key string
	val []byte
}

// linkObject is the slow path of LinkPrepared for canonical text the
// scanner does not take.
func (l *Linker) linkObject(obj canonical.Object, head Head, now time.Time) ([]byte, Head, error) {
	rec, err := Link(obj, head, now)
	if err != nil {
		return nil, Head{}, &MalformedEventError{Err: err}
	}
	out, err := canonical.Append(l.out[:0], rec)
	if err != nil {
		return nil, Head{}, &MalformedEventError{Err: err}
	}
	l.out = out
	return out, Head{TenantID: l.tenant, Sequence: head.Sequence + 1, Hash: rec[KeyRecordHash].(string), Timestamp: l.timestamp}, nil
}

// EventInfo reads the tenant_id ("" when absent) and audit_id ("" when
// absent or not a string) of an encoded event, taking the fast path for
// canonical text. Text that is not a JSON object, or a tenant_id that is not
// a string, is a *MalformedEventError.
func EventInfo(raw []byte) (tenant, auditID string, err error) {
	ms, ok := scanCanonical(raw, make([]rawMember, 0, 24))
	if !ok {
		obj, derr := canonical.DecodeObject(raw)
		if derr != nil {
			return "", "", &MalformedEventError{Err: derr}
		}
		if tenant, err = TenantOf(obj); err != nil {
			return "", "", &MalformedEventError{Err: err}
		}
		auditID, _ = obj[KeyAuditID].(string)
		return tenant, auditID, nil
	}
	for i := range ms {
		m := &ms[i]
		switch {
		case m.keyIs(raw, KeyTenantID):
			var isStr bool
			if tenant, isStr = memberString(raw, m); !isStr {
				return "", "", &MalformedEventError{Err: &FieldError{Key: KeyTenantID, Want: "a string"}}
			}
		case m.keyIs(raw, KeyAuditID):
			auditID, _ = memberString(raw, m)
		}
	}
	return tenant, auditID, nil
}

// RecordInfo reads the Head an encoded chained record establishes, and its
// audit_id. A record without usable chain keys is an error.
func RecordInfo(raw []byte) (Head, string, error) {
	var p recordParser
	f, err := p.parse(raw)
	if err != nil {
		return Head{}, "", err
	}
	switch {
	case f.tenantBad:
		return Head{}, "", &FieldError{Key: KeyTenantID, Want: "a string"}
	case !f.hasSeq:
		return Head{}, "", &FieldError{Key: KeySequenceNumber, Want: "an integer"}
	case !f.hasStored:
		return Head{}, "", &FieldError{Key: KeyRecordHash, Want: "a string"}
	}
	return Head{TenantID: f.tenant, Sequence: f.seq, Hash: f.stored, Timestamp: f.timestamp}, f.auditID, nil
}
