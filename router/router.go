package router

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Decision is the router's answer: which model serves the task and how.
type Decision struct {
	// ID is a random UUID v4, fresh for every Route call. Audit records of
	// the decision and of the call it leads to carry it as
	// routing_decision_id.
	ID string `json:"decision_id"`
	// Tier is the tier chosen by the rules; failover never changes it.
	Tier taxonomy.ModelTier `json:"tier"`
	// Model is the model to call: the tier's primary or a fallback.
	Model       ModelConfig `json:"model_config"`
	MaxTokens   int         `json:"max_tokens"`
	Temperature float64     `json:"temperature"`
	// UseExtendedThinking is on only for tier_1_plus on a model that supports
	// it, so a fallback that cannot honour it never gets asked for it.
	UseExtendedThinking bool `json:"use_extended_thinking"`
	UsePromptCaching    bool `json:"use_prompt_caching"`
	// Reason is the applied rule tags joined by "; ".
	Reason string `json:"reason"`
	// Fallbacks are the remaining usable fallbacks, in failover order.
	Fallbacks        []ModelConfig             `json:"fallback_configs"`
	DegradationLevel taxonomy.DegradationLevel `json:"degradation_level"`
	IsFallback       bool                      `json:"is_fallback"`
	// HealthProbe is true when this decision holds the single half-open probe
	// admission of Model.Provider: the caller must report the call's outcome
	// to the health registry, or release the probe if it does not call.
	HealthProbe bool `json:"health_probe"`
}

// NewDecision returns a decision with the field defaults: prompt caching on,
// extended thinking off, empty reason and fallbacks, full capability.
func NewDecision(tier taxonomy.ModelTier, model ModelConfig, maxTokens int, temperature float64) Decision {
	return Decision{
		Tier: tier, Model: model, MaxTokens: maxTokens, Temperature: temperature,
		UsePromptCaching: true, Fallbacks: []ModelConfig{},
		DegradationLevel: taxonomy.DegradationFullCapability,
	}
}

// FallbackModelIDs returns the model ids of d.Fallbacks, in order.
func (d Decision) FallbackModelIDs() []string {
	out := make([]string, len(d.Fallbacks))
	for i, m := range d.Fallbacks {
		out[i] = m.ModelID
	}
	return out
}

// MarshalJSON writes fallback_configs as [] rather than null when empty.
func (d Decision) MarshalJSON() ([]byte, error) {
	type plain Decision
	if d.Fallbacks == nil {
		d.Fallbacks = []ModelConfig{}
	}
	return json.Marshal(plain(d))
}

// SelectionRecorder receives each Route's provider selection. [*Metrics]
// implements it.
type SelectionRecorder interface {
	RecordProviderSelection(p Provider, t taxonomy.ModelTier, isFallback bool)
}

// tierIndex maps a tier to its slot in Router.tiers; -1 if unknown. A switch
// keeps Route free of allocations (taxonomy's Rank builds a slice).
func tierIndex(t taxonomy.ModelTier) int {
	switch t {
	case taxonomy.Tier0:
		return 0
	case taxonomy.Tier1:
		return 1
	case taxonomy.Tier1Plus:
		return 2
	case taxonomy.Tier2:
		return 3
	}
	return -1
}

type tierRoute struct {
	primary   ModelConfig
	fallbacks []ModelConfig
	params    TierParams
	// fallbackIDs is the boxed []string of all fallbacks' model ids, shared
	// (read-only) by the events of decisions that kept every fallback.
	fallbackIDs any
}

// auditSnapshotter is HealthRegistry's cached provider_health.
type auditSnapshotter interface{ auditSnapshot() audit.Fields }

// emptyStrings is the shared, read-only boxed empty list.
var emptyStrings any = []string{}

// Router picks the model tier, model and generation parameters for a task,
// fails over to a healthy fallback provider, and audits its decisions. It
// makes no network calls. A Router is immutable after New and safe for
// concurrent use.
type Router struct {
	tiers    [4]tierRoute
	catalog  Catalog
	health   HealthChecker
	snapshot HealthSnapshotter // health's optional extension, or nil
	cached   auditSnapshotter  // health's cached snapshot, or nil
	// boxed holds every catalogue and vocabulary string pre-converted to an
	// interface value, so building an audit event does not allocate for
	// them. Read-only after New.
	boxed      map[string]any
	recorder   SelectionRecorder
	escalation *EscalationManager
	emit       emitter
	logger     *slog.Logger
}

