package autonomy

import (
	"log/slog"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/orchestrator"
)

// Defaults the options override.
const (
	// DefaultThreshold is the FP auto-close confidence threshold and its
	// floor: a threshold source can raise it, never lower it.
	DefaultThreshold = 0.90
	// DefaultElevatedThreshold is the threshold while drift is detected.
	DefaultElevatedThreshold = 0.95
	// PatternValidity is how long an approval or reaffirmation lasts.
	PatternValidity = 90 * 24 * time.Hour
	// DefaultPromotionThreshold is the number of canary decisions before an
	// FP pattern may be promoted.
	DefaultPromotionThreshold = 50
	// DefaultMaxDisagreement is the highest canary disagreement rate that
	// still promotes.
	DefaultMaxDisagreement = 0.05
	// DefaultSchedulerInterval is RunScheduler's interval when none is given.
	DefaultSchedulerInterval = time.Hour
	// RegexCacheSize bounds the compiled-regex cache of the FP matcher.
	RegexCacheSize = 1024
)

// Option configures the constructors of this package. Each option's
// comment says which constructors read it; the others ignore it.
type Option func(*config)

// config is filled by the options and read once by a constructor.
type config struct {
	producer           audit.Producer
	logger             *slog.Logger
	now                func() time.Time
	kill               orchestrator.KillChecker
	threshold          ThresholdSource
	promotionThreshold int
	maxDisagreement    float64
	evaluations        EvaluationSource
	ticker             func(d time.Duration) (<-chan time.Time, func())
	onCycle            func([]SliceDecision, error)
}

func buildConfig(opts []Option) (config, error) {
	c := config{
		logger: slog.New(slog.DiscardHandler), now: time.Now,
		promotionThreshold: DefaultPromotionThreshold, maxDisagreement: DefaultMaxDisagreement,
		ticker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.now == nil:
		return c, configErr("WithClock", "nil clock")
	case c.promotionThreshold < 1:
		return c, configErr("WithPromotionThreshold", "must be >= 1")
	case !(c.maxDisagreement >= 0 && c.maxDisagreement <= 1):
		return c, configErr("WithMaxDisagreement", "must be within [0, 1]")
	case c.ticker == nil:
		return c, configErr("WithTicker", "nil ticker")
	}
	return c, nil
}

// WithAuditProducer sets the producer events go through (all
// constructors). The default is none: no events, identical results.
func WithAuditProducer(p audit.Producer) Option { return func(c *config) { c.producer = p } }

// WithLogger sets the logger (all constructors). The default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock (all constructors). This overrides the default
// of time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithKillSwitches sets the kill switches the FP short-circuit honours
// (NewFPShortCircuit). The default is none.
func WithKillSwitches(k orchestrator.KillChecker) Option { return func(c *config) { c.kill = k } }

// WithThreshold sets the FP short-circuit's threshold source, normally a
// ThresholdAdjuster (NewFPShortCircuit). The default is the fixed 0.90.
func WithThreshold(t ThresholdSource) Option { return func(c *config) { c.threshold = t } }

// WithPromotionThreshold sets how many canary decisions a pattern needs
// before promotion (NewFPCanary). This overrides the default of 50.
func WithPromotionThreshold(n int) Option { return func(c *config) { c.promotionThreshold = n } }

// WithMaxDisagreement sets the highest canary disagreement rate that still
// promotes (NewFPCanary). This overrides the default of 0.05.
func WithMaxDisagreement(r float64) Option { return func(c *config) { c.maxDisagreement = r } }

// WithEvaluationSource sets where canary slices get their evaluations
// (NewCanaryRollout). The default is none: no slice is ever promoted.
func WithEvaluationSource(s EvaluationSource) Option { return func(c *config) { c.evaluations = s } }

// WithTicker replaces the scheduler's ticker (NewCanaryRollout), for tests
// with a fake clock. The default is time.NewTicker.
func WithTicker(f func(d time.Duration) (<-chan time.Time, func())) Option {
	return func(c *config) { c.ticker = f }
}

// WithCycleCallback receives every scheduler cycle's decisions and error
// (NewCanaryRollout); it replaces the reference's canary.evaluation_cycle
// event, which is not in the taxonomy. The default is none.
func WithCycleCallback(f func([]SliceDecision, error)) Option {
	return func(c *config) { c.onCycle = f }
}
