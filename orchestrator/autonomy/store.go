package autonomy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/socwarden/warden/orchestrator/internal/filekv"
)

// MemoryFPPatterns is the in-memory FPPatternStore. Safe for concurrent use.
type MemoryFPPatterns struct {
	mu sync.RWMutex // guards m
	m  map[string]map[string]FPPattern
}

var _ FPPatternStore = (*MemoryFPPatterns)(nil)

// NewMemoryFPPatterns returns an empty store.
func NewMemoryFPPatterns() *MemoryFPPatterns {
	return &MemoryFPPatterns{m: map[string]map[string]FPPattern{}}
}

// List returns the tenant's patterns sorted by pattern_id.
func (s *MemoryFPPatterns) List(ctx context.Context, tenantID string) ([]FPPattern, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := make([]FPPattern, 0, len(s.m[tenantID]))
	for _, p := range s.m[tenantID] {
		out = append(out, p.clone())
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].PatternID < out[j].PatternID })
	return out, nil
}

// Get returns one pattern of the tenant.
func (s *MemoryFPPatterns) Get(ctx context.Context, tenantID, patternID string) (FPPattern, bool, error) {
	if err := ctx.Err(); err != nil {
		return FPPattern{}, false, err
	}
	s.mu.RLock()
	p, ok := s.m[tenantID][patternID]
	s.mu.RUnlock()
	return p.clone(), ok, nil
}

// Put upserts p after Validate.
func (s *MemoryFPPatterns) Put(ctx context.Context, p FPPattern) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.m[p.TenantID] == nil {
		s.m[p.TenantID] = map[string]FPPattern{}
	}
	s.m[p.TenantID][p.PatternID] = p.clone()
	s.mu.Unlock()
	return nil
}

// FileFPPatterns is a durable FPPatternStore: one JSON document per
// pattern, written atomically (temporary file, fsync, rename).
type FileFPPatterns struct{ dir *filekv.Dir }

var _ FPPatternStore = (*FileFPPatterns)(nil)

// OpenFileFPPatterns opens (creating if needed) the directory.
func OpenFileFPPatterns(dir string) (*FileFPPatterns, error) {
	d, err := filekv.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	return &FileFPPatterns{dir: d}, nil
}

// Close releases the store.
func (s *FileFPPatterns) Close() error { return s.dir.Close() }

func patternKey(tenantID, patternID string) string {
	return strconv.Quote(tenantID) + "/" + strconv.Quote(patternID)
}

// List returns the tenant's patterns sorted by pattern_id. A stored
// document that no longer decodes is an error (it is not silently skipped:
// it might be a revocation).
func (s *FileFPPatterns) List(ctx context.Context, tenantID string) ([]FPPattern, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []FPPattern
	var derr error
	err := s.dir.Range(func(_ string, v []byte) bool {
		var p FPPattern
		if err := json.Unmarshal(v, &p); err != nil {
			derr = fmt.Errorf("autonomy: stored pattern: %w", err)
			return false
		}
		if p.TenantID == tenantID {
			out = append(out, p)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	slices.SortFunc(out, func(a, b FPPattern) int {
		switch {
		case a.PatternID < b.PatternID:
			return -1
		case a.PatternID > b.PatternID:
			return 1
		}
		return 0
	})
	if out == nil {
		out = []FPPattern{}
	}
	return out, nil
}

// Get returns one pattern of the tenant.
func (s *FileFPPatterns) Get(ctx context.Context, tenantID, patternID string) (FPPattern, bool, error) {
	if err := ctx.Err(); err != nil {
		return FPPattern{}, false, err
	}
	b, ok, err := s.dir.Get(patternKey(tenantID, patternID))
	if err != nil || !ok {
		return FPPattern{}, false, err
	}
	var p FPPattern
	if err := json.Unmarshal(b, &p); err != nil {
		return FPPattern{}, false, fmt.Errorf("autonomy: stored pattern: %w", err)
	}
	return p, true, nil
}

// Put upserts p durably after Validate.
func (s *FileFPPatterns) Put(ctx context.Context, p FPPattern) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.dir.Put(patternKey(p.TenantID, p.PatternID), b)
}

// Counters are the canary's counters.
type Counters interface {
	Incr(ctx context.Context, key string) error
	Get(ctx context.Context, key string) (int64, error)
}

// MemoryCounters is the in-memory Counters.
type MemoryCounters struct {
	mu sync.Mutex // guards m
	m  map[string]int64
}

var _ Counters = (*MemoryCounters)(nil)

// NewMemoryCounters returns zeroed counters.
func NewMemoryCounters() *MemoryCounters { return &MemoryCounters{m: map[string]int64{}} }

// Incr adds one.
func (c *MemoryCounters) Incr(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.m[key]++
	c.mu.Unlock()
	return nil
}

// Get returns the value (0 when never incremented).
func (c *MemoryCounters) Get(ctx context.Context, key string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key], nil
}

// FileCounters is a durable Counters: an append-only JSON-lines log of
// increments, fsynced per increment and replayed at open.
type FileCounters struct {
	log *filekv.Log

	mu sync.Mutex // guards m and appends
	m  map[string]int64
}

var _ Counters = (*FileCounters)(nil)

// OpenFileCounters opens (creating if needed) the counter log at path.
func OpenFileCounters(path string) (*FileCounters, error) {
	c := &FileCounters{m: map[string]int64{}}
	l, err := filekv.OpenLog(path, func(line []byte) error {
		var rec struct {
			Key string `json:"incr"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return err
		}
		c.m[rec.Key]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.log = l
	return c, nil
}

// Close closes the log.
func (c *FileCounters) Close() error { return c.log.Close() }

// Incr adds one durably.
func (c *FileCounters) Incr(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.log.Append(struct {
		Key string `json:"incr"`
	}{key}); err != nil {
		return err
	}
	c.m[key]++
	return nil
}

// Get returns the value.
func (c *FileCounters) Get(ctx context.Context, key string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key], nil
}
