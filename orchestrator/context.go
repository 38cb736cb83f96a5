package orchestrator

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/taxonomy"
)

// DefaultIncidentAgeDays is the age assumed for a similar incident of
// unknown age.
const DefaultIncidentAgeDays = 30.0

// ContextEnricher re-enriches IOCs, reads behaviour analytics, finds similar
// incidents of the same tenant and builds the case facts. Safe for
// concurrent use.
type ContextEnricher struct {
	cache     IOCCache
	ueba      UEBAStore
	incidents IncidentSearch
	intel     ThreatIntel
	tier      taxonomy.ModelTier
	log       *slog.Logger
}

var _ Node = (*ContextEnricher)(nil)

// NewContextEnricher returns the enricher. Each store may be nil (its
// sub-task is skipped). Options: WithRetrievalTier, WithThreatIntel.
func NewContextEnricher(cache IOCCache, ueba UEBAStore, incidents IncidentSearch, opts ...Option) (*ContextEnricher, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	return &ContextEnricher{cache: cache, ueba: ueba, incidents: incidents, intel: cfg.threatIntel,
		tier: cfg.retrievalTier, log: cfg.logger}, nil
}

// Execute runs the three sub-tasks concurrently; a failing one leaves the
// others' results intact and never fails the node.
func (c *ContextEnricher) Execute(ctx context.Context, inv *Investigation) error {
	if inv == nil {
		return ErrNilInvestigation
	}
	var (
		wg               sync.WaitGroup
		iocs             = slices.Clone(inv.IOCMatches)
		iocQueries       int
		ueba             []UEBAContext
		uebaQueries      int
		uebaErr          error
		similar          []SimilarIncident
		incidentsQueries int
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		iocQueries = c.reenrich(ctx, inv, iocs)
	}()
	go func() {
		defer wg.Done()
		ueba, uebaQueries, uebaErr = c.lookupUEBA(ctx, inv)
	}()
	go func() {
		defer wg.Done()
		similar, incidentsQueries = c.similarIncidents(ctx, inv)
	}()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	inv.IOCMatches = iocs
	inv.QueriesExecuted += iocQueries + uebaQueries + incidentsQueries
	if uebaErr != nil {
		c.log.Warn("orchestrator: UEBA lookup failed", "investigation_id", inv.InvestigationID, "error", uebaErr)
		inv.RiskState = string(taxonomy.RiskUnknown)
	} else {
		inv.UEBAContext = ueba
		inv.RiskState = riskStateOf(ueba)
	}
	inv.SimilarIncidents = similar
	inv.CaseFacts = buildCaseFacts(inv)
	if c.tier.Rank() >= taxonomy.Tier1.Rank() {
		c.deepRetrieve(ctx, inv)
	}
	return nil
}

// reenrich refreshes the intel of each IOC in place; a cache error is a miss.
func (c *ContextEnricher) reenrich(ctx context.Context, inv *Investigation, iocs []IOC) (queries int) {
	if c.cache == nil {
		return 0
	}
	for i := range iocs {
		if iocs[i].Type == "" || iocs[i].Value == "" {
			continue
		}
		queries++
		rec, ok, err := c.cache.GetIOC(ctx, inv.TenantID, iocs[i].Type, iocs[i].Value)
		if err != nil {
			c.log.Warn("orchestrator: IOC cache lookup failed; treated as a miss", "investigation_id", inv.InvestigationID, "error", err)
			continue
		}
		if ok {
			iocs[i].Intel = cloneAnyMap(rec)
		}
	}
	return queries
}

