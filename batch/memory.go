package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// MemoryBatchAPI is an in-memory BatchAPI for tests and examples: Create
// answers every request at once with the respond function, the first
// Retrieve of a batch reports "ended", and Results returns the results in
// request order. Safe for concurrent use.
type MemoryBatchAPI struct {
	respond func(ctx context.Context, r Request) (string, Usage, error)

	mu      sync.Mutex // guards the fields below
	next    int
	batches map[string]*memBatch
}

type memBatch struct {
	requests []Request
	results  []RawResult
	ended    bool
}

var _ BatchAPI = (*MemoryBatchAPI)(nil)

// NewMemoryBatchAPI returns a MemoryBatchAPI answering with respond; an
// error from respond becomes an errored result with its message.
func NewMemoryBatchAPI(respond func(ctx context.Context, r Request) (text string, usage Usage, err error)) *MemoryBatchAPI {
	return &MemoryBatchAPI{respond: respond, batches: map[string]*memBatch{}}
}

// Create implements BatchAPI.
func (m *MemoryBatchAPI) Create(ctx context.Context, reqs []Request) (string, error) {
	if m.respond == nil {
		return "", errors.New("memory batch api: no respond function")
	}
	b := &memBatch{requests: slices.Clone(reqs), results: make([]RawResult, 0, len(reqs))}
	for _, r := range reqs {
		text, u, err := m.call(ctx, r)
		if err != nil {
			b.results = append(b.results, RawResult{CustomID: r.CustomID, Type: RawErrored, ErrorMessage: err.Error()})
			continue
		}
		b.results = append(b.results, RawResult{CustomID: r.CustomID, Type: RawSucceeded, TextBlocks: []string{text},
			InputTokens: u.InputTokens, OutputTokens: u.OutputTokens})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	id := "membatch_" + strconv.Itoa(m.next)
	m.batches[id] = b
	return id, nil
}

func (m *MemoryBatchAPI) call(ctx context.Context, r Request) (text string, u Usage, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("respond panicked: %v", p)
		}
	}()
	return m.respond(ctx, r)
}

// Retrieve implements BatchAPI.
func (m *MemoryBatchAPI) Retrieve(_ context.Context, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.batches[id]
	if !ok {
		return "", fmt.Errorf("memory batch api: unknown batch %q", id)
	}
	b.ended = true
	return ProcessingEnded, nil
}

// Results implements BatchAPI.
func (m *MemoryBatchAPI) Results(_ context.Context, id string) ([]RawResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.batches[id]
	if !ok {
		return nil, fmt.Errorf("memory batch api: unknown batch %q", id)
	}
	if !b.ended {
		return nil, fmt.Errorf("memory batch api: batch %q has not ended", id)
	}
	out := make([]RawResult, len(b.results))
	for i, r := range b.results {
		r.TextBlocks = slices.Clone(r.TextBlocks)
		out[i] = r
	}
	return out, nil
}

// Requests returns the requests of a batch (nil if unknown).
func (m *MemoryBatchAPI) Requests(id string) []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.batches[id]; ok {
		return slices.Clone(b.requests)
	}
	return nil
}

// Batches is the number of batches created.
func (m *MemoryBatchAPI) Batches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.batches)
}

// StatusPendingReview is the status of a candidate no reviewer has acted on;
// the other pattern statuses belong to orchestrator/autonomy.
const StatusPendingReview = "pending_review"

// MemoryCandidateStore is an in-memory CandidateStore with the merge rules
// of the port. It keeps a status per pattern so hosts and tests can mirror
// a reviewer's decision (SetStatus); orchestrator/autonomy owns the real
// lifecycle. Safe for concurrent use.
type MemoryCandidateStore struct {
	mu    sync.Mutex // guards byID and order
	byID  map[string]*storedCandidate
	order []string
}

type storedCandidate struct {
	c      PatternCandidate
	status string
}

var _ CandidateStore = (*MemoryCandidateStore)(nil)

// NewMemoryCandidateStore returns an empty store.
func NewMemoryCandidateStore() *MemoryCandidateStore {
	return &MemoryCandidateStore{byID: map[string]*storedCandidate{}}
}