// New returns a router over the default catalogue, with no health checker
// (no failover), no selection recorder and no escalation budget. Options: the
// common ones, [WithCatalog], [WithHealth], [WithSelectionRecorder],
// [WithEscalationManager].
func New(opts ...Option) (*Router, error) {
	c, err := buildConfig(forRouter, opts)
	if err != nil {
		return nil, err
	}
	cat := DefaultCatalog()
	if c.catalog != nil {
		cat = *c.catalog
	}
	if err := cat.Validate(); err != nil {
		return nil, err
	}
	r := &Router{
		catalog: cat, health: c.health, recorder: c.recorder, escalation: c.escalation,
		emit: emitter{c.producer, c.logger}, logger: c.logger,
	}
	if s, ok := c.health.(HealthSnapshotter); ok {
		r.snapshot = s
	}
	if s, ok := c.health.(auditSnapshotter); ok {
		r.cached = s
	}
	r.boxed = map[string]any{}
	box := func(s string) { r.boxed[s] = s }
	defaults := DefaultTierParams()
	for _, t := range taxonomy.ModelTiers() {
		tr := &r.tiers[tierIndex(t)]
		tr.primary = cat.Models[t]
		tr.fallbacks = append([]ModelConfig(nil), cat.Fallbacks[t]...)
		p, ok := cat.TierParams[t]
		if !ok {
			p = defaults[t]
		}
		tr.params = p
		ids := make([]string, len(tr.fallbacks))
		for i, m := range tr.fallbacks {
			ids[i] = m.ModelID
			box(m.ModelID)
			box(string(m.Provider))
		}
		tr.fallbackIDs = ids
		box(tr.primary.ModelID)
		box(string(tr.primary.Provider))
		box(string(t))
	}
	for _, t := range KnownTaskTypes() {
		box(string(t))
	}
	for _, s := range []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational} {
		box(s)
	}
	for _, l := range taxonomy.DegradationLevels() {
		box(string(l))
	}
	return r, nil
}

// box returns s as an interface value, without allocating for known strings.
func (r *Router) box(s string) any {
	if v, ok := r.boxed[s]; ok {
		return v
	}
	return s
}

// Catalog returns a copy of the router's catalogue.
func (r *Router) Catalog() Catalog { return r.catalog.Clone() }

// Reason tags (U+2192 "→" as in the reference).
const (
	tagTimeBudget        = "time_budget<3s→tier_0"
	tagCriticalReasoning = "critical+reasoning→min_tier_1"
	tagLargeContext      = "context>100k→tier_1"
	tagEscalation        = "low_confidence_escalation→tier_1_plus"
	tagContextExceeds    = "context_exceeds_window"
	// tagRequestedEscalation: an escalation asked for by MinTier (with a
	// previous confidence) that the low-confidence rule alone would not
	// have made.
	tagRequestedEscalation = "requested_escalation→tier_1_plus"
	// tagEscalationRefused: the escalation manager refused an escalation
	// asked for by MinTier, so the floor was dropped.
	tagEscalationRefused = "requested_escalation_refused"
	// tagMinTier prefixes the floor that raised the tier.
	tagMinTier = "requested_min_tier→"
)

// tags collects reason tags without allocating; arg completes the
// parameterised tags (base=, fallback(...), degradation=).
type tags struct {
	n    int
	list [8]struct{ prefix, arg, suffix string }
}

func (t *tags) add(prefix, arg, suffix string) {
	if t.n < len(t.list) {
		t.list[t.n] = struct{ prefix, arg, suffix string }{prefix, arg, suffix}
		t.n++
	}
}

func (t *tags) render(i int) string { e := t.list[i]; return e.prefix + e.arg + e.suffix }

func (t *tags) join() string {
	size := 0
	for i := range t.n {
		e := t.list[i]
		size += len(e.prefix) + len(e.arg) + len(e.suffix) + 2
	}
	var b strings.Builder
	b.Grow(size)
	for i := range t.n {
		if i > 0 {
			b.WriteString("; ")
		}
		e := t.list[i]
		b.WriteString(e.prefix)
		b.WriteString(e.arg)
		b.WriteString(e.suffix)
	}
	return b.String()
}

