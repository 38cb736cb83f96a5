package chain

import (
	"bytes"
	"slices"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
)

// StreamVerifier verifies an interleaved stream of many tenants' records —
// a JSON-lines export, a Kafka topic — record by record, with O(1) state
// per tenant (plus a small window of recent hashes for checkpoints), so
// arbitrarily long streams verify in bounded memory. Each tenant's records
// must appear in ascending sequence, as the chain writes them; tenants may
// interleave freely. Checkpoint objects in the stream, or given with
// AddCheckpoint or WithCheckpoints, are checked against their tenant's
// chain.
//
// It also builds the producer-gap report: for every producer_id, the
// producer_seq numbers below the highest one seen that never reached the
// chain (events the producer dropped or failed to deliver). Only an
// all-tenant stream gives an honest gap report, since one producer emits
// for many tenants.
//
// A StreamVerifier is not safe for concurrent use.
type StreamVerifier struct {
	cfg     *verifyConfig
	tenants map[string]*tenantVerifier
	gaps    *audit.SeqTracker

	lines, records, checkpoints int
	malformed                   []LineError
	malformedCount              int

	ms []rawMember
	h  *hasher
}

// LineError is an input line that could not be used.
type LineError struct {
	Line int `json:"line"`
	// TenantID is the tenant the line appears to belong to, when that could
	// be read.
	TenantID string `json:"tenant_id,omitempty"`
	Err      string `json:"error"`
}

// TenantResult is one tenant's verdict.
type TenantResult struct {
	TenantID string `json:"tenant_id"`
	Result
}

// ProducerGap lists one producer's missing producer_seq numbers.
type ProducerGap struct {
	ProducerID   string           `json:"producer_id"`
	Highest      uint64           `json:"highest_seq"`
	MissingCount uint64           `json:"missing_count"`
	Missing      []audit.SeqRange `json:"missing"`
}

// Report is the verdict on a whole stream.
type Report struct {
	// Status is the worst tenant status; malformed lines make a valid
	// stream StatusCannotVerify.
	Status      Status `json:"status"`
	Lines       int    `json:"lines"`
	Records     int    `json:"records"`
	Checkpoints int    `json:"checkpoints"`
	// Tenants, sorted by tenant id.
	Tenants []TenantResult `json:"tenants"`
	// Malformed lines (capped like errors); MalformedCount counts all.
	Malformed      []LineError `json:"malformed_lines"`
	MalformedCount int         `json:"malformed_count"`
	// ProducerGaps lists producers with missing sequence numbers, sorted by
	// producer id; ProducerDuplicates counts producer_seq numbers seen
	// more than once (a producer retry whose first write had succeeded).
	ProducerGaps       []ProducerGap `json:"producer_gaps"`
	Producers          int           `json:"producers"`
	ProducerDuplicates uint64        `json:"producer_duplicates"`
}

// NewStreamVerifier returns a verifier for one stream.
func NewStreamVerifier(opts ...VerifyOption) *StreamVerifier {
	cfg := newVerifyConfig(opts)
	s := &StreamVerifier{cfg: cfg, tenants: map[string]*tenantVerifier{}, gaps: audit.NewSeqTracker(),
		h: getHasher()}
	for _, cp := range cfg.checkpoints {
		s.AddCheckpoint(cp)
	}
	return s
}

func (s *StreamVerifier) tenant(id string) *tenantVerifier {
	v := s.tenants[id]
	if v == nil {
		v = newTenantVerifier(s.cfg)
		s.tenants[id] = v
	}
	return v
}

// AddJSON verifies the next line of the stream. Blank lines are skipped;
// a line that is not a JSON object is reported as malformed (with the
// tenant_id it seems to name, for the reader), the stream becomes "cannot
// verify", and the next record of every tenant is not link-checked. Lines are numbered from 1 in the order given.
func (s *StreamVerifier) AddJSON(line []byte) {
	s.lines++
	line = bytes.TrimRight(line, "\r\n")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	var ok bool
	if s.ms, ok = scanCanonical(line, s.ms[:0]); ok {
		if !s.isCheckpointRaw(line) {
			f := rawFields(line, s.ms, s.h, true, s.cfg.strict)
			s.addFields(&f, s.lines)
			return
		}
	}
	obj, err := canonical.DecodeObject(line)
	if err != nil {
		s.badLine(tenantHint(line), err.Error())
		return
	}
	if IsCheckpoint(obj) {
		cp, err := CheckpointFromObject(obj)
		if err != nil {
			s.badLine(cp.TenantID, err.Error())
			return
		}
		s.AddCheckpoint(cp)
		return
	}
	s.addObject(obj, s.lines)
}

