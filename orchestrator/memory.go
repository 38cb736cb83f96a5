package orchestrator

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
)

// DefaultListLimit is ListByState's limit when none is given.
const DefaultListLimit = 50

// MemoryRepository is the in-memory Repository and PatternClosureFinder. It
// stores deep copies. Safe for concurrent use.
type MemoryRepository struct {
	mu   sync.RWMutex // guards invs
	invs map[string]*Investigation
}

var (
	_ Repository           = (*MemoryRepository)(nil)
	_ PatternClosureFinder = (*MemoryRepository)(nil)
)

// NewMemoryRepository returns an empty repository.
func NewMemoryRepository() *MemoryRepository {
	return &MemoryRepository{invs: map[string]*Investigation{}}
}

// Save upserts a deep copy of inv.
func (r *MemoryRepository) Save(ctx context.Context, inv *Investigation) error {
	if inv == nil {
		return ErrNilInvestigation
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c := inv.Clone()
	r.mu.Lock()
	r.invs[c.InvestigationID] = c
	r.mu.Unlock()
	return nil
}

// Load returns a deep copy, or ErrNotFound.
func (r *MemoryRepository) Load(ctx context.Context, id string) (*Investigation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	inv, ok := r.invs[id]
	r.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	return inv.Clone(), nil
}

// ListByState lists investigations in state s, newest updated_at first.
func (r *MemoryRepository) ListByState(ctx context.Context, s State, limit int) ([]InvestigationSummary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	var out []InvestigationSummary
	for _, inv := range r.invs {
		if inv.State == s {
			out = append(out, summaryRow(inv))
		}
	}
	r.mu.RUnlock()
	return sortSummaries(out, limit), nil
}

// ClosedByPattern returns the ids of the tenant's investigations closed by
// patternID, sorted.
func (r *MemoryRepository) ClosedByPattern(ctx context.Context, tenantID, patternID string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	var out []string
	for id, inv := range r.invs {
		if inv.TenantID == tenantID && ClosedByPattern(inv, patternID) {
			out = append(out, id)
		}
	}
	r.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}

func summaryRow(inv *Investigation) InvestigationSummary {
	return InvestigationSummary{InvestigationID: inv.InvestigationID, AlertID: inv.AlertID, TenantID: inv.TenantID,
		State: inv.State, UpdatedAt: inv.UpdatedAt}
}

func sortSummaries(out []InvestigationSummary, limit int) []InvestigationSummary {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].UpdatedAt.Equal(out[j].UpdatedAt) {
			return out[i].UpdatedAt.After(out[j].UpdatedAt)
		}
		return out[i].InvestigationID < out[j].InvestigationID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []InvestigationSummary{}
	}
	return out
}

// MemoryIOCCache is an in-memory IOCCache keyed by tenant, type and value.
type MemoryIOCCache struct {
	mu sync.RWMutex // guards m
	m  map[[3]string]map[string]any
}

var _ IOCCache = (*MemoryIOCCache)(nil)

// NewMemoryIOCCache returns an empty cache.
func NewMemoryIOCCache() *MemoryIOCCache { return &MemoryIOCCache{m: map[[3]string]map[string]any{}} }

// Put stores a record for the tenant's IOC.
func (c *MemoryIOCCache) Put(tenantID, iocType, value string, rec map[string]any) {
	c.mu.Lock()
	c.m[[3]string{tenantID, iocType, value}] = cloneAnyMap(rec)
	c.mu.Unlock()
}

// GetIOC returns a copy of the tenant's record.
func (c *MemoryIOCCache) GetIOC(ctx context.Context, tenantID, iocType, value string) (map[string]any, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	c.mu.RLock()
	rec, ok := c.m[[3]string{tenantID, iocType, value}]
	c.mu.RUnlock()
	return cloneAnyMap(rec), ok, nil
}

// MemoryUEBA is an in-memory UEBAStore.
type MemoryUEBA struct {
	mu   sync.RWMutex // guards recs and deep
	recs map[[2]string]UEBARecord
	deep map[[2]string]map[string]any
}

var _ UEBAStore = (*MemoryUEBA)(nil)

// NewMemoryUEBA returns an empty store.
func NewMemoryUEBA() *MemoryUEBA {
	return &MemoryUEBA{recs: map[[2]string]UEBARecord{}, deep: map[[2]string]map[string]any{}}
}

