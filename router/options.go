package router

import (
	"log/slog"
	"time"

	"github.com/socwarden/warden/audit"
)

// Option configures any of the package's constructors ([New],
// [NewHealthRegistry], [NewCircuitBreaker], [NewSpendGuard], [NewController],
// [NewEscalationManager]).
//
// [WithAuditProducer], [WithClock] and [WithLogger] apply to every
// constructor. Every other option belongs to one component (its doc says
// which); passing it to another constructor is reported as an
// [ErrInvalidConfig] naming the option, instead of being silently ignored.
type Option func(*config)

// component is a bit set naming the constructors an option applies to.
type component uint8

const (
	forRouter component = 1 << iota
	forHealth
	forBreaker
	forSpend
	forController
	forEscalation
)

func (c component) String() string {
	switch c {
	case forRouter:
		return "New"
	case forHealth:
		return "NewHealthRegistry"
	case forBreaker:
		return "NewCircuitBreaker"
	case forSpend:
		return "NewSpendGuard"
	case forController:
		return "NewController"
	case forEscalation:
		return "NewEscalationManager"
	}
	return "router"
}

// config is filled by Options and read once by a constructor; it is never
// shared after construction.
type config struct {
	producer audit.Producer
	now      func() time.Time
	logger   *slog.Logger

	// used lists the component-specific options that were applied, so a
	// constructor can reject options meant for another component.
	used []usedOption

	// Router.
	catalog    *Catalog
	health     HealthChecker
	recorder   SelectionRecorder
	escalation *EscalationManager

	// HealthRegistry.
	breaker                 BreakerConfig
	degradePrimary          Provider
	degradeSecondary        Provider
	degradationProvidersSet bool

	// SpendGuard.
	hardCapUSD         float64
	softLimitUSD       float64
	tenantLimits       map[string]TenantLimit
	defaultTenantLimit TenantLimit
	maxBreakdownKeys   int

	// Controller.
	priorityLimits map[Priority]RateLimit
	tenantQuotas   map[string]int
}

type usedOption struct {
	name string
	comp component
}

func (c *config) use(name string, comp component) { c.used = append(c.used, usedOption{name, comp}) }

