package ctem

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// Store persists records per (tenant, exposure key). All merge, transition
// and validation logic lives in the Service, so every store behaves the same;
// a SQL store implements Update with SELECT … FOR UPDATE (or equivalent) in a
// transaction and bound parameters only.
type Store interface {
	// Update runs fn on the record for (tenantID, key) as one atomic
	// read-modify-write. exists reports whether a record was found; cur is
	// zero-valued otherwise. If fn returns an error nothing is written and
	// that error is returned unchanged. Otherwise *cur is persisted and
	// returned. fn must not call the Store.
	Update(ctx context.Context, tenantID, key string, fn func(cur *Record, exists bool) error) (Record, error)
	// Get returns the record or an error wrapping ErrNotFound.
	Get(ctx context.Context, tenantID, key string) (Record, error)
	// OpenExposures returns the tenant's exposures on assetID (exact) whose
	// status is not Verified or Closed, highest ctem_score first, ties by
	// exposure_key ascending; nil when there are none.
	OpenExposures(ctx context.Context, tenantID, assetID string) ([]Exposure, error)
}

// MemoryStore is the in-memory Store: a map by tenant then key under one
// mutex held for the duration of fn. It hands out deep copies only.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string]map[string]Record // guarded by mu
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[string]map[string]Record{}}
}

// Update implements Store.
func (m *MemoryStore) Update(ctx context.Context, tenantID, key string, fn func(cur *Record, exists bool) error) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, exists := m.records[tenantID][key]
	cur := stored.clone()
	if err := fn(&cur, exists); err != nil {
		return Record{}, err
	}
	if m.records[tenantID] == nil {
		m.records[tenantID] = map[string]Record{}
	}
	m.records[tenantID][key] = cur.clone()
	return cur.clone(), nil
}

// Get implements Store.
func (m *MemoryStore) Get(ctx context.Context, tenantID, key string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[tenantID][key]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r.clone(), nil
}

// OpenExposures implements Store.
func (m *MemoryStore) OpenExposures(ctx context.Context, tenantID, assetID string) ([]Exposure, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return openExposures(m.records[tenantID], assetID), nil
}

// Len returns the number of records across tenants.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, t := range m.records {
		n += len(t)
	}
	return n
}

// openExposures filters and orders one tenant's records.
func openExposures(records map[string]Record, assetID string) []Exposure {
	var out []Exposure
	for _, r := range records {
		if r.Exposure.AssetID == assetID && !r.Exposure.Status.normalised().Terminal() {
			out = append(out, r.Exposure)
		}
	}
	slices.SortFunc(out, func(a, b Exposure) int {
		if c := cmp.Compare(b.CTEMScore, a.CTEMScore); c != 0 {
			return c
		}
		return cmp.Compare(a.ExposureKey, b.ExposureKey)
	})
	return out
}
