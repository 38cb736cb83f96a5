package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/internal/injection"
	"github.com/socwarden/warden/router"
	"github.com/socwarden/warden/taxonomy"
)

// BudgetChecker is the optional fail-fast part of a SpendGuard: when the
// guard offers it, Complete refuses a call whose tenant or the platform has
// already reached its cap before doing any other work.
// *router.SpendGuard implements it.
type BudgetChecker interface {
	CheckBudget(ctx context.Context, tenantID string) error
}

var _ BudgetChecker = (*router.SpendGuard)(nil)

// maxWarnedModels bounds the set of model ids already warned about, so that
// callers cycling through model names cannot grow it without limit.
const maxWarnedModels = 1024

// Gateway is the Context Gateway. It is immutable after New (apart from the
// warning bookkeeping below) and safe for concurrent use.
type Gateway struct {
	cfg           config
	defaultClient LLMClient
	clients       map[Provider]LLMClient

	// warnMu guards warnedModels (unknown-price warnings, once per model).
	warnMu       sync.Mutex
	warnedModels map[string]struct{}
	// emptyCatalog logs the empty-catalog warning once per gateway.
	emptyCatalog sync.Once
}

// New returns a gateway whose default client is client. Options are
// validated once; a bad option is a *ConfigError (ErrInvalidConfig).
func New(client LLMClient, opts ...Option) (*Gateway, error) {
	if client == nil {
		return nil, ErrNilClient
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	if e, ok := cfg.producer.(*audit.Emitter); ok && e == nil {
		cfg.producer = nil // a typed nil Emitter is no producer
	}
	g := &Gateway{cfg: cfg, defaultClient: client, clients: map[Provider]LLMClient{client.Provider(): client},
		warnedModels: map[string]struct{}{}}
	for _, c := range cfg.clients {
		g.clients[c.Provider()] = c
	}
	return g, nil
}

// validate checks req and applies its defaults (§2.1); it returns the
// decoded output schema (nil when none).
func validate(req *Request) (map[string]any, error) {
	if strings.TrimSpace(req.AgentID) == "" {
		return nil, &RequestError{Field: "agent_id", Reason: "must not be empty"}
	}
	if req.TenantID == "" {
		req.TenantID = DefaultTenantID
	}
	if req.Tier != "" {
		t, err := taxonomy.ParseModelTier(string(req.Tier))
		if err != nil {
			return nil, &RequestError{Field: "tier", Reason: "unknown tier " + strconv.Quote(string(req.Tier))}
		}
		req.Tier = t
	}
	if req.MaxTokens < 0 {
		return nil, &RequestError{Field: "max_tokens", Reason: "must be >= 0"}
	}
	if !hasSchema(req.OutputSchema) {
		return nil, nil
	}
	sch := parseSchema(req.OutputSchema)
	if sch == nil {
		return nil, &RequestError{Field: "output_schema", Reason: "must be a JSON object"}
	}
	return sch, nil
}

// call is the state of one Complete shared by its steps and audit events.
type call struct {
	req       Request
	schema    map[string]any // decoded OutputSchema, nil when none
	cls       InjectionClassification
	scan      injection.Result
	decision  *router.Decision
	client    LLMClient
	llm       LLMRequest
	userHash  string
	sysHash   string
	attempts  int
	probeDone bool // a health verdict or release was reported for the probe
}

// Complete runs one call through the gateway (see the package
// documentation). Errors: *RequestError (before any work), spend refusals
// from the guard unchanged, routing errors wrapped ("gateway: routing: "),
// ErrNoClient, and *LLMError when every attempt failed.
func (g *Gateway) Complete(ctx context.Context, req Request) (*Response, error) {
	schema, err := validate(&req)
	if err != nil {
		return nil, err
	}
	if bc, ok := g.cfg.spend.(BudgetChecker); ok {
		if err := bc.CheckBudget(ctx, req.TenantID); err != nil {
			return nil, err
		}
	}
	c := &call{req: req, schema: schema}
	g.classify(ctx, c)
	if c.cls.Action == ActionQuarantine {
		g.emitInjection(c, taxonomy.InjectionQuarantined)
		return quarantined(c), nil
	}
	if c.cls.Action == ActionSummarize || c.scan.Detected {
		g.emitInjection(c, taxonomy.InjectionDetected)
	}

	content := TransformContent(req.UserContent, c.cls.Action)
	redacted, rmap := RedactPII(content, nil, req.SensitiveValues...)
	evidence := WrapEvidence("", redacted, "")
	system := BuildSystemPrompt(req.SystemPrompt)

	if err := g.route(ctx, c, system, evidence); err != nil {
		return nil, err
	}
	g.buildRequest(c, system, evidence)

	res, reserved, err := g.reserve(ctx, c)
	if err != nil {
		g.releaseProbe(c)
		return nil, err
	}
	start := g.cfg.now()
	resp, latency, err := g.attempt(ctx, c)
	if err != nil {
		if reserved {
			g.cfg.spend.Release(res)
		}
		g.releaseProbe(c)
		g.emitFailure(ctx, c, err, g.cfg.now().Sub(start))
		return nil, &LLMError{Attempts: c.attempts, Err: err}
	}
	g.releaseProbe(c)

	out := g.finish(ctx, c, resp, latency, g.cfg.now().Sub(start), rmap)
	if reserved {
		if err := g.cfg.spend.Settle(context.WithoutCancel(ctx), res, out.Metrics.CostUSD); err != nil {
			// The call has happened; do not fail it. Release the hold so
			// that it cannot block later calls (a no-op if already closed).
			g.cfg.spend.Release(res)
			g.cfg.logger.WarnContext(ctx, "gateway: spend settlement failed", "error", err,
				"tenant_id", req.TenantID, "cost_usd", out.Metrics.CostUSD)
		}
	}
	return out, nil
}

// classify runs the shared detector on the untrusted content as the
// reference classifier saw it (" " + content + " ") and, for suspicious
// content, the optional judge.
func (g *Gateway) classify(ctx context.Context, c *call) {
	c.scan = injection.Scan(" " + c.req.UserContent + " ")
	risk := InjectionRisk(c.scan.ReferenceRisk)
	c.cls = InjectionClassification{Risk: risk, Action: ActionFor(risk),
		Reason:     strconv.Itoa(c.scan.MatchCount) + " injection pattern match(es)",
		Confidence: c.scan.Confidence, MatchCount: c.scan.MatchCount}
	if g.cfg.judge != nil {
		c.cls = combineWithJudge(ctx, g.cfg.judge, c.cls, "", c.req.UserContent, "")
	}
}

func labelsOf(c *call) []string {
	if c.scan.Labels == nil {
		return []string{}
	}
	return c.scan.Labels
}

func quarantined(c *call) *Response {
	return &Response{
		Content: QuarantinedContent, ValidationErrors: []string{"Content quarantined: injection detected"},
		QuarantinedIDs: []string{}, InjectionDetections: detectionsFor(c.cls), Injection: c.cls,
		InjectionLabels: labelsOf(c),
	}
}

// route asks the router for a decision when the request names no model.
func (g *Gateway) route(ctx context.Context, c *call, system, evidence string) error {
	c.client = g.defaultClient
	if c.req.Model != "" || g.cfg.router == nil {
		return nil
	}
	var tc router.TaskContext
	if c.req.Routing != nil {
		tc = *c.req.Routing
	}
	if tc.TaskType == "" {
		tc.TaskType = router.TaskType(c.req.TaskType)
	}
	if tc.TenantID == "" {
		tc.TenantID = c.req.TenantID
	}
	if tc.InvestigationID == "" {
		tc.InvestigationID = c.req.InvestigationID
	}
	if tc.AlertID == "" {
		tc.AlertID = c.req.AlertID
	}
	if tc.ContextTokens == 0 {
		tc.ContextTokens = g.cfg.estimate(system) + g.cfg.estimate(evidence)
	}
	d, err := g.cfg.router.Route(ctx, tc)
	if err != nil {
		return fmt.Errorf("gateway: routing: %w", err)
	}
	c.decision = &d
	cl, ok := g.clients[d.Model.Provider]
	if !ok {
		g.releaseProbe(c)
		return fmt.Errorf("%w: %s", ErrNoClient, d.Model.Provider)
	}
	c.client = cl
	return nil
}

func (g *Gateway) buildRequest(c *call, system, evidence string) {
	c.llm = LLMRequest{System: system, Messages: []Message{{Role: "user", Content: evidence}}}
	if hasSchema(c.req.OutputSchema) {
		c.llm.OutputSchema = c.req.OutputSchema
	}
	if d := c.decision; d != nil {
		temp := d.Temperature
		c.llm.Model, c.llm.MaxTokens, c.llm.Temperature = d.Model.ModelID, d.MaxTokens, &temp
		c.llm.ExtendedThinking, c.llm.CacheSystem = d.UseExtendedThinking, d.UsePromptCaching
	} else {
		c.llm.Model, c.llm.MaxTokens, c.llm.CacheSystem = c.req.Model, DefaultMaxTokens, true
	}
	if c.req.MaxTokens > 0 {
		c.llm.MaxTokens = c.req.MaxTokens
	}
}

// modelID is the model the request names, else the client's default.
func (c *call) modelID() string {
	if c.llm.Model != "" {
		return c.llm.Model
	}
	if dm, ok := c.client.(DefaultModeler); ok {
		return dm.DefaultModel()
	}
	return ""
}

// reserve holds the call's worst-case cost with the spend guard.
func (g *Gateway) reserve(ctx context.Context, c *call) (router.Reservation, bool, error) {
	if g.cfg.spend == nil {
		return router.Reservation{}, false, nil
	}
	var model router.ModelConfig
	if c.decision != nil {
		model = c.decision.Model
	} else {
		id := c.modelID()
		price, _ := g.price(ctx, id)
		model = modelConfigFor(c.client.Provider(), id, price)
	}
	in := messageOverheadTokens + UpperBoundTokens(c.llm.System)
	for _, m := range c.llm.Messages {
		in += UpperBoundTokens(m.Content)
	}
	res, err := g.cfg.spend.Reserve(ctx, router.SpendRequest{TenantID: c.req.TenantID, TaskType: c.req.TaskType,
		Model: model, InputTokens: in, MaxOutputTokens: c.llm.MaxTokens})
	if err != nil {
		return res, false, err
	}
	return res, true, nil
}

// price looks up an unrouted model's price, warning once per unknown model.
func (g *Gateway) price(ctx context.Context, modelID string) (ModelPrice, bool) {
	p, ok := g.cfg.pricing[modelID]
	if ok {
		return p, true
	}
	g.warnMu.Lock()
	_, warned := g.warnedModels[modelID]
	if !warned && len(g.warnedModels) < maxWarnedModels {
		g.warnedModels[modelID] = struct{}{}
	}
	g.warnMu.Unlock()
	if !warned {
		g.cfg.logger.WarnContext(ctx, "gateway: no price for model; cost recorded as 0", "model", modelID)
	}
	return ModelPrice{}, false
}

// releaseProbe gives back a half-open probe admission that ended without a
// health verdict. Without a ProbeReleaser the admission lapses after the
// breaker's probe timeout.
func (g *Gateway) releaseProbe(c *call) {
	if c.decision == nil || !c.decision.HealthProbe || c.probeDone {
		return
	}
	c.probeDone = true
	if pr, ok := g.cfg.health.(ProbeReleaser); ok {
		pr.ReleaseProbe(c.decision.Model.Provider)
		return
	}
	g.cfg.logger.Debug("gateway: routing decision holds a health probe but no health reporter can release it",
		"provider", string(c.decision.Model.Provider))
}

// attempt calls the client with the retry policy and reports each
// attempt's health verdict. It returns the successful response and the
// latency of the successful attempt.
func (g *Gateway) attempt(ctx context.Context, c *call) (LLMResponse, time.Duration, error) {
	p := c.client.Provider()
	for k := 0; ; k++ {
		c.attempts++
		actx, cancel := ctx, context.CancelFunc(nil)
		if g.cfg.callTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, g.cfg.callTimeout)
		}
		t0 := g.cfg.now()
		resp, err := safeComplete(actx, c.client, c.llm)
		latency := g.cfg.now().Sub(t0)
		timedOut := err != nil && actx.Err() != nil && ctx.Err() == nil
		if cancel != nil {
			cancel()
		}
		if err == nil {
			g.report(c, p, true)
			return resp, latency, nil
		}
		if ctx.Err() != nil {
			if !errors.Is(err, ctx.Err()) {
				err = ctx.Err()
			}
			return LLMResponse{}, 0, err
		}
		transient := timedOut || isTransient(err)
		if transient {
			g.report(c, p, false)
		}
		if !transient || k >= g.cfg.retry.MaxAttempts-1 {
			return LLMResponse{}, 0, err
		}
		delay := backoff(g.cfg.retry, k)
		var pe *ProviderError
		if errors.As(err, &pe) && pe.RetryAfter > delay {
			if pe.RetryAfter > g.cfg.retry.MaxDelay {
				// The provider asked for a longer wait than the policy
				// allows; retrying sooner would be refused again.
				return LLMResponse{}, 0, err
			}
			delay = pe.RetryAfter
		}
		if serr := g.cfg.sleep(ctx, delay); serr != nil {
			return LLMResponse{}, 0, serr
		}
	}
}