// buildConfig applies opts over the defaults and checks that every
// component-specific option belongs to comp.
func buildConfig(comp component, opts []Option) (*config, error) {
	c := &config{
		now:              time.Now,
		hardCapUSD:       DefaultMonthlyHardCapUSD,
		softLimitUSD:     DefaultMonthlySoftLimitUSD,
		maxBreakdownKeys: DefaultMaxBreakdownKeys,
		degradePrimary:   ProviderAnthropic,
		degradeSecondary: ProviderOpenAI,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	for _, u := range c.used {
		if u.comp&comp == 0 {
			return nil, configErr(u.name, "applies to "+u.comp.String()+", not to "+comp.String())
		}
	}
	if c.now == nil {
		return nil, configErr("WithClock", "clock must not be nil")
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// WithAuditProducer sets where the component emits its audit events. The
// default is no producer: nothing is emitted and every business result is
// identical. Emission is fire-and-forget; a panicking producer is recovered and
// logged. As the audit.Fields contract allows, the router reuses an event's
// maps once Emit returns: a producer must snapshot what it keeps.
func WithAuditProducer(p audit.Producer) Option {
	return func(c *config) { c.producer = p }
}

// WithClock sets the clock used for every time decision (breaker timeouts,
// spend windows, rate windows). This overrides the default of [time.Now]. A nil
// clock is a configuration error.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithLogger sets the logger for warnings (failover without a healthy
// fallback, spend limits, a panicking audit producer). This overrides the
// default, which discards everything; nil keeps the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithCatalog replaces the model catalogue (primary model per tier, ordered
// fallbacks, tier parameters). It is validated by [New] and copied. This
// overrides the default of [DefaultCatalog]. Router only.
func WithCatalog(cat Catalog) Option {
	return func(c *config) {
		c.use("WithCatalog", forRouter)
		cp := cat.Clone()
		c.catalog = &cp
	}
}

// WithHealth makes Route health-aware: a primary whose provider the checker
// does not admit fails over to the first admitted fallback, and decisions
// carry the checker's degradation level. The default is no checker: no
// failover and level full_capability. Router only.
func WithHealth(h HealthChecker) Option {
	return func(c *config) { c.use("WithHealth", forRouter); c.health = h }
}

// WithSelectionRecorder has Route report each selected provider and tier (for
// example to a [*Metrics]). The default is no recorder. Router only.
func WithSelectionRecorder(r SelectionRecorder) Option {
	return func(c *config) { c.use("WithSelectionRecorder", forRouter); c.recorder = r }
}

// WithEscalationManager puts an hourly escalation budget on Route's
// low-confidence escalation rule: the rule then also needs the manager's
// consent and records the escalation. The default is no budget (every
// qualifying route escalates). Router only.
func WithEscalationManager(m *EscalationManager) Option {
	return func(c *config) { c.use("WithEscalationManager", forRouter); c.escalation = m }
}

// WithBreakerConfig sets the failure threshold, recovery timeout and probe
// timeout of every breaker the registry creates; zero fields keep their
// defaults. This overrides the default of [DefaultFailureThreshold] failures,
// [DefaultRecoveryTimeout] and [DefaultProbeTimeout]. HealthRegistry only.
func WithBreakerConfig(cfg BreakerConfig) Option {
	return func(c *config) { c.use("WithBreakerConfig", forHealth); c.breaker = cfg }
}

// WithDegradationProviders names the primary and secondary providers whose
// breakers decide the degradation level. This overrides the default of
// anthropic (primary) and openai (secondary). HealthRegistry only.
func WithDegradationProviders(primary, secondary Provider) Option {
	return func(c *config) {
		c.use("WithDegradationProviders", forHealth)
		c.degradePrimary, c.degradeSecondary, c.degradationProvidersSet = primary, secondary, true
	}
}

// WithMonthlyHardCap sets the global monthly hard cap in USD; it must be
// finite and > 0. This overrides the default of [DefaultMonthlyHardCapUSD].
// SpendGuard only.
func WithMonthlyHardCap(usd float64) Option {
	return func(c *config) { c.use("WithMonthlyHardCap", forSpend); c.hardCapUSD = usd }
}

// WithMonthlySoftLimit sets the global monthly soft limit in USD, at which
// spend.soft_limit is emitted once per month; it must be finite and >= 0, and
// 0 disables the alert. It may exceed the hard cap. This overrides the default
// of [DefaultMonthlySoftLimitUSD]. SpendGuard only.
func WithMonthlySoftLimit(usd float64) Option {
	return func(c *config) { c.use("WithMonthlySoftLimit", forSpend); c.softLimitUSD = usd }
}

// WithTenantLimits sets per-tenant monthly limits, enforced in addition to the
// global cap. The map is copied. This overrides the default of no per-tenant
// limits. SpendGuard only.
func WithTenantLimits(limits map[string]TenantLimit) Option {
	return func(c *config) {
		c.use("WithTenantLimits", forSpend)
		c.tenantLimits = make(map[string]TenantLimit, len(limits))
		for k, v := range limits {
			c.tenantLimits[k] = v
		}
	}
}

// WithDefaultTenantLimit sets the monthly limit of every tenant that has no
// entry in [WithTenantLimits]. This overrides the default of no limit (the
// zero TenantLimit). SpendGuard only.
func WithDefaultTenantLimit(l TenantLimit) Option {
	return func(c *config) { c.use("WithDefaultTenantLimit", forSpend); c.defaultTenantLimit = l }
}

// WithMaxBreakdownKeys bounds how many distinct model, task-type and tenant
// keys each spend breakdown keeps; further keys are aggregated under
// [OverflowKey]. It must be >= 1. This overrides the default of
// [DefaultMaxBreakdownKeys]. SpendGuard only.
func WithMaxBreakdownKeys(n int) Option {
	return func(c *config) { c.use("WithMaxBreakdownKeys", forSpend); c.maxBreakdownKeys = n }
}

// WithPriorityLimits replaces the per-priority concurrency and RPM table;
// every value must be >= 1. The map is copied. This overrides the default of
// [DefaultPriorityLimits]. Controller only.
func WithPriorityLimits(l map[Priority]RateLimit) Option {
	return func(c *config) {
		c.use("WithPriorityLimits", forController)
		c.priorityLimits = make(map[Priority]RateLimit, len(l))
		for k, v := range l {
			c.priorityLimits[k] = v
		}
	}
}

// WithTenantQuotas replaces the calls-per-hour quota by tenant tier; it must
// contain "standard" (the quota of unknown tiers) and every value must be
// >= 1. The map is copied. This overrides the default of
// [DefaultTenantQuotas]. Controller only.
func WithTenantQuotas(q map[string]int) Option {
	return func(c *config) {
		c.use("WithTenantQuotas", forController)
		c.tenantQuotas = make(map[string]int, len(q))
		for k, v := range q {
			c.tenantQuotas[k] = v
		}
	}
}
