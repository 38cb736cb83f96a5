package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/ctem"
	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/orchestrator/autonomy"
	"github.com/socwarden/warden/orchestrator/llmgateway"
	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/router"
	"github.com/socwarden/warden/taxonomy"
)

// Tenants of the story. globex is on a trial plan with a tiny monthly LLM
// budget, so its calls hit the spend guard's hard cap.
const (
	TenantAcme   = "acme-corp"
	TenantGlobex = "globex"
)

// The story's LLM budget and breaker: a global soft alert low enough that
// the demo's few cents cross it, globex's hard cap, and a breaker that opens
// after two consecutive provider failures (the gateway makes three attempts
// per call) and probes again 30 s later.
const (
	demoSoftLimitUSD   = 0.02
	demoGlobexCapUSD   = 0.001
	demoFailureTrigger = 2
	demoRecovery       = 30 * time.Second
)

// Services are the pipeline's Warden services, built once over one audit
// Producer and one clock and shared by every alert: parser, orchestrator
// (with its LLM through gateway and router), response, CTEM, FP patterns.
// All of them are safe for concurrent use, so a host (examples/httphost)
// serves concurrent requests with one Services.
type Services struct {
	Clock      *Clock
	Parser     *entityparser.Parser
	Graph      *orchestrator.Graph
	Repo       *orchestrator.MemoryRepository
	Responder  *response.Responder
	Executor   *response.DryRunExecutor
	CTEM       *ctem.Service
	Health     *router.HealthRegistry
	Router     *router.Router
	Spend      *router.SpendGuard
	Gateway    *gateway.Gateway
	Shadow     *orchestrator.ShadowMode
	Patterns   *autonomy.MemoryFPPatterns
	Governance *autonomy.Governance

	cfg    Config
	logger *slog.Logger
	// outage is the primary provider's client in offline mode (nil with a
	// real provider): the story arms it to simulate an outage.
	outage     *outageClient
	escalation *router.EscalationManager
	llm        *llmgateway.Adapter
}

