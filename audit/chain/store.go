package chain

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/socwarden/warden/audit/canonical"
)

// Store errors.
var (
	// ErrHeadMoved is returned by Store.Append when the tenant's head is no
	// longer the one the caller linked to: another writer appended first.
	// The caller reloads the head and links again.
	ErrHeadMoved = errors.New("chain: head moved")
	// ErrBadAppend reports a record that does not extend the expected head
	// (wrong sequence or previous_hash, other tenant, no record_hash).
	ErrBadAppend = errors.New("chain: record does not extend the head")
)

// Store keeps chained records, whole (every key), per tenant. Every method
// honours ctx. Implementations must be safe for concurrent use; records
// returned are the caller's to keep and modify.
type Store interface {
	// Head returns the tenant's last record's position; ok is false when
	// the tenant has no chain.
	Head(ctx context.Context, tenant string) (h Head, ok bool, err error)
	// Append stores rec iff the tenant's current head equals expect (a zero
	// expect means "no chain yet") and advances the head to rec;
	// otherwise it returns ErrHeadMoved and stores nothing.
	Append(ctx context.Context, tenant string, expect Head, rec canonical.Object) error
	// Range returns records with from <= sequence <= to, ascending; to < 0
	// means to the end.
	Range(ctx context.Context, tenant string, from, to int64) ([]canonical.Object, error)
	// Recent returns the last n records, ascending.
	Recent(ctx context.Context, tenant string, n int) ([]canonical.Object, error)
	// Sample returns up to n records chosen uniformly at random without
	// replacement, ascending.
	Sample(ctx context.Context, tenant string, n int) ([]canonical.Object, error)
	// ByInvestigation returns the records with that investigation_id,
	// ascending.
	ByInvestigation(ctx context.Context, tenant, investigationID string) ([]canonical.Object, error)
	// Tenants returns the tenants with a chain, sorted.
	Tenants(ctx context.Context) ([]string, error)
}

// checkAppend validates that rec extends expect for tenant and returns its
// head and fields.
func checkAppend(tenant string, expect Head, rec canonical.Object) (Head, fields, error) {
	f, err := objectFields(rec)
	if err != nil {
		return Head{}, f, fmt.Errorf("%w: %w", ErrBadAppend, err)
	}
	h, err := checkFields(tenant, expect, &f)
	return h, f, err
}

// checkFields validates that the record described by f extends expect.
func checkFields(tenant string, expect Head, f *fields) (Head, error) {
	h := Head{TenantID: f.tenant, Sequence: f.seq, Hash: f.stored, Timestamp: f.timestamp}
	switch {
	case !f.hasSeq || !f.hasStored || !f.hasPrev:
		return h, fmt.Errorf("%w: missing chain keys", ErrBadAppend)
	case f.tenant != tenant || f.tenantBad:
		return h, fmt.Errorf("%w: tenant_id %q, appending to %q", ErrBadAppend, f.tenant, tenant)
	case f.stored != f.computed:
		return h, fmt.Errorf("%w: record_hash does not match the content", ErrBadAppend)
	case !expect.Exists() && (f.seq != 0 || f.prev != GenesisHash):
		return h, fmt.Errorf("%w: a chain starts at sequence 0 with previous_hash %s", ErrBadAppend, GenesisHash)
	case expect.Exists() && (f.seq != expect.Sequence+1 || f.prev != expect.Hash):
		return h, fmt.Errorf("%w: sequence %d / previous_hash %s... after head %d", ErrBadAppend, f.seq, short(f.prev), expect.Sequence)
	}
	return h, nil
}

// memTenant is one tenant's chain in a MemoryStore. Records are kept as
// canonical bytes: compact, and immune to callers mutating what they were
// handed.
type memTenant struct {
	records [][]byte
	head    Head
	byInv   map[string][]int32
}

// MemoryStore is an in-memory Store and CheckpointStore. It is safe for
// concurrent use.
type MemoryStore struct {
	mu          sync.RWMutex
	tenants     map[string]*memTenant   // guarded by mu
	checkpoints map[string][]Checkpoint // guarded by mu
}