func (c *ContextEnricher) lookupUEBA(ctx context.Context, inv *Investigation) ([]UEBAContext, int, error) {
	if c.ueba == nil {
		return nil, 0, nil
	}
	var out []UEBAContext
	queries := 0
	for _, group := range []struct {
		typ  string
		list []entityparser.Entity
	}{{"account", inv.Entities.Accounts}, {"host", inv.Entities.Hosts}, {"ip", inv.Entities.IPs}} {
		for _, e := range group.list {
			if e.PrimaryValue == "" {
				continue
			}
			queries++
			rec, ok, err := c.ueba.Lookup(ctx, inv.TenantID, e.PrimaryValue)
			if err != nil {
				return nil, queries, err
			}
			if !ok {
				continue
			}
			rs := rec.RiskState
			if rs == "" {
				rs = string(taxonomy.RiskUnknown)
			}
			out = append(out, UEBAContext{EntityType: group.typ, EntityValue: e.PrimaryValue,
				RiskScore: finite(rec.RiskScore), RiskState: rs, Anomalies: cloneAnySlice(rec.Anomalies)})
		}
	}
	return out, queries, nil
}

// riskStateOf folds UEBA records into one risk state: none → no_baseline;
// any high → high; else any medium → medium; else any low → low; else
// no_baseline. Absent data is never low.
func riskStateOf(recs []UEBAContext) string {
	has := func(s string) bool {
		for _, r := range recs {
			if r.RiskState == s {
				return true
			}
		}
		return false
	}
	switch {
	case has(string(taxonomy.RiskHigh)):
		return string(taxonomy.RiskHigh)
	case has(string(taxonomy.RiskMedium)):
		return string(taxonomy.RiskMedium)
	case has(string(taxonomy.RiskLow)):
		return string(taxonomy.RiskLow)
	}
	return string(taxonomy.RiskNoBaseline)
}