// NewServices builds the services from cfg.
func NewServices(cfg Config) (*Services, error) {
	s := &Services{cfg: cfg, Clock: cfg.Clock, logger: cfg.Logger}
	if s.Clock == nil {
		start := cfg.Start
		if start.IsZero() {
			start = DefaultStart
		}
		s.Clock = NewClock(start)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	for _, build := range []func() error{s.buildLLM, s.buildResponse, s.buildCTEM, s.buildParser, s.buildOrchestrator} {
		if err := build(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// producer is what a service gets: the configured Producer stamped with the
// service's name, or nil.
func (s *Services) producer(service string) audit.Producer {
	return ForService(s.cfg.Producer, service)
}

func (s *Services) buildLLM() error {
	common := []router.Option{router.WithAuditProducer(s.producer("router")), router.WithClock(s.Clock.Now), router.WithLogger(s.logger)}
	var err error
	if s.Health, err = router.NewHealthRegistry(append(common,
		router.WithBreakerConfig(router.BreakerConfig{FailureThreshold: demoFailureTrigger, RecoveryTimeout: demoRecovery}))...); err != nil {
		return err
	}
	cat, err := catalogFor(s.cfg.LLM)
	if err != nil {
		return err
	}
	// One escalation budget, shared by the router (which records each
	// escalation when it routes it) and the reasoner (which asks it).
	if s.escalation, err = router.NewEscalationManager(router.DefaultEscalationPolicy(), router.WithClock(s.Clock.Now)); err != nil {
		return err
	}
	if s.Router, err = router.New(append(common, router.WithHealth(s.Health), router.WithCatalog(cat),
		router.WithEscalationManager(s.escalation))...); err != nil {
		return err
	}
	if s.Spend, err = router.NewSpendGuard(append(common, router.WithMonthlySoftLimit(demoSoftLimitUSD),
		router.WithTenantLimits(map[string]router.TenantLimit{TenantGlobex: {HardCapUSD: demoGlobexCapUSD}}))...); err != nil {
		return err
	}
	clients, err := llmClients(s.cfg.LLM, s.cfg.Getenv)
	if err != nil {
		return err
	}
	for i, c := range clients {
		if c.Provider() == router.ProviderAnthropic && (s.cfg.LLM == "" || s.cfg.LLM == LLMOffline) {
			s.outage = &outageClient{next: c}
			clients[i] = s.outage
		}
	}
	opts := []gateway.Option{gateway.WithAuditProducer(s.producer("gateway")), gateway.WithClock(s.Clock.Now),
		gateway.WithLogger(s.logger), gateway.WithRouter(s.Router), gateway.WithSpendGuard(s.Spend),
		gateway.WithHealthReporter(s.Health)}
	if s.Clock.Frozen() {
		// Retry backoff passes on the injected clock: nothing sleeps.
		opts = append(opts, gateway.WithSleeper(clockSleeper(s.Clock)))
	}
	for _, c := range clients[1:] {
		opts = append(opts, gateway.WithClient(c))
	}
	if s.Gateway, err = gateway.New(clients[0], opts...); err != nil {
		return err
	}
	s.llm, err = llmgateway.New(s.Gateway, llmgateway.WithCatalog(cat), llmgateway.WithEscalationManager(s.escalation),
		llmgateway.WithLogger(s.logger))
	return err
}

// catalogFor returns the router's model catalogue for a provider mode.
// Offline keeps the default (anthropic primary, openai fallbacks; the
// offline provider answers both); anthropic keeps its models without the
// openai fallbacks (there is no openai client); openai maps every tier onto
// OpenAI models, with no fallback.
func catalogFor(mode string) (router.Catalog, error) {
	cat := router.DefaultCatalog()
	switch mode {
	case "", LLMOffline:
		return cat, nil
	case LLMAnthropic:
		cat.Fallbacks = map[taxonomy.ModelTier][]router.ModelConfig{}
		return cat, cat.Validate()
	case LLMOpenAI:
		mini := router.NewModelConfig(router.ProviderOpenAI, router.ModelGPT4oMini, 128000, 0.15, 0.60)
		full := router.NewModelConfig(router.ProviderOpenAI, router.ModelGPT4o, 128000, 2.50, 10.00)
		cat.Models = map[taxonomy.ModelTier]router.ModelConfig{taxonomy.Tier0: mini, taxonomy.Tier1: full,
			taxonomy.Tier1Plus: full, taxonomy.Tier2: mini}
		cat.Fallbacks = map[taxonomy.ModelTier][]router.ModelConfig{}
		return cat, cat.Validate()
	}
	return cat, fmt.Errorf("pipeline: unknown LLM provider %q", mode)
}

func (s *Services) buildResponse() error {
	s.Executor = response.NewDryRunExecutor()
	reviewer := s.cfg.Reviewer
	if reviewer == nil {
		reviewer = ScriptedReviewer{Approver: ScriptedApprover, Role: ScriptedRole, Verdicts: storyVerdicts}
	}
	var err error
	s.Responder, err = response.New(s.Executor,
		response.WithAuditProducer(s.producer("response")),
		response.WithClock(s.Clock.Now),
		response.WithLogger(s.logger),
		response.WithIDGenerator(seqIDs("apv", s.cfg.RunID)),
		response.WithApprover(ApprovalPolicy(reviewer)),
		response.WithConstraints(response.Constraints{AllowedPlaybooks: []string{"PB-RANSOMWARE-CONTAIN"}}),
		response.WithZoneResolver(assetInventory),
	)
	return err
}

func (s *Services) buildCTEM() error {
	opts := []ctem.Option{ctem.WithAuditProducer(s.producer("ctem")), ctem.WithClock(s.Clock.Now),
		ctem.WithLogger(s.logger), ctem.WithOwnerResolver(ctemOwners), ctem.WithDefaultTenant(TenantAcme)}
	if s.cfg.Publisher != nil {
		opts = append(opts, ctem.WithPublisher(s.cfg.Publisher))
	}
	var err error
	s.CTEM, err = ctem.New(opts...)
	return err
}

func (s *Services) buildParser() error {
	var err error
	s.Parser, err = entityparser.New(entityparser.WithAuditProducer(s.producer("entityparser")),
		entityparser.WithClock(s.Clock.Now), entityparser.WithLogger(s.logger))
	return err
}

func (s *Services) buildOrchestrator() error {
	prod := s.producer("orchestrator")
	common := []orchestrator.Option{orchestrator.WithAuditProducer(prod), orchestrator.WithClock(s.Clock.Now),
		orchestrator.WithLogger(s.logger)}
	llm := s.llm
	intel := threatIntel()
	ioc, err := orchestrator.NewIOCExtractor(llm, intel, common...)
	if err != nil {
		return err
	}
	enrich, err := orchestrator.NewContextEnricher(intel, behaviour(), orchestrator.NewMemoryIncidents(), common...)
	if err != nil {
		return err
	}
	corr, err := orchestrator.NewCTEMCorrelator(ctemExposures{s.CTEM}, common...)
	if err != nil {
		return err
	}
	reasoner, err := orchestrator.NewReasoner(llm, append(common, orchestrator.WithEscalator(llm.Escalator()))...)
	if err != nil {
		return err
	}
	adapter, err := orchestrator.NewResponseAdapter(s.Responder)
	if err != nil {
		return err
	}
	s.Patterns = autonomy.NewMemoryFPPatterns()
	fp, err := autonomy.NewFPShortCircuit(s.Patterns, autonomy.WithClock(s.Clock.Now), autonomy.WithLogger(s.logger))
	if err != nil {
		return err
	}
	if s.Shadow, err = orchestrator.NewShadowMode(orchestrator.NewMemoryTenantConfigs(), orchestrator.NewMemoryShadowLog(), common...); err != nil {
		return err
	}
	s.Repo = orchestrator.NewMemoryRepository()
	s.Graph, err = orchestrator.New(s.Repo, orchestrator.Agents{IOCExtractor: ioc, ContextEnricher: enrich,
		CTEMCorrelator: corr, Reasoner: reasoner, Responder: adapter},
		append(common, orchestrator.WithIDGenerator(seqIDs("inv", s.cfg.RunID)), orchestrator.WithFPShortCircuit(fp),
			orchestrator.WithShadowMode(s.Shadow), orchestrator.WithApprovalGate(adapter), orchestrator.WithActionPolicy(adapter),
			orchestrator.WithDegradation(llmgateway.Degradation(s.Health)))...)
	if err != nil {
		return err
	}
	s.Governance, err = autonomy.NewGovernance(s.Patterns, s.Repo, s.Graph, autonomy.WithAuditProducer(s.producer("autonomy")),
		autonomy.WithClock(s.Clock.Now), autonomy.WithLogger(s.logger))
	return err
}

// ErrDropped is returned by Ingest for a heartbeat or health-check event,
// which the source normaliser drops.
var ErrDropped = errors.New("pipeline: event dropped by its source normaliser (heartbeat or health check)")

// Ingest takes one raw SIEM event through the pipeline: Prepare, then
// Investigate. It returns the investigation as it stands: closed, or
// awaiting a human.
func (s *Services) Ingest(ctx context.Context, source string, raw []byte) (*orchestrator.Investigation, error) {
	a, err := s.Prepare(ctx, source, raw)
	if err != nil {
		return nil, err
	}
	return s.Investigate(ctx, a)
}

// Prepare normalises one raw event of source (sentinel, elastic, splunk,
// crowdstrike, defender), validates it, extracts its entities and scans it
// for prompt injection (entityparser, which emits alert.classified and
// injection.detected). Errors wrap entityparser.ErrUnknownSource or
// entityparser.ErrInvalidAlert, or are ErrDropped.
func (s *Services) Prepare(ctx context.Context, source string, raw []byte) (orchestrator.Alert, error) {
	a, ok, err := s.Parser.Normalize(source, raw)
	if err != nil {
		return orchestrator.Alert{}, err
	}
	if !ok {
		return orchestrator.Alert{}, ErrDropped
	}
	msg, err := json.Marshal(a)
	if err != nil {
		return orchestrator.Alert{}, err
	}
	res, err := s.Parser.Process(ctx, msg)
	if err != nil {
		return orchestrator.Alert{}, err
	}
	return orchestrator.Alert{CanonicalAlert: res.Alert, Entities: res.Entities}, nil
}

// Investigate runs a prepared alert through the orchestrator: FP
// short-circuit, enrichment, reasoning (gateway + router), the approval
// gate and response.
func (s *Services) Investigate(ctx context.Context, a orchestrator.Alert) (*orchestrator.Investigation, error) {
	return s.Graph.Run(ctx, a)
}

// threatIntel is the tenant-scoped threat-intel cache the IOC extractor and
// the enricher consult: the story's Tor exit node and brute-force source are
// known.
func threatIntel() *orchestrator.MemoryIOCCache {
	c := orchestrator.NewMemoryIOCCache()
	c.Put(TenantAcme, "ip", "185.220.101.45", map[string]any{"source": "tor-exit-nodes", "verdict": "malicious", "first_seen": "2025-11-02"})
	c.Put(TenantAcme, "ip", "203.0.113.77", map[string]any{"source": "vpn-bruteforce-feed", "verdict": "suspicious", "reports": 41})
	return c
}

// behaviour is the tenant's UEBA store: the brute-forced service account
// never logs in over VPN.
func behaviour() *orchestrator.MemoryUEBA {
	u := orchestrator.NewMemoryUEBA()
	u.Put(TenantAcme, "svc-backup", orchestrator.UEBARecord{RiskScore: 0.87, RiskState: string(taxonomy.RiskHigh),
		Anomalies: []any{"first VPN login in 180 days", "login outside maintenance window"}})
	return u
}

// assetInventory is the host's asset inventory (a CMDB lookup): the network
// zone of the OT assets, which can only raise an action's tier.
var assetInventory = response.ZoneResolverFunc(func(_ context.Context, _, target string) (string, bool, error) {
	z, ok := map[string]string{
		"scada-hmi-03.ot.acme-corp.example": "Zone2_HMI",
		"edge-node-07":                      "Zone1_EdgeInference",
	}[target]
	return z, ok, nil
})

// ctemExposures adapts the CTEM service to the orchestrator's ExposureStore
// port: the open exposures of an alert's asset.
type ctemExposures struct{ svc *ctem.Service }

var _ orchestrator.ExposureStore = ctemExposures{}

func (c ctemExposures) OpenExposures(ctx context.Context, tenantID, assetID string) ([]orchestrator.Exposure, error) {
	es, err := c.svc.OpenExposures(ctx, tenantID, assetID)
	if err != nil {
		return nil, err
	}
	out := make([]orchestrator.Exposure, len(es))
	for i, e := range es {
		out[i] = orchestrator.Exposure{ExposureKey: e.ExposureKey, AssetID: e.AssetID, AssetZone: e.AssetZone,
			Severity: string(e.Severity), CTEMScore: e.CTEMScore, SourceTool: string(e.SourceTool),
			Status: string(e.Status), UpdatedAt: e.UpdatedAt, SLADeadlineHours: ctem.SLAHours(string(e.Severity))}
	}
	return out, nil
}
