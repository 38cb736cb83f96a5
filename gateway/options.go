package gateway

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"math"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/evidence"
)

// Defaults of the options.
const (
	// DefaultRetryAttempts is the number of attempts per call (first try
	// included).
	DefaultRetryAttempts = 3
	// DefaultRetryBaseDelay is the backoff before the second attempt; it
	// doubles for each further attempt.
	DefaultRetryBaseDelay = time.Second
	// DefaultMaxRetryDelay caps one backoff. A provider asking (retry-after)
	// for a longer wait is not retried: the call fails with its error.
	DefaultMaxRetryDelay = 60 * time.Second
	// ActorID is the actor_id of the gateway's guardrail events
	// (injection.*, technique.quarantined), actor type system.
	ActorID = "context-gateway"
	// StagePrompt is context.stage of the gateway's injection events.
	StagePrompt = "prompt"
)

// RetryPolicy is the gateway's one retry layer.
type RetryPolicy struct {
	// MaxAttempts ≥ 1 counts the first attempt.
	MaxAttempts int
	// BaseDelay ≥ 0 is the first backoff; attempt k (0-based) waits
	// BaseDelay·2^k, or the provider's retry-after when longer.
	BaseDelay time.Duration
	// MaxDelay > 0 caps a backoff; 0 means DefaultMaxRetryDelay.
	MaxDelay time.Duration
}

// Option configures a Gateway.
type Option func(*config)

type config struct {
	producer    audit.Producer
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error
	logger      *slog.Logger
	spend       SpendGuard
	router      Router
	health      HealthReporter
	clients     []LLMClient
	catalog     TechniqueCatalog
	judge       Judge
	pricing     map[string]ModelPrice
	retry       RetryPolicy
	callTimeout time.Duration
	evidence    EvidenceStore
	estimate    func(string) int
	errs        []error
}

func defaultConfig() config {
	return config{
		now:      time.Now,
		sleep:    sleepContext,
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		catalog:  MITRECatalog(),
		pricing:  DefaultPricing(),
		retry:    RetryPolicy{MaxAttempts: DefaultRetryAttempts, BaseDelay: DefaultRetryBaseDelay, MaxDelay: DefaultMaxRetryDelay},
		estimate: EstimateTokens,
	}
}

func (c *config) invalid(option, reason string) {
	c.errs = append(c.errs, &ConfigError{Option: option, Reason: reason})
}

// sleepContext waits d on a real timer, returning early with ctx's error.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// WithAuditProducer sends the gateway's audit events to p. The default is
// no producer: nothing is emitted and every result is identical.
func WithAuditProducer(p audit.Producer) Option { return func(c *config) { c.producer = p } }

// WithClock replaces time.Now for latency, durations and evidence dates.
// This overrides the default of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.invalid("WithClock", "nil clock")
			return
		}
		c.now = now
	}
}

// WithSleeper replaces the retry backoff wait; it must return early with
// ctx's error when ctx is done. Tests pair it with WithClock (see
// gatewaytest.FakeClock). This overrides the default real timer.
func WithSleeper(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) {
		if sleep == nil {
			c.invalid("WithSleeper", "nil sleeper")
			return
		}
		c.sleep = sleep
	}
}

// WithLogger sets the logger for warnings (unknown model prices, evidence
// store failures, spend settlement errors, producer panics). This overrides
// the default, which discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.invalid("WithLogger", "nil logger")
			return
		}
		c.logger = l
	}
}

// WithSpendGuard reserves every call's worst-case cost before it is made and
// settles the real cost after it (normally a *router.SpendGuard shared by
// all gateways of the process). The default is no guard: no limit.
func WithSpendGuard(g SpendGuard) Option { return func(c *config) { c.spend = g } }

// WithRouter lets a router pick the model of calls whose Request.Model is
// empty (normally a *router.Router). The default is no router: the default
// client's model.
func WithRouter(r Router) Option { return func(c *config) { c.router = r } }

// WithHealthReporter reports each attempt's provider verdict (normally the
// *router.HealthRegistry the router consults). The default is none.
func WithHealthReporter(h HealthReporter) Option { return func(c *config) { c.health = h } }

// WithClient registers another client under its Provider(), for routing
// decisions that pick that provider. A later client of the same provider
// replaces an earlier one; the default client given to New is registered
// first.
func WithClient(cl LLMClient) Option {
	return func(c *config) {
		if cl == nil {
			c.invalid("WithClient", "nil client")
			return
		}
		c.clients = append(c.clients, cl)
	}
}

// WithTechniqueCatalog sets the allow-list of technique ids. nil (or an
// empty catalog) disables technique validation. This overrides the default,
// MITRECatalog(): the active ids of the pinned ATT&CK Enterprise v18.1 and
// ATLAS 5.6.0 tables.
func WithTechniqueCatalog(cat TechniqueCatalog) Option { return func(c *config) { c.catalog = cat } }

// WithInjectionJudge adds a second-opinion classifier consulted for
// suspicious content only. The default is regex classification only.
func WithInjectionJudge(j Judge) Option { return func(c *config) { c.judge = j } }

// WithPricing replaces the price table used for calls without a routing
// decision (the map is copied). This overrides DefaultPricing().
func WithPricing(p map[string]ModelPrice) Option {
	return func(c *config) {
		for id, price := range p {
			for _, v := range []float64{price.Input, price.Output, price.CacheRead, price.CacheWrite} {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					c.invalid("WithPricing", "price of "+id+" must be finite and >= 0")
					return
				}
			}
		}
		c.pricing = maps.Clone(p)
	}
}

// WithRetry sets the retry policy. This overrides the default of 3 attempts,
// 1 s base delay, 60 s maximum delay.
func WithRetry(p RetryPolicy) Option {
	return func(c *config) {
		if p.MaxAttempts < 1 || p.BaseDelay < 0 || p.MaxDelay < 0 {
			c.invalid("WithRetry", "MaxAttempts must be >= 1 and delays >= 0")
			return
		}
		if p.MaxDelay == 0 {
			p.MaxDelay = DefaultMaxRetryDelay
		}
		c.retry = p
	}
}

// WithCallTimeout bounds each attempt; a timed-out attempt is retried like a
// 5xx. This overrides the default of no per-attempt timeout (clients have
// their own HTTP timeouts).
func WithCallTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.invalid("WithCallTimeout", "negative duration")
			return
		}
		c.callTimeout = d
	}
}

// WithEvidenceStore stores each call's prompt and response (pseudonymised)
// as evidence objects and lists their URIs in the audit record's
// evidence_refs. It needs an audit producer to be useful. Pass an
// audit/evidence *Store directly; a nil one (typed or not) means no store.
// The default is no store.
func WithEvidenceStore(s EvidenceStore) Option {
	return func(c *config) {
		if st, ok := s.(*evidence.Store); ok && st == nil {
			s = nil // a typed nil would pass the nil check and panic on Put
		}
		c.evidence = s
	}
}

// WithTokenEstimator replaces the prompt-size estimate used for routing
// (TaskContext.ContextTokens when the caller left it 0). This overrides the
// default, EstimateTokens. The spend reservation always uses the strict
// upper bound UpperBoundTokens.
func WithTokenEstimator(f func(text string) int) Option {
	return func(c *config) {
		if f == nil {
			c.invalid("WithTokenEstimator", "nil estimator")
			return
		}
		c.estimate = f
	}
}
