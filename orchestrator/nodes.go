package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/taxonomy"
)

// MaxIOCs bounds the IOCs taken from one extraction answer, so a runaway
// model cannot turn one alert into thousands of cache lookups.
const MaxIOCs = 256

// IOC types the extractor accepts.
var iocTypes = map[string]bool{"ip": true, "hash": true, "domain": true, "url": true, "account": true}

const iocSystemPrompt = `You extract indicators of compromise for a security operations team.
Read the alert entities you are given and list every IP address, file hash (MD5, SHA-1 or SHA-256),
domain name, URL and user account that appears in them. Do not invent indicators.
Answer with JSON only, exactly in this shape:
{"iocs": [{"type": "ip|hash|domain|url|account", "value": "..."}]}`

// IOCExtractor asks a tier-0 model for the alert's IOCs and looks each up in
// the tenant's threat-intel cache. Safe for concurrent use.
type IOCExtractor struct {
	llm   LLM
	cache IOCCache
	log   *slog.Logger
}

var _ Node = (*IOCExtractor)(nil)

// NewIOCExtractor returns the extractor; llm is required, cache optional (no
// cache: no lookups).
func NewIOCExtractor(llm LLM, cache IOCCache, opts ...Option) (*IOCExtractor, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if llm == nil {
		return nil, &ConfigError{Option: "llm", Reason: "nil LLM"}
	}
	return &IOCExtractor{llm: llm, cache: cache, log: cfg.logger}, nil
}

// Execute calls the LLM once and fills IOCMatches. An LLM error is
// returned; a malformed answer yields no IOCs.
func (x *IOCExtractor) Execute(ctx context.Context, inv *Investigation) error {
	if inv == nil {
		return ErrNilInvestigation
	}
	content, err := entitiesJSON(inv)
	if err != nil {
		return err
	}
	resp, err := x.llm.Complete(ctx, LLMRequest{
		AgentID: AgentIOCExtractor, TaskType: TaskIOCExtraction, Tier: taxonomy.Tier0,
		SystemPrompt: iocSystemPrompt, UserContent: content, TenantID: inv.TenantID,
		InvestigationID: inv.InvestigationID, AlertID: inv.AlertID, Severity: inv.Severity,
	})
	if err != nil {
		return err
	}
	inv.LLMCalls++
	inv.TotalCostUSD += max(finite(resp.CostUSD), 0)
	iocs := ParseIOCs(resp.Content)
	for i := range iocs {
		if x.cache == nil {
			break
		}
		inv.QueriesExecuted++
		rec, ok, err := x.cache.GetIOC(ctx, inv.TenantID, iocs[i].Type, iocs[i].Value)
		if err != nil {
			x.log.Warn("orchestrator: IOC cache lookup failed; treated as a miss", "investigation_id", inv.InvestigationID, "error", err)
			continue
		}
		if ok {
			iocs[i].Intel = cloneAnyMap(rec)
		}
	}
	inv.IOCMatches = iocs
	return nil
}

// ParseIOCs reads an extraction answer: an object with an "iocs" array or a
// top-level array. Elements must be objects with a known string type (ip,
// hash, domain, url, account; case-insensitive) and a non-empty string
// value; others are dropped. Anything unreadable yields no IOCs.
func ParseIOCs(content string) []IOC {
	var raw []json.RawMessage
	var obj struct {
		IOCs []json.RawMessage `json:"iocs"`
	}
	trimmed := strings.TrimSpace(content)
	switch {
	case strings.HasPrefix(trimmed, "["):
		if json.Unmarshal([]byte(trimmed), &raw) != nil {
			return nil
		}
	case json.Unmarshal([]byte(trimmed), &obj) == nil:
		raw = obj.IOCs
	default:
		return nil
	}
	var out []IOC
	for _, r := range raw {
		var el map[string]any
		if json.Unmarshal(r, &el) != nil {
			continue
		}
		t, _ := el["type"].(string)
		v, _ := el["value"].(string)
		t = strings.ToLower(strings.TrimSpace(t))
		if !iocTypes[t] || strings.TrimSpace(v) == "" {
			continue
		}
		out = append(out, IOC{Type: t, Value: v})
		if len(out) == MaxIOCs {
			break
		}
	}
	return out
}

// entitiesJSON is what an LLM sees of the alert: entityparser's entity
// lists plus the alert-level techniques, tactics, description and the
// reasoner's merged ATT&CK ids (merged_attack_techniques; entityparser's own
// attack_techniques list is the extractor's) — never the embedding.
func entitiesJSON(inv *Investigation) (string, error) {
	b, err := json.Marshal(entitiesView(inv))
	return string(b), err
}

func entitiesView(inv *Investigation) map[string]any {
	raw, err := json.Marshal(inv.Entities)
	m := map[string]any{}
	if err == nil {
		_ = json.Unmarshal(raw, &m)
	}
	delete(m, "embedding")
	m["techniques"] = nonNil(inv.Techniques)
	m["merged_attack_techniques"] = nonNil(inv.AttackTechniques)
	m["tactics"] = nonNil(inv.Tactics)
	m["description"] = inv.Description
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CTEM staleness and SLA.
const (
	// ExposureStaleAfter: an exposure updated longer ago than this (or
	// never) is stale.
	ExposureStaleAfter = 24 * time.Hour
)

// SLADeadlineHours returns the remediation deadline of an exposure
// severity: CRITICAL 24, HIGH 72, MEDIUM 336, LOW and anything else 720.
func SLADeadlineHours(severity string) int {
	switch strings.ToUpper(strings.TrimSpace(severity)) {
	case "CRITICAL":
		return 24
	case "HIGH":
		return 72
	case "MEDIUM":
		return 336
	}
	return 720
}

// CTEMCorrelator attaches the open exposures of the alert's hosts and IPs.
// Safe for concurrent use.
type CTEMCorrelator struct {
	store ExposureStore
	now   func() time.Time
}

var _ Node = (*CTEMCorrelator)(nil)

// NewCTEMCorrelator returns the correlator; store is required.
func NewCTEMCorrelator(store ExposureStore, opts ...Option) (*CTEMCorrelator, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, &ConfigError{Option: "store", Reason: "nil exposure store"}
	}
	return &CTEMCorrelator{store: store, now: cfg.now}, nil
}