// Route decides which model serves tc. It returns an error only for an
// invalid task context (*InvalidTaskContextError); it never blocks and never
// calls a provider. See the package documentation for the rules.
func (r *Router) Route(ctx context.Context, tc TaskContext) (Decision, error) {
	tc, err := tc.Normalized()
	if err != nil {
		return Decision{}, err
	}
	var tg tags

	// 1. Base tier.
	info, known := taskTable[tc.TaskType]
	base := taxonomy.Tier1
	if known {
		base = info.tier
	}
	tier := base
	tg.add("base=", string(base), "")

	// 2./3. Time budget, else critical+reasoning lifts to at least tier_1.
	if tc.TimeBudgetSeconds < MinTimeBudgetSeconds {
		tier = taxonomy.Tier0
		tg.add(tagTimeBudget, "", "")
	} else if tc.AlertSeverity == SeverityCritical && tc.RequiresReasoning {
		tier = MoreCapable(tier, taxonomy.Tier1)
		if tier != base {
			tg.add(tagCriticalReasoning, "", "")
		}
	}

	// 4. Large context lifts tier_0 to tier_1 (even after step 2).
	if tc.ContextTokens > LargeContextTokens && tier == taxonomy.Tier0 {
		tier = taxonomy.Tier1
		tg.add(tagLargeContext, "", "")
	}

	// 5. Escalation overrides steps 2-4. It is asked for by the
	// low-confidence rule, or by a caller sending a previous confidence with
	// a floor at the escalation tier (whose own policy, e.g. another
	// threshold, already decided). Either way the manager admits and counts
	// it here, once: this is the only place an escalation is counted.
	floor := tc.MinTier
	if p := tc.PreviousConfidence; p != nil {
		byRule := *p < EscalationConfidenceThreshold &&
			(tc.AlertSeverity == SeverityCritical || tc.AlertSeverity == SeverityHigh)
		byFloor := floor != "" && CapabilityRank(floor) >= CapabilityRank(taxonomy.Tier1Plus)
		if byRule || byFloor {
			admitted := r.escalation == nil || r.escalation.tryEscalate(*p, tc.AlertSeverity)
			switch {
			case admitted && byRule:
				tier = taxonomy.Tier1Plus
				tg.add(tagEscalation, "", "")
			case admitted:
				tier = taxonomy.Tier1Plus
				tg.add(tagRequestedEscalation, "", "")
			case byFloor:
				// The budget (or the policy) said no: the floor must not
				// route around it.
				floor = ""
				tg.add(tagEscalationRefused, "", "")
			}
		}
	}

	// 5b. The caller's floor, by capability.
	if floor != "" {
		if raised := MoreCapable(tier, floor); raised != tier {
			tier = raised
			tg.add(tagMinTier, string(floor), "")
		}
	}

	// 6. Primary and parameters.
	tr := &r.tiers[tierIndex(tier)]
	d := Decision{
		Tier: tier, Model: tr.primary, MaxTokens: tr.params.MaxTokens, Temperature: tr.params.Temperature,
		DegradationLevel: taxonomy.DegradationFullCapability,
	}

	// 7. Capability check (log only).
	if known && !tr.primary.Satisfies(info.caps) && r.logger.Enabled(ctx, slog.LevelWarn) {
		r.logger.WarnContext(ctx, "router: primary model does not satisfy the task's capabilities",
			"model", tr.primary.ModelID, "task_type", string(tc.TaskType))
	}

	// 8. Usable fallbacks: capability match (known tasks) and a context
	// window that holds the prompt.
	d.Fallbacks = make([]ModelConfig, 0, len(tr.fallbacks))
	for _, fb := range tr.fallbacks {
		if (!known || fb.Satisfies(info.caps)) && fb.MaxContextTokens >= tc.ContextTokens {
			d.Fallbacks = append(d.Fallbacks, fb)
		}
	}

	// 9. Failover: the primary is unusable when its window cannot hold the
	// prompt, or (with a health checker) when its provider is not admitted.
	primaryFits := tc.ContextTokens <= tr.primary.MaxContextTokens
	primaryOK := primaryFits
	if primaryFits && r.health != nil {
		primaryOK, d.HealthProbe = r.health.Allow(tr.primary.Provider)
	}
	var fo *failover
	if !primaryOK {
		chosen := -1
		var skipped []string
		for i, fb := range d.Fallbacks {
			ok, probe := true, false
			if r.health != nil {
				ok, probe = r.health.Allow(fb.Provider)
			}
			if ok {
				chosen, d.HealthProbe = i, probe
				break
			}
			if r.emit.enabled() {
				skipped = append(skipped, fb.ModelID)
			}
		}
		if chosen >= 0 {
			d.Model, d.IsFallback = d.Fallbacks[chosen], true
			d.Fallbacks = append(d.Fallbacks[:chosen], d.Fallbacks[chosen+1:]...)
		}
		switch {
		case !primaryFits && chosen >= 0:
			tg.add("context>window→fallback(", string(d.Model.Provider), ")")
		case !primaryFits:
			tg.add(tagContextExceeds, "", "")
			r.logger.WarnContext(ctx, "router: no model of the tier has a context window for the prompt",
				"tier", string(tier), "context_tokens", tc.ContextTokens, "model", tr.primary.ModelID)
		case chosen >= 0:
			tg.add("primary_unavailable→fallback(", string(d.Model.Provider), ")")
		default:
			r.logger.WarnContext(ctx, "router: primary provider unavailable and no healthy fallback",
				"provider", string(tr.primary.Provider), "tier", string(tier))
		}
		if primaryFits {
			fo = &failover{primary: tr.primary, chosen: chosen >= 0, skipped: skipped}
		}
	}

	// 10. Selection metrics.
	if r.recorder != nil {
		r.recorder.RecordProviderSelection(d.Model.Provider, tier, d.IsFallback)
	}

	// 11. Degradation and model-dependent flags.
	if r.health != nil {
		d.DegradationLevel = r.health.DegradationLevel()
		if d.DegradationLevel != taxonomy.DegradationFullCapability {
			tg.add("degradation=", string(d.DegradationLevel), "")
		}
	}
	d.UseExtendedThinking = tier == taxonomy.Tier1Plus && d.Model.SupportsExtendedThinking
	d.UsePromptCaching = d.Model.SupportsPromptCaching

	// 12. Reason, id, audit.
	d.Reason = tg.join()
	d.ID = newDecisionID()
	if r.emit.enabled() {
		r.audit(&tc, &d, &tg, fo)
	}
	return d, nil
}

