// Package llmgateway adapts the orchestrator's LLM port to Warden's gateway
// and router: every model call of an investigation goes through
// gateway.Complete (injection screening, PII redaction, routing, spend
// guard, output validation, audit) with the routing context the router
// needs.
//
// # Escalation
//
// The reasoner escalates a weak verdict on a severe alert to a stronger
// model. The adapter sends that request with the alert severity, the
// previous confidence and the requested tier as the router's minimum tier
// (router.TaskContext.MinTier), so the escalation reaches tier_1_plus
// whatever threshold the escalation policy uses — not only when the
// router's own rule (below 0.6 on a critical or high alert) would have
// escalated. Each escalation is counted once, in one place: the router's
// EscalationManager, when it routes the escalated request (it checks the
// policy and the budget and records in one step; if the budget was spent
// meanwhile the floor is dropped and the call is served at the rules'
// tier, which the adapter logs). The orchestrator-side Escalator this
// package provides ([Adapter.Escalator]) only asks the same manager whether
// to escalate; its RecordEscalation records nothing. Give the router and
// the adapter the same manager.
//
// # Degradation
//
// [Degradation] turns the router's HealthRegistry into the orchestrator's
// DegradationSource.
package llmgateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/router"
	"github.com/socwarden/warden/taxonomy"
)

// ErrQuarantined: the gateway quarantined the prompt (injection); no model
// was called. The orchestrator records the node failure, so the
// investigation fails visibly instead of being classified from nothing.
var ErrQuarantined = errors.New("llmgateway: prompt quarantined by the gateway")

// ErrNilGateway: New without a gateway.
var ErrNilGateway = errors.New("llmgateway: nil gateway")

// Completer is the gateway call the adapter makes; *gateway.Gateway
// implements it.
type Completer interface {
	Complete(ctx context.Context, req gateway.Request) (*gateway.Response, error)
}

var _ Completer = (*gateway.Gateway)(nil)

// Option configures New.
type Option func(*config)

type config struct {
	logger     *slog.Logger
	escalation *router.EscalationManager
	catalog    *router.Catalog
}

// WithLogger sets the logger. The default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithEscalationManager sets the escalation budget shared with the router
// (router.WithEscalationManager). The default is none: Escalator then never
// escalates.
func WithEscalationManager(m *router.EscalationManager) Option {
	return func(c *config) { c.escalation = m }
}

// WithCatalog sets the model catalogue used to report which tier served a
// call. This overrides the default of router.DefaultCatalog().
func WithCatalog(cat router.Catalog) Option { return func(c *config) { c.catalog = &cat } }

// Adapter is the orchestrator's LLM port over a gateway. Safe for
// concurrent use.
type Adapter struct {
	gw         Completer
	log        *slog.Logger
	escalation *router.EscalationManager
	tierOf     map[string]taxonomy.ModelTier // model id → tier; read-only
}

var _ orchestrator.LLM = (*Adapter)(nil)

// New returns an adapter over gw (normally a *gateway.Gateway built with
// gateway.WithRouter).
func New(gw Completer, opts ...Option) (*Adapter, error) {
	if gw == nil {
		return nil, ErrNilGateway
	}
	c := config{}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	cat := router.DefaultCatalog()
	if c.catalog != nil {
		cat = *c.catalog
	}
	tiers := map[string]taxonomy.ModelTier{}
	// Batch (tier_2) models are not mapped: they also serve interactive
	// tiers, whose meaning wins.
	for _, t := range []taxonomy.ModelTier{taxonomy.Tier1Plus, taxonomy.Tier1, taxonomy.Tier0} {
		if m, ok := cat.Models[t]; ok && m.ModelID != "" {
			tiers[m.ModelID] = t
		}
		for _, fb := range cat.Fallbacks[t] {
			if _, seen := tiers[fb.ModelID]; !seen && fb.ModelID != "" {
				tiers[fb.ModelID] = t
			}
		}
	}
	return &Adapter{gw: gw, log: c.logger, escalation: c.escalation, tierOf: tiers}, nil
}

// routerSeverity maps the investigation's severity onto the router's five;
// anything else is sent empty (medium), so an odd SIEM severity never fails
// routing.
func routerSeverity(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case router.SeverityCritical, router.SeverityHigh, router.SeverityMedium, router.SeverityLow, router.SeverityInformational:
		return s
	}
	return ""
}