// Put stores the tenant's record for an entity value.
func (u *MemoryUEBA) Put(tenantID, value string, r UEBARecord) {
	r.Anomalies = cloneAnySlice(r.Anomalies)
	u.mu.Lock()
	u.recs[[2]string{tenantID, value}] = r
	u.mu.Unlock()
}

// PutDeep stores the tenant's deep context for an entity value.
func (u *MemoryUEBA) PutDeep(tenantID, value string, rec map[string]any) {
	u.mu.Lock()
	u.deep[[2]string{tenantID, value}] = cloneAnyMap(rec)
	u.mu.Unlock()
}

// Lookup returns the tenant's record.
func (u *MemoryUEBA) Lookup(ctx context.Context, tenantID, value string) (UEBARecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return UEBARecord{}, false, err
	}
	u.mu.RLock()
	r, ok := u.recs[[2]string{tenantID, value}]
	u.mu.RUnlock()
	r.Anomalies = cloneAnySlice(r.Anomalies)
	return r, ok, nil
}

// DeepContext returns the tenant's deep context.
func (u *MemoryUEBA) DeepContext(ctx context.Context, tenantID, value string) (map[string]any, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	u.mu.RLock()
	r, ok := u.deep[[2]string{tenantID, value}]
	u.mu.RUnlock()
	return cloneAnyMap(r), ok, nil
}

// IncidentRecord is one stored incident of MemoryIncidents.
type IncidentRecord struct {
	IncidentID    string
	Title         string
	Techniques    []string
	AgeDays       *float64
	RareImportant bool
	Vector        []float32
}

// MemoryIncidents is an in-memory IncidentSearch: cosine similarity, same
// tenant only.
type MemoryIncidents struct {
	mu   sync.RWMutex // guards recs
	recs map[string][]IncidentRecord
}

var _ IncidentSearch = (*MemoryIncidents)(nil)

// NewMemoryIncidents returns an empty store.
func NewMemoryIncidents() *MemoryIncidents {
	return &MemoryIncidents{recs: map[string][]IncidentRecord{}}
}

// Add stores an incident of the tenant.
func (m *MemoryIncidents) Add(tenantID string, r IncidentRecord) {
	r.Techniques, r.Vector = slices.Clone(r.Techniques), slices.Clone(r.Vector)
	m.mu.Lock()
	m.recs[tenantID] = append(m.recs[tenantID], r)
	m.mu.Unlock()
}

// SearchSimilar returns the tenant's incidents most similar to vector.
func (m *MemoryIncidents) SearchSimilar(ctx context.Context, tenantID string, vector []float32, limit int) ([]IncidentHit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	recs := slices.Clone(m.recs[tenantID])
	m.mu.RUnlock()
	hits := make([]IncidentHit, 0, len(recs))
	for _, r := range recs {
		hits = append(hits, IncidentHit{ID: r.IncidentID, Score: Cosine(vector, r.Vector), IncidentID: r.IncidentID,
			Title: r.Title, TenantID: tenantID, Techniques: slices.Clone(r.Techniques), AgeDays: r.AgeDays,
			RareImportant: r.RareImportant})
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// Cosine is the cosine similarity of a and b over their common length; 0
// for empty or zero vectors.
func Cosine(a, b []float32) float64 {
	n := min(len(a), len(b))
	var dot, na, nb float64
	for i := range n {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return finite(dot / (math.Sqrt(na) * math.Sqrt(nb)))
}

// MemoryThreatIntel is an in-memory ThreatIntel.
type MemoryThreatIntel struct {
	mu sync.RWMutex // guards m
	m  map[string]map[string]any
}

var _ ThreatIntel = (*MemoryThreatIntel)(nil)

// NewMemoryThreatIntel returns an empty store.
func NewMemoryThreatIntel() *MemoryThreatIntel {
	return &MemoryThreatIntel{m: map[string]map[string]any{}}
}

// Put stores intelligence for a technique.
func (t *MemoryThreatIntel) Put(techniqueID string, rec map[string]any) {
	t.mu.Lock()
	t.m[techniqueID] = cloneAnyMap(rec)
	t.mu.Unlock()
}

// TechniqueIntel returns a copy of the technique's record.
func (t *MemoryThreatIntel) TechniqueIntel(ctx context.Context, techniqueID string) (map[string]any, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	t.mu.RLock()
	r, ok := t.m[techniqueID]
	t.mu.RUnlock()
	return cloneAnyMap(r), ok, nil
}

// MemoryExposures is an in-memory ExposureStore.
type MemoryExposures struct {
	mu sync.RWMutex // guards m
	m  map[string][]Exposure
}

var _ ExposureStore = (*MemoryExposures)(nil)

// NewMemoryExposures returns an empty store.
func NewMemoryExposures() *MemoryExposures { return &MemoryExposures{m: map[string][]Exposure{}} }

// Add stores an exposure of the tenant.
func (s *MemoryExposures) Add(tenantID string, e Exposure) {
	s.mu.Lock()
	s.m[tenantID] = append(s.m[tenantID], e)
	s.mu.Unlock()
}

// OpenExposures returns the asset's exposures whose status is neither
// Verified nor Closed, highest ctem_score first.
func (s *MemoryExposures) OpenExposures(ctx context.Context, tenantID, assetID string) ([]Exposure, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	var out []Exposure
	for _, e := range s.m[tenantID] {
		st := strings.ToLower(e.Status)
		if e.AssetID == assetID && st != "verified" && st != "closed" {
			out = append(out, e)
		}
	}
	s.mu.RUnlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].CTEMScore > out[j].CTEMScore })
	return out, nil
}