var (
	_ Store           = (*MemoryStore)(nil)
	_ CheckpointStore = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tenants: map[string]*memTenant{}, checkpoints: map[string][]Checkpoint{}}
}

// Head implements Store.
func (s *MemoryStore) Head(ctx context.Context, tenant string) (Head, bool, error) {
	if err := ctx.Err(); err != nil {
		return Head{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[tenant]
	if t == nil {
		return Head{}, false, nil
	}
	return t.head, true, nil
}

// Append implements Store.
func (s *MemoryStore) Append(ctx context.Context, tenant string, expect Head, rec canonical.Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h, f, err := checkAppend(tenant, expect, rec)
	if err != nil {
		return err
	}
	b, err := canonical.Marshal(rec)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadAppend, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(tenant, expect, h, f.investigation, b)
}

func (s *MemoryStore) appendLocked(tenant string, expect, h Head, inv string, b []byte) error {
	t := s.tenants[tenant]
	var cur Head
	if t != nil {
		cur = t.head
	}
	if !cur.same(expect) {
		return ErrHeadMoved
	}
	if t == nil {
		t = &memTenant{byInv: map[string][]int32{}}
		s.tenants[tenant] = t
	}
	if inv != "" {
		t.byInv[inv] = append(t.byInv[inv], int32(len(t.records)))
	}
	t.records = append(t.records, b)
	t.head = h
	return nil
}

// decodeAll decodes stored canonical records.
func decodeAll(raw [][]byte) ([]canonical.Object, error) {
	out := make([]canonical.Object, len(raw))
	for i, b := range raw {
		obj, err := canonical.DecodeObject(b)
		if err != nil {
			return nil, fmt.Errorf("chain: stored record unreadable: %w", err)
		}
		out[i] = obj
	}
	return out, nil
}

// slice picks the stored records of tenant selected by pick, under the read
// lock, and decodes them outside it.
func (s *MemoryStore) slice(ctx context.Context, tenant string, pick func(t *memTenant) [][]byte) ([]canonical.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	var raw [][]byte
	if t := s.tenants[tenant]; t != nil {
		raw = pick(t)
	}
	s.mu.RUnlock()
	return decodeAll(raw)
}

// rangeIndex converts a sequence range to record indexes of a chain whose
// first record has sequence 0 (every chain a Store accepts starts there).
func rangeIndex(n int, from, to int64) (int, int) {
	if to < 0 || to >= int64(n) {
		to = int64(n) - 1
	}
	from = max(from, 0)
	if from > to {
		return 0, 0
	}
	return int(from), int(to) + 1
}

// Range implements Store.
func (s *MemoryStore) Range(ctx context.Context, tenant string, from, to int64) ([]canonical.Object, error) {
	return s.slice(ctx, tenant, func(t *memTenant) [][]byte {
		a, z := rangeIndex(len(t.records), from, to)
		return slices.Clone(t.records[a:z])
	})
}

// Recent implements Store.
func (s *MemoryStore) Recent(ctx context.Context, tenant string, n int) ([]canonical.Object, error) {
	return s.slice(ctx, tenant, func(t *memTenant) [][]byte {
		n = min(max(n, 0), len(t.records))
		return slices.Clone(t.records[len(t.records)-n:])
	})
}

// Sample implements Store.
func (s *MemoryStore) Sample(ctx context.Context, tenant string, n int) ([]canonical.Object, error) {
	return s.slice(ctx, tenant, func(t *memTenant) [][]byte {
		idx := sampleIndexes(len(t.records), n)
		out := make([][]byte, len(idx))
		for i, j := range idx {
			out[i] = t.records[j]
		}
		return out
	})
}

// sampleIndexes picks min(n, total) distinct indexes uniformly, ascending.
func sampleIndexes(total, n int) []int {
	n = min(max(n, 0), total)
	if n == total {
		idx := make([]int, total)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	// Floyd's algorithm: n distinct values without a total-sized array.
	chosen := make(map[int]struct{}, n)
	for j := total - n; j < total; j++ {
		r := rand.IntN(j + 1)
		if _, dup := chosen[r]; dup {
			r = j
		}
		chosen[r] = struct{}{}
	}
	idx := make([]int, 0, n)
	for i := range chosen {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// ByInvestigation implements Store.
func (s *MemoryStore) ByInvestigation(ctx context.Context, tenant, investigationID string) ([]canonical.Object, error) {
	return s.slice(ctx, tenant, func(t *memTenant) [][]byte {
		idx := t.byInv[investigationID]
		out := make([][]byte, len(idx))
		for i, j := range idx {
			out[i] = t.records[j]
		}
		return out
	})
}

// Tenants implements Store.
func (s *MemoryStore) Tenants(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.tenants))
	for t := range s.tenants {
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

// AppendCheckpoint implements CheckpointStore.
func (s *MemoryStore) AppendCheckpoint(ctx context.Context, cp Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkpoints[cp.TenantID] = insertCheckpoint(s.checkpoints[cp.TenantID], cp)
	return nil
}

// insertCheckpoint keeps a tenant's checkpoints ordered by sequence.
func insertCheckpoint(list []Checkpoint, cp Checkpoint) []Checkpoint {
	i := len(list)
	for i > 0 && list[i-1].Sequence > cp.Sequence {
		i--
	}
	return slices.Insert(list, i, cp)
}

// Checkpoints implements CheckpointStore.
func (s *MemoryStore) Checkpoints(ctx context.Context, tenant string) ([]Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.checkpoints[tenant]), nil
}

// WriteJSONL writes every record as one canonical JSON line, tenants in
// sorted order and each tenant's records ascending, followed by every
// checkpoint line. The output is what `warden verify` reads.
func (s *MemoryStore) WriteJSONL(w io.Writer) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	bw := bufio.NewWriter(w)
	ids := make([]string, 0, len(s.tenants))
	for id := range s.tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for _, b := range s.tenants[id].records {
			bw.Write(b)
			bw.WriteByte('\n')
		}
	}
	cpIDs := make([]string, 0, len(s.checkpoints))
	for id := range s.checkpoints {
		cpIDs = append(cpIDs, id)
	}
	slices.Sort(cpIDs)
	for _, id := range cpIDs {
		for _, cp := range s.checkpoints[id] {
			b, err := cp.MarshalJSON()
			if err != nil {
				return err
			}
			bw.Write(b)
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// JSONLError reports the line of a JSON-lines input that could not be
// loaded.
type JSONLError struct {
	Line int
	Err  error
}

func (e *JSONLError) Error() string { return fmt.Sprintf("chain: line %d: %v", e.Line, e.Err) }
func (e *JSONLError) Unwrap() error { return e.Err }

// ReadJSONL appends the records and checkpoints of a JSON-lines stream (as
// WriteJSONL writes it). Each record must extend its tenant's chain, so a
// stream that does not verify as a chain is refused at the first bad line;
// lines before it stay loaded.
func (s *MemoryStore) ReadJSONL(r io.Reader) error {
	return readJSONL(r, func(line int, obj canonical.Object) error {
		ctx := context.Background()
		if IsCheckpoint(obj) {
			cp, err := CheckpointFromObject(obj)
			if err != nil {
				return err
			}
			return s.AppendCheckpoint(ctx, cp)
		}
		tenant, err := TenantOf(obj)
		if err != nil {
			return err
		}
		head, _, _ := s.Head(ctx, tenant)
		return s.Append(ctx, tenant, head, obj)
	})
}

// readJSONL calls fn for every non-blank line, decoded.
func readJSONL(r io.Reader, fn func(line int, obj canonical.Object) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			obj, derr := canonical.DecodeObject(line)
			if derr != nil {
				return &JSONLError{Line: n, Err: derr}
			}
			if ferr := fn(n, obj); ferr != nil {
				return &JSONLError{Line: n, Err: ferr}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &JSONLError{Line: n, Err: err}
		}
	}
}