// UpsertCandidate implements CandidateStore.
func (s *MemoryCandidateStore) UpsertCandidate(_ context.Context, c PatternCandidate) (bool, error) {
	if c.PatternID == "" {
		return false, fmt.Errorf("%w: candidate without pattern_id", ErrInvalidArgument)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.byID[c.PatternID]
	if !ok {
		s.byID[c.PatternID] = &storedCandidate{c: c.clone(), status: StatusPendingReview}
		s.order = append(s.order, c.PatternID)
		return true, nil
	}
	if cur.status == StatusPendingReview {
		MergeCandidate(&cur.c, c)
	}
	return false, nil
}

// MergeCandidate applies the port's merge of a re-mined candidate next into
// a stored pending one: alert name and confidence take the new values,
// source investigations become the ordered union (at most 100), updated_at
// the new time; id, scope, regex, entity patterns, severity, reason and
// created_at stay. Store adapters use it to keep one merge rule.
func MergeCandidate(stored *PatternCandidate, next PatternCandidate) {
	stored.AlertName = next.AlertName
	stored.Confidence = next.Confidence
	seen := make(map[string]bool, len(stored.SourceInvestigations))
	merged := slices.Clone(stored.SourceInvestigations)
	for _, id := range merged {
		seen[id] = true
	}
	for _, id := range next.SourceInvestigations {
		if !seen[id] {
			seen[id] = true
			merged = append(merged, id)
		}
	}
	if len(merged) > maxMergedSources {
		merged = merged[:maxMergedSources]
	}
	stored.SourceInvestigations = merged
	if next.UpdatedAt.After(stored.UpdatedAt) {
		stored.UpdatedAt = next.UpdatedAt
	}
}

// Get returns a stored candidate and its status.
func (s *MemoryCandidateStore) Get(patternID string) (PatternCandidate, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.byID[patternID]
	if !ok {
		return PatternCandidate{}, "", false
	}
	return cur.c.clone(), cur.status, true
}

// SetStatus records a reviewer's decision on a pattern; false if unknown.
func (s *MemoryCandidateStore) SetStatus(patternID, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.byID[patternID]
	if ok {
		cur.status = status
	}
	return ok
}

// Candidates returns every stored candidate in first-stored order.
func (s *MemoryCandidateStore) Candidates() []PatternCandidate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PatternCandidate, len(s.order))
	for i, id := range s.order {
		out[i] = s.byID[id].c.clone()
	}
	return out
}

// MemoryDraftStore is an in-memory DraftStore. Safe for concurrent use.
type MemoryDraftStore struct {
	mu    sync.Mutex // guards byID and order
	byID  map[string]PlaybookDraft
	order []string
}

var _ DraftStore = (*MemoryDraftStore)(nil)

// NewMemoryDraftStore returns an empty store.
func NewMemoryDraftStore() *MemoryDraftStore {
	return &MemoryDraftStore{byID: map[string]PlaybookDraft{}}
}

// SaveDraft implements DraftStore.
func (s *MemoryDraftStore) SaveDraft(_ context.Context, d PlaybookDraft) (bool, error) {
	if d.PlaybookID == "" {
		return false, fmt.Errorf("%w: draft without playbook_id", ErrInvalidArgument)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[d.PlaybookID]; ok {
		return false, nil
	}
	s.byID[d.PlaybookID] = d.clone()
	s.order = append(s.order, d.PlaybookID)
	return true, nil
}

// Drafts returns every draft in first-saved order.
func (s *MemoryDraftStore) Drafts() []PlaybookDraft {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PlaybookDraft, len(s.order))
	for i, id := range s.order {
		out[i] = s.byID[id].clone()
	}
	return out
}

// PublishedMessage is one message a MemoryPublisher received.
type PublishedMessage struct {
	Topic, Key string
	Value      []byte
}

// MemoryPublisher records published messages. Safe for concurrent use.
type MemoryPublisher struct {
	mu   sync.Mutex // guards msgs
	msgs []PublishedMessage
}

var _ Publisher = (*MemoryPublisher)(nil)

// NewMemoryPublisher returns an empty publisher.
func NewMemoryPublisher() *MemoryPublisher { return &MemoryPublisher{} }

// Publish implements Publisher.
func (m *MemoryPublisher) Publish(_ context.Context, topic, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, PublishedMessage{Topic: topic, Key: key, Value: slices.Clone(value)})
	return nil
}

// Messages returns the messages of topic ("" = all) in publish order.
func (m *MemoryPublisher) Messages(topic string) []PublishedMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []PublishedMessage
	for _, msg := range m.msgs {
		if topic == "" || msg.Topic == topic {
			msg.Value = slices.Clone(msg.Value)
			out = append(out, msg)
		}
	}
	return out
}

type staticInvestigations []ClosedInvestigation

// StaticInvestigations serves a fixed list, filtered by updated_at in
// [from, to).
func StaticInvestigations(rows []ClosedInvestigation) InvestigationSource {
	return staticInvestigations(slices.Clone(rows))
}

func (s staticInvestigations) ClosedInvestigations(_ context.Context, from, to time.Time) ([]ClosedInvestigation, error) {
	var out []ClosedInvestigation
	for _, r := range s {
		if !r.UpdatedAt.Before(from) && r.UpdatedAt.Before(to) {
			out = append(out, r)
		}
	}
	return out, nil
}