// MemoryATLASTaxonomy is an in-memory ATLASTaxonomy.
type MemoryATLASTaxonomy struct {
	mu sync.RWMutex // guards m
	m  map[string][]TaxonomyEntry
}

var _ ATLASTaxonomy = (*MemoryATLASTaxonomy)(nil)

// NewMemoryATLASTaxonomy returns an empty taxonomy.
func NewMemoryATLASTaxonomy() *MemoryATLASTaxonomy {
	return &MemoryATLASTaxonomy{m: map[string][]TaxonomyEntry{}}
}

// Add relates an ATLAS entry to an ATT&CK id.
func (t *MemoryATLASTaxonomy) Add(attackID string, e TaxonomyEntry) {
	t.mu.Lock()
	t.m[attackID] = append(t.m[attackID], e)
	t.mu.Unlock()
}

// ATLASForAttack returns the entries related to attackID.
func (t *MemoryATLASTaxonomy) ATLASForAttack(ctx context.Context, attackID string) ([]TaxonomyEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.m[attackID]), nil
}

// TechniqueRecord is one ATLAS technique of MemoryTechniqueSearch.
type TechniqueRecord struct {
	TechniqueID     string
	Name            string
	RelatedAttackID string
	Vector          []float32
}

// MemoryTechniqueSearch is an in-memory TechniqueSearch (cosine similarity).
type MemoryTechniqueSearch struct {
	mu   sync.RWMutex // guards recs
	recs []TechniqueRecord
}

var _ TechniqueSearch = (*MemoryTechniqueSearch)(nil)

// NewMemoryTechniqueSearch returns an empty index.
func NewMemoryTechniqueSearch() *MemoryTechniqueSearch { return &MemoryTechniqueSearch{} }

// Add indexes a technique.
func (s *MemoryTechniqueSearch) Add(r TechniqueRecord) {
	r.Vector = slices.Clone(r.Vector)
	s.mu.Lock()
	s.recs = append(s.recs, r)
	s.mu.Unlock()
}

// SearchATLAS returns the most similar techniques.
func (s *MemoryTechniqueSearch) SearchATLAS(ctx context.Context, vector []float32, limit int) ([]TechniqueHit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	hits := make([]TechniqueHit, 0, len(s.recs))
	for _, r := range s.recs {
		hits = append(hits, TechniqueHit{Score: Cosine(vector, r.Vector), TechniqueID: r.TechniqueID, Name: r.Name,
			RelatedAttackID: r.RelatedAttackID})
	}
	s.mu.RUnlock()
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// MemoryKillSwitches is an in-memory KillSwitchStore.
type MemoryKillSwitches struct {
	mu sync.RWMutex // guards m
	m  map[string]KillSwitch
}

var _ KillSwitchStore = (*MemoryKillSwitches)(nil)

// NewMemoryKillSwitches returns an empty store.
func NewMemoryKillSwitches() *MemoryKillSwitches {
	return &MemoryKillSwitches{m: map[string]KillSwitch{}}
}

// Put stores k under its key.
func (s *MemoryKillSwitches) Put(ctx context.Context, k KillSwitch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.m[KillSwitchKey(k.Dimension, k.Value)] = k
	s.mu.Unlock()
	return nil
}

// Get returns the switch of dimension and value.
func (s *MemoryKillSwitches) Get(ctx context.Context, dim KillSwitchDimension, value string) (KillSwitch, bool, error) {
	if err := ctx.Err(); err != nil {
		return KillSwitch{}, false, err
	}
	s.mu.RLock()
	k, ok := s.m[KillSwitchKey(dim, value)]
	s.mu.RUnlock()
	return k, ok, nil
}

// Delete removes the switch; it reports whether one existed.
func (s *MemoryKillSwitches) Delete(ctx context.Context, dim KillSwitchDimension, value string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := KillSwitchKey(dim, value)
	_, ok := s.m[key]
	delete(s.m, key)
	return ok, nil
}

// All returns every active switch, sorted by key.
func (s *MemoryKillSwitches) All() []KillSwitch {
	s.mu.RLock()
	out := make([]KillSwitch, 0, len(s.m))
	for _, k := range s.m {
		out = append(out, k)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		return KillSwitchKey(out[i].Dimension, out[i].Value) < KillSwitchKey(out[j].Dimension, out[j].Value)
	})
	return out
}