// SkipLine counts the next line as malformed without reading it (a reader
// that had to discard it, e.g. for its length, says why).
func (s *StreamVerifier) SkipLine(reason string) {
	s.lines++
	s.badLine("", reason)
}

// isCheckpointRaw reports whether the scanned members are a checkpoint's.
func (s *StreamVerifier) isCheckpointRaw(line []byte) bool {
	marker, rec := false, false
	for i := range s.ms {
		switch {
		case s.ms[i].keyIs(line, "checkpoint"):
			marker = true
		case s.ms[i].keyIs(line, KeyRecordHash):
			rec = true
		}
	}
	return marker && !rec
}

// AddRecord verifies the next record of the stream.
func (s *StreamVerifier) AddRecord(rec canonical.Object) {
	s.lines++
	s.addObject(rec, s.lines)
}

func (s *StreamVerifier) addObject(obj canonical.Object, line int) {
	f, err := objectFields(obj)
	if err != nil {
		s.records++
		s.tenant(f.tenant).malformed(f, "unhashable value: "+err.Error(), s.tenant(f.tenant).res.Checked, line)
		return
	}
	s.addFields(&f, line)
}

func (s *StreamVerifier) addFields(f *fields, line int) {
	s.records++
	v := s.tenant(f.tenant)
	v.add(f, v.res.Checked, line)
	if f.hasProducer {
		s.gaps.Observe(f.producerID, f.producerSeq)
	}
}

// AddCheckpoint checks a checkpoint against its tenant's chain: at once if
// its record has passed (within the recent window), else when the record
// arrives, else at Report as truncation.
func (s *StreamVerifier) AddCheckpoint(cp Checkpoint) {
	s.checkpoints++
	s.tenant(cp.TenantID).addCheckpoint(cp)
}

func (s *StreamVerifier) badLine(tenant, msg string) {
	s.malformedCount++
	if len(s.malformed) < s.cfg.maxErrors {
		s.malformed = append(s.malformed, LineError{Line: s.lines, TenantID: tenant, Err: msg})
	}
	// The tenant named in a broken line cannot be trusted (the line is
	// broken), so no tenant's next link is judged: a deletion next to a
	// garbage line then shows as "cannot verify", never as valid.
	for _, v := range s.tenants {
		v.breakAnchor()
	}
}

// tenantHint digs a tenant_id string out of a line that does not decode,
// for the report.
func tenantHint(line []byte) string {
	const key = `"tenant_id"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(line[i+len(key):], " \t")
	if len(rest) == 0 || rest[0] != ':' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return ""
	}
	v, err := canonical.Decode(rest[:end+2])
	if err != nil {
		return ""
	}
	t, _ := v.(string)
	return t
}

// Lines returns the number of lines (or records) added so far.
func (s *StreamVerifier) Lines() int { return s.lines }

// Records returns the number of records seen so far.
func (s *StreamVerifier) Records() int { return s.records }

// Report settles every tenant and returns the verdict. Call it once, at the
// end of the stream.
func (s *StreamVerifier) Report() Report {
	r := Report{Lines: s.lines, Records: s.records, Checkpoints: s.checkpoints,
		Malformed: s.malformed, MalformedCount: s.malformedCount,
		Tenants: make([]TenantResult, 0, len(s.tenants)), ProducerGaps: []ProducerGap{}}
	if r.Malformed == nil {
		r.Malformed = []LineError{}
	}
	if s.malformedCount > 0 {
		r.Status = StatusCannotVerify
	}
	ids := make([]string, 0, len(s.tenants))
	for id := range s.tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		res := s.tenants[id].finish()
		r.Tenants = append(r.Tenants, TenantResult{TenantID: id, Result: res})
		r.Status = max(r.Status, res.Status)
	}
	producers := s.gaps.Producers()
	r.Producers = len(producers)
	for _, p := range producers {
		if missing := s.gaps.Missing(p); len(missing) > 0 {
			g := ProducerGap{ProducerID: p, Highest: s.gaps.Highest(p), Missing: missing}
			for _, m := range missing {
				g.MissingCount += m.Len()
			}
			r.ProducerGaps = append(r.ProducerGaps, g)
		}
	}
	r.ProducerDuplicates = s.gaps.Duplicates()
	return r
}