// Request is the gateway request for an orchestrator request: the routing
// context carries the task type, the alert severity, whether the task needs
// reasoning and — for an escalation — the previous confidence and the
// requested tier as the minimum tier.
func Request(req orchestrator.LLMRequest) gateway.Request {
	tc := &router.TaskContext{
		TaskType: router.TaskType(req.TaskType), AlertSeverity: routerSeverity(req.Severity),
		RequiresReasoning: req.TaskType == orchestrator.TaskInvestigation,
		TenantID:          req.TenantID, InvestigationID: req.InvestigationID, AlertID: req.AlertID,
	}
	if p := req.PreviousConfidence; p != nil {
		v := *p
		tc.PreviousConfidence = &v
		tc.MinTier = escalationFloor(req.Tier)
	}
	return gateway.Request{
		AgentID: req.AgentID, TaskType: req.TaskType, SystemPrompt: req.SystemPrompt, UserContent: req.UserContent,
		TenantID: req.TenantID, Tier: req.Tier, InvestigationID: req.InvestigationID, AlertID: req.AlertID,
		Routing: tc,
	}
}

// escalationFloor is the minimum tier of an escalated request: the tier the
// node asked for (tier_1_plus when it named none). A tier that is no step
// up in capability (tier_0, batch) or unknown sets no floor, so an odd tier
// never fails routing; the router's own escalation rule still applies.
func escalationFloor(t taxonomy.ModelTier) taxonomy.ModelTier {
	if t == "" {
		return taxonomy.Tier1Plus
	}
	parsed, err := taxonomy.ParseModelTier(string(t))
	if err != nil || router.CapabilityRank(parsed) <= router.CapabilityRank(taxonomy.Tier0) {
		return ""
	}
	return parsed
}

// Complete sends req through the gateway. A quarantined prompt is
// ErrQuarantined; gateway errors are returned wrapped.
func (a *Adapter) Complete(ctx context.Context, req orchestrator.LLMRequest) (orchestrator.LLMResponse, error) {
	resp, err := a.gw.Complete(ctx, Request(req))
	if err != nil {
		return orchestrator.LLMResponse{}, fmt.Errorf("llmgateway: %s: %w", req.AgentID, err)
	}
	if resp == nil {
		return orchestrator.LLMResponse{}, fmt.Errorf("llmgateway: %s: gateway returned no response", req.AgentID)
	}
	if resp.Metrics == nil && resp.ModelID == "" {
		return orchestrator.LLMResponse{}, fmt.Errorf("%w (%s)", ErrQuarantined, strings.Join(resp.InjectionDetections, ", "))
	}
	out := orchestrator.LLMResponse{Content: resp.Content, ModelID: resp.ModelID, Tier: a.tierOf[resp.ModelID]}
	if resp.Metrics != nil {
		out.CostUSD = resp.Metrics.CostUSD
		if out.ModelID == "" {
			out.ModelID = resp.Metrics.ModelID
			out.Tier = a.tierOf[out.ModelID]
		}
	}
	if req.PreviousConfidence != nil && out.Tier != "" && out.Tier.Rank() < req.Tier.Rank() {
		a.log.WarnContext(ctx, "llmgateway: escalated call served below the requested tier",
			"investigation_id", req.InvestigationID, "requested", string(req.Tier), "served", string(out.Tier))
	}
	return out, nil
}

// Escalator is the reasoner's escalation policy backed by the shared
// EscalationManager: ShouldEscalate asks it (recording nothing);
// RecordEscalation is a no-op because the router records the escalation
// when it routes the escalated request. Without a manager it never
// escalates.
func (a *Adapter) Escalator() orchestrator.Escalator { return escalator{m: a.escalation} }

type escalator struct{ m *router.EscalationManager }

func (e escalator) ShouldEscalate(confidence float64, severity string) bool {
	return e.m != nil && e.m.ShouldEscalate(confidence, severity)
}

// RecordEscalation records nothing: the count lives in the router.
func (escalator) RecordEscalation() {}

// LevelReader is what Degradation reads; *router.HealthRegistry implements
// it.
type LevelReader interface {
	DegradationLevel() taxonomy.DegradationLevel
}

var _ LevelReader = (*router.HealthRegistry)(nil)

// Degradation is the orchestrator's DegradationSource over the router's
// process-wide level (the same for every tenant).
func Degradation(h LevelReader) orchestrator.DegradationSource {
	return orchestrator.DegradationFunc(func(context.Context, string) (taxonomy.DegradationLevel, error) {
		if h == nil {
			return "", errors.New("llmgateway: no health registry")
		}
		return h.DegradationLevel(), nil
	})
}