// similarIncidents searches the tenant's incidents; it needs a description
// and an embedding. Hits of another tenant are dropped (defence in depth:
// their titles would reach this tenant's LLM prompt).
func (c *ContextEnricher) similarIncidents(ctx context.Context, inv *Investigation) ([]SimilarIncident, int) {
	if c.incidents == nil || inv.Description == "" || len(inv.Embedding) == 0 {
		return nil, 0
	}
	hits, err := c.incidents.SearchSimilar(ctx, inv.TenantID, inv.Embedding, SimilarIncidentLimit)
	if err != nil {
		c.log.Warn("orchestrator: similar-incident search failed", "investigation_id", inv.InvestigationID, "error", err)
		return nil, 1
	}
	var out []SimilarIncident
	for _, h := range hits {
		if h.TenantID != "" && h.TenantID != inv.TenantID {
			continue
		}
		age := DefaultIncidentAgeDays
		if h.AgeDays != nil {
			age = *h.AgeDays
		}
		sc := ScoreIncident(h.Score, age, h.TenantID == inv.TenantID, Jaccard(inv.Techniques, h.Techniques), h.RareImportant)
		id := h.IncidentID
		if id == "" {
			id = h.ID
		}
		out = append(out, SimilarIncident{IncidentID: id, Title: h.Title, VectorSimilarity: finite(h.Score),
			CompositeScore: sc.Composite, Techniques: slices.Clone(h.Techniques)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CompositeScore > out[j].CompositeScore })
	if len(out) > SimilarIncidentLimit {
		out = out[:SimilarIncidentLimit]
	}
	return out, 1
}

// Jaccard is |a∩b| / |a∪b| over distinct values; 0 when both are empty.
func Jaccard(a, b []string) float64 {
	set := map[string]uint8{}
	for _, x := range a {
		set[x] |= 1
	}
	for _, x := range b {
		set[x] |= 2
	}
	if len(set) == 0 {
		return 0
	}
	inter := 0
	for _, v := range set {
		if v == 3 {
			inter++
		}
	}
	return float64(inter) / float64(len(set))
}

// IncidentScore is the breakdown of a similar incident's composite score.
type IncidentScore struct {
	VectorSimilarity float64 `json:"vector_similarity"`
	RecencyDecay     float64 `json:"recency_decay"`
	TenantMatch      float64 `json:"tenant_match"`
	TechniqueOverlap float64 `json:"technique_overlap"`
	Composite        float64 `json:"composite"`
}

// ScoreIncident scores a similar incident: recency = 0.7·e^(−0.023·age) +
// 0.3/(1 + ln(1 + age/365)) (at least 0.1 for rare important incidents;
// negative ages count as 0); composite = 0.4·sim + 0.3·recency +
// 0.15·tenant + 0.15·overlap.
func ScoreIncident(sim, ageDays float64, sameTenant bool, overlap float64, rareImportant bool) IncidentScore {
	sim, overlap, ageDays = finite(sim), finite(overlap), finite(ageDays)
	age := max(ageDays, 0)
	recency := 0.7*math.Exp(-0.023*age) + 0.3*(1/(1+math.Log(1+age/365)))
	if rareImportant {
		recency = max(recency, 0.1)
	}
	tenant := 0.0
	if sameTenant {
		tenant = 1
	}
	return IncidentScore{VectorSimilarity: sim, RecencyDecay: recency, TenantMatch: tenant, TechniqueOverlap: overlap,
		Composite: 0.4*sim + 0.3*recency + 0.15*tenant + 0.15*overlap}
}

// buildCaseFacts builds the fact sheet from the enriched investigation.
func buildCaseFacts(inv *Investigation) CaseFacts {
	var f CaseFacts
	for _, list := range [][]entityparser.Entity{inv.Entities.Accounts, inv.Entities.Hosts, inv.Entities.IPs} {
		for _, e := range list {
			if e.PrimaryValue != "" {
				f.Entities = append(f.Entities, e.PrimaryValue)
			}
		}
	}
	for _, i := range inv.IOCMatches {
		if i.Value != "" {
			f.IOCs = append(f.IOCs, FactIOC{Type: i.Type, Value: i.Value})
		}
	}
	f.Techniques = slices.Clone(inv.Techniques)
	for _, u := range inv.UEBAContext {
		for _, a := range u.Anomalies {
			if m, ok := a.(map[string]any); ok {
				f.Timeline = append(f.Timeline, cloneAnyMap(m))
			}
		}
	}
	for _, s := range inv.SimilarIncidents {
		f.SimilarIncidents = append(f.SimilarIncidents, FactIncident{IncidentID: s.IncidentID, Title: s.Title})
	}
	f.TokenEstimate = tokenEstimate(f)
	return f
}

// tokenEstimate is the JSON length of the facts (without the estimate and
// the deep context) divided by four.
func tokenEstimate(f CaseFacts) int {
	f.TokenEstimate, f.DeepContext = 0, nil
	b, err := json.Marshal(f)
	if err != nil {
		return 0
	}
	return len(b) / 4
}

// deepRetrieve fetches technique intelligence and the deep context of
// entities that are also IOCs, concurrently, in fact order.
func (c *ContextEnricher) deepRetrieve(ctx context.Context, inv *Investigation) {
	iocValues := map[string]bool{}
	for _, i := range inv.CaseFacts.IOCs {
		iocValues[i.Value] = true
	}
	type task func() map[string]any
	var tasks []task
	for _, id := range inv.CaseFacts.Techniques {
		tasks = append(tasks, func() map[string]any {
			out := map[string]any{"type": "technique_intel", "technique": id}
			if c.intel == nil {
				out["detail"] = "unavailable"
				return out
			}
			rec, ok, err := c.intel.TechniqueIntel(ctx, id)
			if err != nil || !ok {
				out["detail"] = "unavailable"
				return out
			}
			for k, v := range rec {
				if k != "type" && k != "technique" {
					out[k] = cloneAny(v)
				}
			}
			return out
		})
	}
	for _, v := range inv.CaseFacts.Entities {
		if !iocValues[v] {
			continue
		}
		tasks = append(tasks, func() map[string]any {
			out := map[string]any{"type": "entity_deep_context", "entity": v}
			if c.ueba == nil {
				out["detail"] = "unavailable"
				return out
			}
			rec, ok, err := c.ueba.DeepContext(ctx, inv.TenantID, v)
			if err != nil || !ok {
				out["detail"] = "unavailable"
				return out
			}
			for k, val := range rec {
				if k != "type" && k != "entity" {
					out[k] = cloneAny(val)
				}
			}
			return out
		})
	}
	if len(tasks) == 0 {
		return
	}
	results := make([]map[string]any, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = t()
		}()
	}
	wg.Wait()
	inv.CaseFacts.DeepContext = results
	inv.QueriesExecuted += len(tasks)
}
