package orchestrator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/socwarden/warden/orchestrator/internal/filekv"
)

// FileRepository is a durable Repository and PatternClosureFinder: one JSON
// document per investigation in a directory, each checkpoint written to a
// temporary file, fsynced and renamed over the previous one (then the
// directory is fsynced), so a crash at any moment leaves the previous or the
// new checkpoint, never a torn one. Every investigation is also held in
// memory for listing. Safe for concurrent use within one process.
type FileRepository struct {
	dir *filekv.Dir
}

var (
	_ Repository           = (*FileRepository)(nil)
	_ PatternClosureFinder = (*FileRepository)(nil)
)

// OpenFileRepository opens (creating if needed) the repository directory.
func OpenFileRepository(dir string) (*FileRepository, error) {
	d, err := filekv.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	return &FileRepository{dir: d}, nil
}

// Close releases the repository.
func (r *FileRepository) Close() error { return r.dir.Close() }

// Save writes inv durably before returning.
func (r *FileRepository) Save(ctx context.Context, inv *Investigation) error {
	if inv == nil {
		return ErrNilInvestigation
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("orchestrator: encode investigation: %w", err)
	}
	return r.dir.Put(inv.InvestigationID, b)
}

// Load decodes the stored checkpoint (numbers in pending audit events keep
// their literal form), or ErrNotFound.
func (r *FileRepository) Load(ctx context.Context, id string) (*Investigation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, ok, err := r.dir.Get(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	return DecodeInvestigation(b)
}

// DecodeInvestigation decodes a stored investigation. An unknown state is
// ErrInvalidState; numbers inside pending audit events are kept as
// json.Number so a re-emitted event encodes exactly as the first.
func DecodeInvestigation(b []byte) (*Investigation, error) {
	var inv Investigation
	if err := json.Unmarshal(b, &inv); err != nil {
		return nil, fmt.Errorf("orchestrator: decode investigation: %w", err)
	}
	if len(inv.PendingEvents) > 0 {
		var raw struct {
			PendingEvents []PendingEvent `json:"pending_events"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&raw); err == nil {
			inv.PendingEvents = raw.PendingEvents
		}
	}
	return &inv, nil
}

func (r *FileRepository) each(f func(inv *Investigation)) error {
	var derr error
	err := r.dir.Range(func(_ string, v []byte) bool {
		inv, err := DecodeInvestigation(v)
		if err != nil {
			derr = err
			return false
		}
		f(inv)
		return true
	})
	if err != nil {
		return err
	}
	return derr
}

// ListByState lists investigations in state s, newest updated_at first.
func (r *FileRepository) ListByState(ctx context.Context, s State, limit int) ([]InvestigationSummary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []InvestigationSummary
	if err := r.each(func(inv *Investigation) {
		if inv.State == s {
			out = append(out, summaryRow(inv))
		}
	}); err != nil {
		return nil, err
	}
	return sortSummaries(out, limit), nil
}

// ClosedByPattern returns the ids of the tenant's investigations closed by
// patternID, sorted.
func (r *FileRepository) ClosedByPattern(ctx context.Context, tenantID, patternID string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []string
	if err := r.each(func(inv *Investigation) {
		if inv.TenantID == tenantID && ClosedByPattern(inv, patternID) {
			out = append(out, inv.InvestigationID)
		}
	}); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// FileKillSwitches is a durable KillSwitchStore (one document per switch).
type FileKillSwitches struct{ dir *filekv.Dir }

var _ KillSwitchStore = (*FileKillSwitches)(nil)

// OpenFileKillSwitches opens (creating if needed) the directory.
func OpenFileKillSwitches(dir string) (*FileKillSwitches, error) {
	d, err := filekv.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	return &FileKillSwitches{dir: d}, nil
}

// Close releases the store.
func (s *FileKillSwitches) Close() error { return s.dir.Close() }

// Put stores k durably.
func (s *FileKillSwitches) Put(ctx context.Context, k KillSwitch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return s.dir.Put(KillSwitchKey(k.Dimension, k.Value), b)
}

// Get returns the switch of dimension and value.
func (s *FileKillSwitches) Get(ctx context.Context, dim KillSwitchDimension, value string) (KillSwitch, bool, error) {
	if err := ctx.Err(); err != nil {
		return KillSwitch{}, false, err
	}
	b, ok, err := s.dir.Get(KillSwitchKey(dim, value))
	if err != nil || !ok {
		return KillSwitch{}, false, err
	}
	var k KillSwitch
	if err := json.Unmarshal(b, &k); err != nil {
		return KillSwitch{}, false, err
	}
	return k, true, nil
}

// Delete removes the switch durably.
func (s *FileKillSwitches) Delete(ctx context.Context, dim KillSwitchDimension, value string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return s.dir.Delete(KillSwitchKey(dim, value))
}

// FileTenantConfigs is a durable TenantConfigStore.
type FileTenantConfigs struct{ dir *filekv.Dir }

var _ TenantConfigStore = (*FileTenantConfigs)(nil)

// OpenFileTenantConfigs opens (creating if needed) the directory.
func OpenFileTenantConfigs(dir string) (*FileTenantConfigs, error) {
	d, err := filekv.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	return &FileTenantConfigs{dir: d}, nil
}

// Close releases the store.
func (s *FileTenantConfigs) Close() error { return s.dir.Close() }

// Get returns the tenant's config, or the default.
func (s *FileTenantConfigs) Get(ctx context.Context, tenantID string) (TenantConfig, error) {
	if err := ctx.Err(); err != nil {
		return TenantConfig{}, err
	}
	b, ok, err := s.dir.Get(tenantID)
	if err != nil {
		return TenantConfig{}, err
	}
	if !ok {
		return DefaultTenantConfig(tenantID), nil
	}
	var c TenantConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return TenantConfig{}, err
	}
	return c, nil
}

// Set stores c durably after checking the go-live invariant.
func (s *FileTenantConfigs) Set(ctx context.Context, c TenantConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.dir.Put(c.TenantID, b)
}

// FileShadowLog is a durable ShadowLog: one append-only JSON-lines file,
// fsynced per entry, replayed into memory at open.
type FileShadowLog struct {
	log *filekv.Log

	mu sync.RWMutex // guards m
	m  map[string][]ShadowEntry
}

var _ ShadowLog = (*FileShadowLog)(nil)

type shadowLine struct {
	Key   string      `json:"key"`
	Entry ShadowEntry `json:"entry"`
}

// OpenFileShadowLog opens (creating if needed) the log file inside dir.
func OpenFileShadowLog(dir string) (*FileShadowLog, error) {
	s := &FileShadowLog{m: map[string][]ShadowEntry{}}
	l, err := filekv.OpenLog(filepath.Join(dir, "shadow_log.jsonl"), func(line []byte) error {
		var sl shadowLine
		if err := json.Unmarshal(line, &sl); err != nil {
			return err
		}
		s.m[sl.Key] = append(s.m[sl.Key], sl.Entry)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log = l
	return s, nil
}

// Close closes the file.
func (s *FileShadowLog) Close() error { return s.log.Close() }

// Append writes the entry durably, then makes it visible.
func (s *FileShadowLog) Append(ctx context.Context, tenantID, ruleFamily string, e ShadowEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := ShadowLogKey(tenantID, ruleFamily)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.log.Append(shadowLine{Key: key, Entry: e}); err != nil {
		return err
	}
	s.m[key] = append(s.m[key], e)
	return nil
}

// Entries returns the tenant's rule-family log in order.
func (s *FileShadowLog) Entries(ctx context.Context, tenantID, ruleFamily string) ([]ShadowEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.m[ShadowLogKey(tenantID, ruleFamily)]), nil
}