// failover describes step 9 for its audit record.
type failover struct {
	primary ModelConfig
	chosen  bool
	skipped []string // model ids of usable fallbacks whose provider was down
}

func tenantOrUnknown(id string) string {
	if id == "" {
		return UnknownTenantID
	}
	return id
}

func (r *Router) audit(tc *TaskContext, d *Decision, tg *tags, fo *failover) {
	var health any
	switch {
	case r.cached != nil:
		health = r.cached.auditSnapshot()
	case r.snapshot != nil:
		health = stateMap(r.snapshot.Snapshot())
	}
	tenant := tenantOrUnknown(tc.TenantID)
	id := any(d.ID)
	if fo != nil {
		ev := audit.Event{
			TenantID: tenant, Type: taxonomy.RoutingProviderFailover, Severity: taxonomy.SeverityWarning,
			ActorType: taxonomy.ActorSystem, ActorID: ActorID,
			InvestigationID: tc.InvestigationID, AlertID: tc.AlertID,
		}
		fbProvider, fbModel := "", ""
		summary := "primary provider " + string(fo.primary.Provider) + " unavailable; no healthy fallback"
		if fo.chosen {
			fbProvider, fbModel = string(d.Model.Provider), d.Model.ModelID
			summary = "primary provider " + string(fo.primary.Provider) + " unavailable; using " + fbProvider + "/" + fbModel
		}
		m := failoverPool.Get().(*eventMaps)
		defer m.release(&failoverPool)
		ev.Context, ev.Decision, ev.Outcome = m.ctx, m.dec, m.out
		ev.Context["primary_provider"] = r.box(string(fo.primary.Provider))
		ev.Context["fallback_provider"] = r.box(fbProvider)
		ev.Context["task_type"] = r.box(string(tc.TaskType))
		ev.Context["primary_model_id"] = r.box(fo.primary.ModelID)
		ev.Context["fallback_model_id"] = r.box(fbModel)
		ev.Context[audit.KeyLLMModelTier] = r.box(string(d.Tier))
		ev.Context[KeyRoutingDecisionID] = id
		ev.Context[audit.KeyDegradationLevel] = r.box(string(d.DegradationLevel))
		if health != nil {
			ev.Context[audit.KeyProviderHealth] = health
		}
		skipped := emptyStrings
		if fo.skipped != nil {
			skipped = fo.skipped
		}
		ev.Decision[audit.KeyDecisionType] = string(taxonomy.DecisionFailover)
		ev.Decision[audit.KeyReasoningSummary] = summary
		ev.Decision[audit.KeyAlternativesConsidered] = skipped
		if fo.chosen {
			ev.Outcome[audit.KeyOutcomeStatus] = string(taxonomy.OutcomeSuccess)
		} else {
			ev.Outcome[audit.KeyOutcomeStatus] = string(taxonomy.OutcomeFailed)
			ev.Outcome[audit.KeyErrorDetails] = "no healthy fallback for tier " + string(d.Tier)
		}
		r.emit.emit(ev)
	}

	ev := audit.Event{
		TenantID: tenant, Type: taxonomy.RoutingTierSelected, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorSystem, ActorID: ActorID,
		InvestigationID: tc.InvestigationID, AlertID: tc.AlertID,
	}
	m := tierSelectedPool.Get().(*eventMaps)
	defer m.release(&tierSelectedPool)
	ev.Context, ev.Decision, ev.Outcome = m.ctx, m.dec, m.out
	ev.Context[KeyRoutingDecisionID] = id
	ev.Context["task_type"] = r.box(string(tc.TaskType))
	ev.Context[audit.KeyLLMProvider] = r.box(string(d.Model.Provider))
	ev.Context[audit.KeyLLMModelID] = r.box(d.Model.ModelID)
	ev.Context[audit.KeyLLMModelTier] = r.box(string(d.Tier))
	ev.Context["context_tokens"] = tc.ContextTokens
	ev.Context["time_budget_seconds"] = tc.TimeBudgetSeconds
	ev.Context["alert_severity"] = r.box(tc.AlertSeverity)
	ev.Context["requires_reasoning"] = tc.RequiresReasoning
	ev.Context["is_fallback"] = d.IsFallback
	ev.Context[audit.KeyDegradationLevel] = r.box(string(d.DegradationLevel))
	if tc.PreviousConfidence != nil {
		ev.Context["previous_confidence"] = *tc.PreviousConfidence
	}
	if tc.MinTier != "" {
		ev.Context[KeyRequestedMinTier] = r.box(string(tc.MinTier))
	}
	if health != nil {
		ev.Context[audit.KeyProviderHealth] = health
	}
	constraints := emptyStrings
	if tg.n > 1 {
		list := make([]string, 0, tg.n-1)
		for i := 1; i < tg.n; i++ {
			list = append(list, tg.render(i))
		}
		constraints = list
	}
	var alternatives any
	if tr := &r.tiers[tierIndex(d.Tier)]; !d.IsFallback && len(d.Fallbacks) == len(tr.fallbacks) {
		alternatives = tr.fallbackIDs // nothing was filtered out or taken
	} else {
		alternatives = d.FallbackModelIDs()
	}
	ev.Decision[audit.KeyDecisionType] = string(taxonomy.DecisionRoute)
	ev.Decision[audit.KeyReasoningSummary] = d.Reason
	ev.Decision[audit.KeyConstraintsApplied] = constraints
	ev.Decision[audit.KeyAlternativesConsidered] = alternatives
	ev.Outcome[audit.KeyOutcomeStatus] = string(taxonomy.OutcomeSuccess)
	r.emit.emit(ev)
}

// eventMaps are the reusable maps of one routing event. Routing events are
// built on every Route, so their maps come from a pool: audit.Producer.Emit
// snapshots the maps before it returns (see audit.Fields), after which they
// are cleared and reused.
type eventMaps struct{ ctx, dec, out audit.Fields }

var (
	tierSelectedPool = sync.Pool{New: func() any {
		return &eventMaps{ctx: make(audit.Fields, 16), dec: make(audit.Fields, 4), out: make(audit.Fields, 1)}
	}}
	failoverPool = sync.Pool{New: func() any {
		return &eventMaps{ctx: make(audit.Fields, 12), dec: make(audit.Fields, 4), out: make(audit.Fields, 2)}
	}}
)

func (m *eventMaps) release(pool *sync.Pool) {
	clear(m.ctx)
	clear(m.dec)
	clear(m.out)
	pool.Put(m)
}
