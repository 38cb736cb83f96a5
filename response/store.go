package response

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// MemoryApprovals is the in-memory ApprovalStore; the file store wraps the
// same logic with a log. Safe for concurrent use.
type MemoryApprovals struct {
	storeGuard
	byID   map[string]Approval // guarded by mu; values are owned copies
	order  []string            // guarded by mu; approval ids in creation order
	open   map[string]string   // guarded by mu; investigation → awaiting approval id
	latest map[string]string   // guarded by mu; investigation → newest approval id
	// persist is called under mu with the record about to be stored; an
	// error rejects the write. nil for the pure in-memory store.
	persist func(Approval) error
}

var _ ApprovalStore = (*MemoryApprovals)(nil)

// NewMemoryApprovals returns an empty in-memory approval store.
func NewMemoryApprovals() *MemoryApprovals {
	return &MemoryApprovals{byID: map[string]Approval{}, open: map[string]string{}, latest: map[string]string{}}
}

// storeGuard is the lock and closed flag the memory stores share: mu
// guards every field of the store that embeds it.
type storeGuard struct {
	mu     sync.Mutex
	closed bool // guarded by mu
}

// lock takes mu unless ctx has ended or the store is closed.
func (g *storeGuard) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrStoreClosed
	}
	return nil
}

// Create implements ApprovalStore.
func (s *MemoryApprovals) Create(ctx context.Context, a Approval) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, dup := s.byID[a.ApprovalID]; dup {
		return ErrConflict
	}
	if a.State == StateAwaitingApproval {
		if _, busy := s.open[a.InvestigationID]; busy {
			return ErrConflict
		}
	}
	a = a.clone()
	if s.persist != nil {
		if err := s.persist(a); err != nil {
			return err
		}
	}
	s.apply(a)
	return nil
}

// apply stores a and maintains the indexes; a new id is appended to the
// creation order. Callers hold mu.
func (s *MemoryApprovals) apply(a Approval) {
	if _, seen := s.byID[a.ApprovalID]; !seen {
		s.order = append(s.order, a.ApprovalID)
		s.latest[a.InvestigationID] = a.ApprovalID
	}
	s.byID[a.ApprovalID] = a
	if a.State == StateAwaitingApproval {
		s.open[a.InvestigationID] = a.ApprovalID
	} else if s.open[a.InvestigationID] == a.ApprovalID {
		delete(s.open, a.InvestigationID)
	}
}

// Get implements ApprovalStore.
func (s *MemoryApprovals) Get(ctx context.Context, id string) (Approval, bool, error) {
	if err := s.lock(ctx); err != nil {
		return Approval{}, false, err
	}
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	return a.clone(), ok, nil
}

// Open implements ApprovalStore.
func (s *MemoryApprovals) Open(ctx context.Context, investigationID string) (Approval, bool, error) {
	return s.byIndex(ctx, s.open, investigationID)
}

// Latest implements ApprovalStore.
func (s *MemoryApprovals) Latest(ctx context.Context, investigationID string) (Approval, bool, error) {
	return s.byIndex(ctx, s.latest, investigationID)
}

func (s *MemoryApprovals) byIndex(ctx context.Context, idx map[string]string, inv string) (Approval, bool, error) {
	if err := s.lock(ctx); err != nil {
		return Approval{}, false, err
	}
	defer s.mu.Unlock()
	id, ok := idx[inv]
	if !ok {
		return Approval{}, false, nil
	}
	return s.byID[id].clone(), true, nil
}

// Update implements ApprovalStore.
func (s *MemoryApprovals) Update(ctx context.Context, a Approval, expectedVersion int) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.byID[a.ApprovalID]
	if !ok || cur.Version != expectedVersion {
		return ErrConflict
	}
	a = a.clone()
	a.InvestigationID = cur.InvestigationID // the index key never moves
	a.Version = expectedVersion + 1
	if s.persist != nil {
		if err := s.persist(a); err != nil {
			return err
		}
	}
	s.apply(a)
	return nil
}