// MemoryTenantConfigs is an in-memory TenantConfigStore.
type MemoryTenantConfigs struct {
	mu sync.RWMutex // guards m
	m  map[string]TenantConfig
}

var _ TenantConfigStore = (*MemoryTenantConfigs)(nil)

// NewMemoryTenantConfigs returns an empty store.
func NewMemoryTenantConfigs() *MemoryTenantConfigs {
	return &MemoryTenantConfigs{m: map[string]TenantConfig{}}
}

// Get returns the tenant's config, or the default.
func (s *MemoryTenantConfigs) Get(ctx context.Context, tenantID string) (TenantConfig, error) {
	if err := ctx.Err(); err != nil {
		return TenantConfig{}, err
	}
	s.mu.RLock()
	c, ok := s.m[tenantID]
	s.mu.RUnlock()
	if !ok {
		return DefaultTenantConfig(tenantID), nil
	}
	return c.clone(), nil
}

// Set stores c after checking the go-live invariant.
func (s *MemoryTenantConfigs) Set(ctx context.Context, c TenantConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.m[c.TenantID] = c.clone()
	s.mu.Unlock()
	return nil
}

// MemoryShadowLog is an in-memory ShadowLog.
type MemoryShadowLog struct {
	mu sync.RWMutex // guards m
	m  map[string][]ShadowEntry
}

var _ ShadowLog = (*MemoryShadowLog)(nil)

// NewMemoryShadowLog returns an empty log.
func NewMemoryShadowLog() *MemoryShadowLog { return &MemoryShadowLog{m: map[string][]ShadowEntry{}} }

// Append adds an entry to the tenant's rule-family log.
func (l *MemoryShadowLog) Append(ctx context.Context, tenantID, ruleFamily string, e ShadowEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := ShadowLogKey(tenantID, ruleFamily)
	l.mu.Lock()
	l.m[key] = append(l.m[key], e)
	l.mu.Unlock()
	return nil
}

// Entries returns the tenant's rule-family log in order.
func (l *MemoryShadowLog) Entries(ctx context.Context, tenantID, ruleFamily string) ([]ShadowEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.m[ShadowLogKey(tenantID, ruleFamily)]), nil
}

// StaticLLM answers from canned responses per agent id, in order; the last
// response repeats. It records every request. For examples and tests.
type StaticLLM struct {
	mu        sync.Mutex // guards responses, requests
	responses map[string][]LLMResponse
	requests  []LLMRequest
}

var _ LLM = (*StaticLLM)(nil)

// NewStaticLLM returns an LLM answering agent id → responses.
func NewStaticLLM(responses map[string][]LLMResponse) *StaticLLM {
	m := map[string][]LLMResponse{}
	for k, v := range responses {
		m[k] = slices.Clone(v)
	}
	return &StaticLLM{responses: m}
}

// Complete returns the agent's next canned response.
func (s *StaticLLM) Complete(ctx context.Context, req LLMRequest) (LLMResponse, error) {
	if err := ctx.Err(); err != nil {
		return LLMResponse{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	q := s.responses[req.AgentID]
	if len(q) == 0 {
		return LLMResponse{}, errNoLLM
	}
	r := q[0]
	if len(q) > 1 {
		s.responses[req.AgentID] = q[1:]
	}
	if r.Tier == "" {
		r.Tier = req.Tier
	}
	return r, nil
}

// Requests returns the requests received so far.
func (s *StaticLLM) Requests() []LLMRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}
