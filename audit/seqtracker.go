package audit

import (
	"encoding/json"
	"slices"
	"sync"
)

// SeqRange is an inclusive range of producer sequence numbers.
type SeqRange struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// Len is the number of sequence numbers in the range.
func (r SeqRange) Len() uint64 { return r.To - r.From + 1 }

// SeqTracker finds the producer_seq numbers that never arrived, per
// producer_id: the events dropped by a full ring or failed by the sink. Memory
// per producer is a watermark plus the out-of-order numbers above it. Safe for
// concurrent use.
//
// Delivery order is not sequence order, so treat Missing as final only once
// the stream is quiescent (the producer closed and the consumer caught up).
type SeqTracker struct {
	mu        sync.Mutex
	producers map[string]*seqState // guarded by mu
	dups      uint64               // guarded by mu
}

type seqState struct {
	low   uint64              // every seq in 1..low has been seen
	above map[uint64]struct{} // seen seqs > low+1
	high  uint64              // highest seen
}

// NewSeqTracker returns an empty tracker.
func NewSeqTracker() *SeqTracker { return &SeqTracker{producers: map[string]*seqState{}} }

// Observe records that seq of producerID arrived. Observing a number twice
// counts a duplicate. Zero is ignored (sequences start at 1).
func (t *SeqTracker) Observe(producerID string, seq uint64) {
	if seq == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.producers[producerID]
	if s == nil {
		s = &seqState{above: map[uint64]struct{}{}}
		t.producers[producerID] = s
	}
	if seq <= s.low {
		t.dups++
		return
	}
	if _, ok := s.above[seq]; ok {
		t.dups++
		return
	}
	s.high = max(s.high, seq)
	if seq != s.low+1 {
		s.above[seq] = struct{}{}
		return
	}
	s.low = seq
	for {
		if _, ok := s.above[s.low+1]; !ok {
			break
		}
		delete(s.above, s.low+1)
		s.low++
	}
}

// ObserveRecord reads producer_id and producer_seq from an encoded event or
// record and observes them; values without both keys are ignored.
func (t *SeqTracker) ObserveRecord(raw []byte) {
	var v struct {
		ProducerID  *string      `json:"producer_id"`
		ProducerSeq *json.Number `json:"producer_seq"`
	}
	if json.Unmarshal(raw, &v) != nil || v.ProducerID == nil || v.ProducerSeq == nil {
		return
	}
	seq, err := parseUint(string(*v.ProducerSeq))
	if err != nil {
		return
	}
	t.Observe(*v.ProducerID, seq)
}

// Missing returns the inclusive ranges below the highest seen sequence of
// producerID that have not been observed, ascending.
func (t *SeqTracker) Missing(producerID string) []SeqRange {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.producers[producerID]
	if s == nil || s.high == s.low {
		return nil
	}
	seen := make([]uint64, 0, len(s.above))
	for q := range s.above {
		seen = append(seen, q)
	}
	slices.Sort(seen)
	var out []SeqRange
	next := s.low + 1
	for _, q := range seen {
		if q > next {
			out = append(out, SeqRange{From: next, To: q - 1})
		}
		next = q + 1
	}
	return out
}

// MissingCount is the total size of Missing(producerID).
func (t *SeqTracker) MissingCount(producerID string) uint64 {
	var n uint64
	for _, r := range t.Missing(producerID) {
		n += r.Len()
	}
	return n
}

// Highest returns the highest sequence observed for producerID.
func (t *SeqTracker) Highest(producerID string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.producers[producerID]; s != nil {
		return s.high
	}
	return 0
}

// Producers returns the observed producer ids, sorted.
func (t *SeqTracker) Producers() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.producers))
	for id := range t.producers {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Duplicates is the number of observations of an already seen sequence.
func (t *SeqTracker) Duplicates() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dups
}
