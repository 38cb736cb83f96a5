package response

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
)

// ErrDryRunFailure is the error a DryRunExecutor returns for an action set
// to fail.
var ErrDryRunFailure = errors.New("response: dry-run executor: action set to fail")

// DryRunExecutor records every request and succeeds without touching
// anything; it reports the catalogue's reversibility and implements
// Rollbacker. For tests, examples and shadow deployments. Safe for
// concurrent use.
type DryRunExecutor struct {
	mu        sync.Mutex
	catalogue map[string]ActionSpec // read-only
	fail      map[string]bool       // guarded by mu; normalised action names
	requests  []ExecutionRequest    // guarded by mu
	rollbacks []Execution           // guarded by mu
}

var (
	_ Executor   = (*DryRunExecutor)(nil)
	_ Rollbacker = (*DryRunExecutor)(nil)
)

// NewDryRunExecutor returns a dry-run executor over the default catalogue.
func NewDryRunExecutor() *DryRunExecutor {
	return &DryRunExecutor{catalogue: DefaultCatalogue(), fail: map[string]bool{}}
}

// FailActions makes the named actions fail from now on.
func (d *DryRunExecutor) FailActions(names ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range names {
		if nn, ok := NormaliseAction(n); ok {
			d.fail[nn] = true
		}
	}
}

// Execute implements Executor.
func (d *DryRunExecutor) Execute(ctx context.Context, req ExecutionRequest) (ExecutionResult, error) {
	d.mu.Lock()
	d.requests = append(d.requests, req)
	fail := d.fail[req.Action]
	d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return ExecutionResult{}, err
	}
	if fail {
		return ExecutionResult{}, ErrDryRunFailure
	}
	spec, ok := d.catalogue[req.Action]
	return ExecutionResult{
		Detail:     "dry run: " + req.Action + " " + req.Target,
		Reversible: ok && spec.Reversible,
	}, nil
}

// Rollback implements Rollbacker.
func (d *DryRunExecutor) Rollback(ctx context.Context, e Execution) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rollbacks = append(d.rollbacks, e)
	return nil
}

// Requests returns a copy of every request received, in order.
func (d *DryRunExecutor) Requests() []ExecutionRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.requests)
}

// Rollbacks returns a copy of every execution rolled back, in order.
func (d *DryRunExecutor) Rollbacks() []Execution {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.rollbacks)
}

// MemoryPlaybooks is the in-memory PlaybookStore: it filters by severity
// (case-insensitive; a playbook without severity matches every case), orders
// by playbook id and applies the limit, as the reference query did.
type MemoryPlaybooks struct {
	playbooks []Playbook // read-only after construction, sorted by id
}

var _ PlaybookStore = (*MemoryPlaybooks)(nil)

// NewMemoryPlaybooks returns a store holding copies of p.
func NewMemoryPlaybooks(p ...Playbook) *MemoryPlaybooks {
	pb := slices.Clone(p)
	slices.SortStableFunc(pb, func(a, b Playbook) int { return cmp.Compare(a.PlaybookID, b.PlaybookID) })
	return &MemoryPlaybooks{playbooks: pb}
}

// Select implements PlaybookStore.
func (m *MemoryPlaybooks) Select(ctx context.Context, q PlaybookQuery) ([]Playbook, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sev := normSeverity(q.Severity)
	var out []Playbook
	for _, p := range m.playbooks {
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
		if p.Severity == "" || normSeverity(p.Severity) == sev {
			out = append(out, p)
		}
	}
	return out, nil
}