// backoff is BaseDelay·2^k, capped at MaxDelay (and safe from overflow).
func backoff(p RetryPolicy, k int) time.Duration {
	d := p.BaseDelay
	for i := 0; i < k && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

func (g *Gateway) report(c *call, p Provider, ok bool) {
	if g.cfg.health == nil {
		return
	}
	c.probeDone = true
	if ok {
		g.cfg.health.RecordSuccess(p)
	} else {
		g.cfg.health.RecordFailure(p)
	}
}

// isTransient: HTTP 429, 5xx and overloaded provider errors and transport
// failures are worth retrying; anything else would fail the same way again.
func isTransient(err error) bool {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe.Transient()
	}
	return errors.Is(err, ErrTransport)
}

// safeComplete turns a client panic into an error, so one broken client
// cannot take the host down.
func safeComplete(ctx context.Context, cl LLMClient, req LLMRequest) (resp LLMResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gateway: client panicked: %v", r)
		}
	}()
	return cl.Complete(ctx, req)
}

// finish validates and restores a successful answer and audits the call.
func (g *Gateway) finish(ctx context.Context, c *call, resp LLMResponse, latency, duration time.Duration, rmap *RedactionMap) *Response {
	m := &CallMetrics{InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens,
		CacheReadTokens: resp.Usage.CacheReadTokens, CacheWriteTokens: resp.Usage.CacheWriteTokens,
		LatencyMS: float64(latency) / float64(time.Millisecond), ModelID: resp.ModelID}
	if m.ModelID == "" {
		m.ModelID = c.modelID()
	}
	if c.decision != nil {
		m.CostUSD = c.decision.Model.Cost(toRouterUsage(resp.Usage))
	} else {
		price, _ := g.price(ctx, m.ModelID)
		m.CostUSD = ComputeCost(resp.Usage, price)
	}

	catalog := g.cfg.catalog
	if catalog != nil && catalog.Len() == 0 {
		g.emptyCatalog.Do(func() {
			g.cfg.logger.WarnContext(ctx, "gateway: technique catalog is empty; technique validation skipped")
		})
	}
	vr := validateParsed(resp.Text, catalog, c.schema)
	stripped := StripTechniqueIDs(resp.Text, vr.Quarantined)
	for _, id := range vr.Quarantined {
		g.emitTechnique(c, id, m.ModelID)
	}
	g.emitSuccess(ctx, c, resp, m, vr, duration)

	return &Response{
		Content: Deanonymise(stripped, rmap), ModelID: m.ModelID,
		TokensUsed: m.InputTokens + m.OutputTokens, Valid: vr.Valid, RawOutput: resp.Text,
		ValidationErrors: vr.Errors, QuarantinedIDs: vr.Quarantined, Metrics: m,
		InjectionDetections: detectionsFor(c.cls), Injection: c.cls, InjectionLabels: labelsOf(c),
		RequestID: resp.RequestID,
	}
}

// promptEvidence is the JSON stored as llm_prompt evidence: exactly what was
// sent, provider-neutral, pseudonymised.
func promptEvidence(r LLMRequest) []byte {
	b, _ := json.Marshal(struct {
		Model            string          `json:"model"`
		MaxTokens        int             `json:"max_tokens"`
		Temperature      *float64        `json:"temperature,omitempty"`
		ExtendedThinking bool            `json:"extended_thinking"`
		System           string          `json:"system"`
		Messages         []Message       `json:"messages"`
		OutputSchema     json.RawMessage `json:"output_schema,omitempty"`
	}{r.Model, r.MaxTokens, r.Temperature, r.ExtendedThinking, r.System, r.Messages, r.OutputSchema})
	return b
}

// log is the configured logger (for the audit helpers).
func (g *Gateway) log() *slog.Logger { return g.cfg.logger }