// Execute queries the store once per distinct host and IP of the alert and
// fills CTEMExposures. A store error is returned.
func (c *CTEMCorrelator) Execute(ctx context.Context, inv *Investigation) error {
	if inv == nil {
		return ErrNilInvestigation
	}
	var assets []string
	for _, list := range [][]entityparser.Entity{inv.Entities.Hosts, inv.Entities.IPs} {
		for _, e := range list {
			if e.PrimaryValue != "" && !contains(assets, e.PrimaryValue) {
				assets = append(assets, e.PrimaryValue)
			}
		}
	}
	if len(assets) == 0 {
		return nil
	}
	now := c.now()
	var out []Exposure
	for _, id := range assets {
		inv.QueriesExecuted++
		exps, err := c.store.OpenExposures(ctx, inv.TenantID, id)
		if err != nil {
			return err
		}
		for _, e := range exps {
			e.Stale = e.UpdatedAt.IsZero() || now.Sub(e.UpdatedAt) > ExposureStaleAfter
			e.SLADeadlineHours = SLADeadlineHours(e.Severity)
			out = append(out, e)
		}
	}
	inv.CTEMExposures = out
	return nil
}

// Semantic-search limits.
const (
	// ATLASSearchLimit is the number of semantic ATLAS hits asked for.
	ATLASSearchLimit = 5
	// SimilarIncidentLimit is the number of similar incidents kept.
	SimilarIncidentLimit = 5
)

// ATLASMapper maps the alert's ATT&CK techniques to ATLAS techniques
// (taxonomy) and, with an embedding, searches ATLAS semantically. Safe for
// concurrent use.
type ATLASMapper struct {
	tax    ATLASTaxonomy
	search TechniqueSearch
	log    *slog.Logger
}

var _ Node = (*ATLASMapper)(nil)

// NewATLASMapper returns the mapper; either store may be nil (that path is
// skipped), not both.
func NewATLASMapper(tax ATLASTaxonomy, search TechniqueSearch, opts ...Option) (*ATLASMapper, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if tax == nil && search == nil {
		return nil, &ConfigError{Option: "tax, search", Reason: "both nil"}
	}
	return &ATLASMapper{tax: tax, search: search, log: cfg.logger}, nil
}

// Execute fills ATLASTechniques: taxonomy entries (confidence 1.0) first,
// then semantic hits, one entry per ATLAS id (the highest confidence wins;
// ties keep the earlier). A taxonomy error is returned; a search error
// yields no semantic hits.
func (m *ATLASMapper) Execute(ctx context.Context, inv *Investigation) error {
	if inv == nil {
		return ErrNilInvestigation
	}
	var found []ATLASTechnique
	if m.tax != nil {
		for _, id := range inv.Techniques {
			if id == "" {
				continue
			}
			inv.QueriesExecuted++
			entries, err := m.tax.ATLASForAttack(ctx, id)
			if err != nil {
				return err
			}
			for _, e := range entries {
				found = append(found, ATLASTechnique{ATLASID: e.TechniqueID, ATLASName: e.Name, AttackID: id,
					Confidence: 1.0, Source: SourceTaxonomy, TelemetryTrustLevel: e.TelemetryTrustLevel,
					AttestationStatus: e.AttestationStatus})
			}
		}
	}
	if m.search != nil && len(inv.Embedding) > 0 {
		inv.QueriesExecuted++
		hits, err := m.search.SearchATLAS(ctx, inv.Embedding, ATLASSearchLimit)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.log.Warn("orchestrator: ATLAS semantic search failed", "investigation_id", inv.InvestigationID, "error", err)
			hits = nil
		}
		for _, h := range hits {
			found = append(found, ATLASTechnique{ATLASID: h.TechniqueID, ATLASName: h.Name, AttackID: h.RelatedAttackID,
				Confidence: finite(h.Score), Source: SourceSemanticSearch})
		}
	}
	inv.ATLASTechniques = MergeATLAS(found)
	if inv.ATLASTechniques == nil {
		inv.ATLASTechniques = []ATLASTechnique{}
	}
	return nil
}

// MergeATLAS keeps one entry per ATLAS id in first-appearance order: the
// entry with the strictly highest confidence (ties keep the earlier). Empty
// ids are dropped.
func MergeATLAS(in []ATLASTechnique) []ATLASTechnique {
	var out []ATLASTechnique
	idx := map[string]int{}
	for _, t := range in {
		if t.ATLASID == "" {
			continue
		}
		if i, ok := idx[t.ATLASID]; ok {
			if t.Confidence > out[i].Confidence {
				out[i] = t
			}
			continue
		}
		idx[t.ATLASID] = len(out)
		out = append(out, t)
	}
	return out
}

// errNoLLM is returned by StaticLLM for an agent it has no answer for.
var errNoLLM = errors.New("orchestrator: StaticLLM has no response for this agent")