// ListOpen implements ApprovalStore; records come ordered by deadline, then
// id.
func (s *MemoryApprovals) ListOpen(ctx context.Context) ([]Approval, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	out := make([]Approval, 0, len(s.open))
	for _, id := range s.open {
		out = append(out, s.byID[id].clone())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Approval) int {
		if c := a.Deadline.Compare(b.Deadline); c != 0 {
			return c
		}
		return cmp.Compare(a.ApprovalID, b.ApprovalID)
	})
	return out, nil
}

// snapshot returns every record in creation order. Callers hold mu.
func (s *MemoryApprovals) snapshot() []Approval {
	out := make([]Approval, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.byID[id])
	}
	return out
}

// MemoryExecutions is the in-memory ExecutionStore. Safe for concurrent use.
type MemoryExecutions struct {
	storeGuard
	byID    map[string]Execution // guarded by mu; values are owned copies
	order   []string             // guarded by mu; creation order
	byKey   map[string]string    // guarded by mu; idempotency key → execution id
	byInv   map[string][]string  // guarded by mu; investigation → ids in creation order
	persist func(Execution) error
}

var _ ExecutionStore = (*MemoryExecutions)(nil)

// NewMemoryExecutions returns an empty in-memory execution store.
func NewMemoryExecutions() *MemoryExecutions {
	return &MemoryExecutions{byID: map[string]Execution{}, byKey: map[string]string{}, byInv: map[string][]string{}}
}

// Create implements ExecutionStore.
func (s *MemoryExecutions) Create(ctx context.Context, e Execution) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, dup := s.byID[e.ExecutionID]; dup {
		return ErrConflict
	}
	if _, dup := s.byKey[e.IdempotencyKey]; dup && e.IdempotencyKey != "" {
		return ErrConflict
	}
	e = e.clone()
	if s.persist != nil {
		if err := s.persist(e); err != nil {
			return err
		}
	}
	s.apply(e)
	return nil
}

func (s *MemoryExecutions) apply(e Execution) {
	if _, seen := s.byID[e.ExecutionID]; !seen {
		s.order = append(s.order, e.ExecutionID)
		s.byInv[e.InvestigationID] = append(s.byInv[e.InvestigationID], e.ExecutionID)
		if e.IdempotencyKey != "" {
			s.byKey[e.IdempotencyKey] = e.ExecutionID
		}
	}
	s.byID[e.ExecutionID] = e
}

// Get implements ExecutionStore.
func (s *MemoryExecutions) Get(ctx context.Context, id string) (Execution, bool, error) {
	if err := s.lock(ctx); err != nil {
		return Execution{}, false, err
	}
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	return e.clone(), ok, nil
}

// ByKey implements ExecutionStore.
func (s *MemoryExecutions) ByKey(ctx context.Context, key string) (Execution, bool, error) {
	if err := s.lock(ctx); err != nil {
		return Execution{}, false, err
	}
	defer s.mu.Unlock()
	id, ok := s.byKey[key]
	if !ok {
		return Execution{}, false, nil
	}
	return s.byID[id].clone(), true, nil
}

// Update implements ExecutionStore.
func (s *MemoryExecutions) Update(ctx context.Context, e Execution, expectedVersion int) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.byID[e.ExecutionID]
	if !ok || cur.Version != expectedVersion {
		return ErrConflict
	}
	e = e.clone()
	// Identity fields never move: the indexes are keyed by them.
	e.IdempotencyKey, e.InvestigationID = cur.IdempotencyKey, cur.InvestigationID
	e.Version = expectedVersion + 1
	if s.persist != nil {
		if err := s.persist(e); err != nil {
			return err
		}
	}
	s.apply(e)
	return nil
}

// ListByInvestigation implements ExecutionStore, in creation order.
func (s *MemoryExecutions) ListByInvestigation(ctx context.Context, investigationID string) ([]Execution, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ids := s.byInv[investigationID]
	out := make([]Execution, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.byID[id].clone())
	}
	return out, nil
}

func (s *MemoryExecutions) snapshot() []Execution {
	out := make([]Execution, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.byID[id])
	}
	return out
}
