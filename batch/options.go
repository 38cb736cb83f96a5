package batch

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Limits and defaults (spec §2.2 plus the Go additions).
const (
	// MaxBatchSize is the most tasks one provider batch holds. A host may
	// lower it (WithMaxBatchSize) but not raise it.
	MaxBatchSize = 10_000
	// BatchSLA is how long after submission a batch may run before it is
	// expired.
	BatchSLA = 24 * time.Hour
	// DefaultMaxBatchBytes bounds the JSON body of one batch creation (the
	// Anthropic Message Batches API accepts 256 MB).
	DefaultMaxBatchBytes = 256_000_000

	DefaultCountThreshold = 50
	DefaultTimeThreshold  = 6 * time.Hour
	DefaultPollInterval   = 300 * time.Second
	// DefaultMaxQueuedTasks bounds the scheduler's queue; enqueues beyond it
	// fail with ErrQueueFull and are counted.
	DefaultMaxQueuedTasks = 100_000
	// DefaultRetryBackoffFirst and DefaultRetryBackoffMax bound the
	// exponential backoff after a rejected submission.
	DefaultRetryBackoffFirst = time.Minute
	DefaultRetryBackoffMax   = time.Hour
	// DefaultMaxSubmitAttempts is how often a task is submitted in a batch
	// the provider rejects as permanently invalid before it is moved to the
	// dead-letter list. Retryable failures never count.
	DefaultMaxSubmitAttempts = 3
	// DefaultJobHistory is how many finished jobs the scheduler keeps.
	DefaultJobHistory = 100

	DefaultModelID   = "claude-sonnet-4-5-20250929"
	DefaultMaxTokens = 16_384
	// Batch prices in USD per million tokens (50 % of the tier-1 price).
	DefaultInputPricePerMTok  = 1.50
	DefaultOutputPricePerMTok = 7.50

	MinInvestigationsForFP       = 3
	MinInvestigationsForPlaybook = 2
	DefaultLookback              = 30 * 24 * time.Hour
	MaxInvestigationsPerTask     = 20
	// FPGroupKeyRunes is how much of an alert title names its FP group.
	FPGroupKeyRunes = 50

	DefaultMinPatternConfidence = 0.8
	// TopicPlaybookDrafts receives every new playbook draft.
	TopicPlaybookDrafts = "playbooks.draft"

	DefaultCheckpointEvery = 100
	DefaultRateLimitRPS    = 10.0
	DefaultCollection      = "incident_embeddings"
)

// Option configures any constructor of this package. Each option's comment
// says which constructors read it; a constructor given an option it does not
// read fails with ErrInvalidConfig rather than ignoring it silently.
type Option func(*config)

// component is a bit set of the constructors an option applies to.
type component uint8

const (
	compClient component = 1 << iota
	compScheduler
	compGenerator
	compProcessor
	compMigrator
	compService

	compPipeline = compClient | compScheduler | compGenerator | compProcessor | compService
	compAll      = compPipeline | compMigrator
)

func (c component) String() string {
	switch c {
	case compClient:
		return "NewClient"
	case compScheduler:
		return "NewScheduler"
	case compGenerator:
		return "NewGenerator"
	case compProcessor:
		return "NewProcessor"
	case compMigrator:
		return "NewMigrator"
	case compService:
		return "New"
	}
	return "constructor"
}

type optionUse struct {
	name  string
	scope component
}

// config is built once per constructor and read-only afterwards.
type config struct {
	producer audit.Producer
	clock    func() time.Time
	logger   *slog.Logger
	sleep    func(ctx context.Context, d time.Duration) error

	// Client.
	validator     Validator
	priceIn       float64
	priceOut      float64
	clientPoll    time.Duration
	maxBatchSize  int
	maxBatchBytes int
	provider      taxonomy.Provider

	// Scheduler.
	countThreshold    int
	timeThreshold     time.Duration
	pollInterval      time.Duration
	maxQueue          int
	backoffFirst      time.Duration
	backoffMax        time.Duration
	maxSubmitAttempts int
	window            *submitWindow
	jobHistory        int

	// Generator.
	lookback      time.Duration
	contentFilter func(ctx context.Context, content string) (string, error)

	// Processor.
	drafts          DraftStore
	publisher       Publisher
	minConfidence   float64
	knownTechniques func(id string) bool
	handlers        map[TaskType]ResultHandler

	// Migrator.
	collection      string
	checkpointEvery int
	rps             float64

	// Service.
	source InvestigationSource

	used []optionUse
	errs []error
}

func defaultConfig() config {
	return config{
		clock:             time.Now,
		logger:            slog.Default(),
		sleep:             sleepContext,
		priceIn:           DefaultInputPricePerMTok,
		priceOut:          DefaultOutputPricePerMTok,
		clientPoll:        DefaultPollInterval,
		maxBatchSize:      MaxBatchSize,
		maxBatchBytes:     DefaultMaxBatchBytes,
		countThreshold:    DefaultCountThreshold,
		timeThreshold:     DefaultTimeThreshold,
		pollInterval:      DefaultPollInterval,
		maxQueue:          DefaultMaxQueuedTasks,
		backoffFirst:      DefaultRetryBackoffFirst,
		backoffMax:        DefaultRetryBackoffMax,
		maxSubmitAttempts: DefaultMaxSubmitAttempts,
		jobHistory:        DefaultJobHistory,
		lookback:          DefaultLookback,
		minConfidence:     DefaultMinPatternConfidence,
		collection:        DefaultCollection,
		checkpointEvery:   DefaultCheckpointEvery,
		rps:               DefaultRateLimitRPS,
	}
}

// buildConfig applies opts and rejects invalid values and options that
// comp does not read.
func buildConfig(comp component, opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	for _, u := range c.used {
		if u.scope&comp == 0 {
			c.errs = append(c.errs, &ConfigError{Option: u.name, Reason: "not read by " + comp.String()})
		}
	}
	switch {
	case c.clock == nil:
		c.errs = append(c.errs, &ConfigError{Option: "WithClock", Reason: "nil clock"})
	case c.logger == nil:
		c.errs = append(c.errs, &ConfigError{Option: "WithLogger", Reason: "nil logger"})
	case c.sleep == nil:
		c.errs = append(c.errs, &ConfigError{Option: "WithSleeper", Reason: "nil sleeper"})
	}
	if len(c.errs) > 0 {
		return c, joinConfigErrors(c.errs)
	}
	return c, nil
}

// joinConfigErrors keeps errors.Is(err, ErrInvalidConfig) and errors.As to
// *ConfigError working for the first problem while reporting all.
func joinConfigErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("%w (and %d more: %v)", errs[0], len(errs)-1, errs[1:])
}

func (c *config) use(name string, scope component) { c.used = append(c.used, optionUse{name, scope}) }

func (c *config) invalid(name, reason string) {
	c.errs = append(c.errs, &ConfigError{Option: name, Reason: reason})
}

// now is the injected clock in UTC: every time this package writes is UTC.
func (c *config) now() time.Time { return c.clock().UTC() }

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

// WithAuditProducer sets the audit producer (every constructor). This
// overrides the default of none: no events and identical results.
func WithAuditProducer(p audit.Producer) Option {
	return func(c *config) { c.use("WithAuditProducer", compAll); c.producer = p }
}

// WithClock sets the clock (every constructor); times are stored in UTC.
// This overrides the default of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.use("WithClock", compAll); c.clock = now }
}

// WithLogger sets the logger (every constructor). This overrides the
// default of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.use("WithLogger", compAll); c.logger = l }
}

// WithSleeper sets how Scheduler.Run and Service.Run wait between
// iterations and how the Migrator paces upserts; tests inject a fake. This
// overrides the default of a context-aware timer.
func WithSleeper(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) { c.use("WithSleeper", compScheduler|compMigrator|compService); c.sleep = sleep }
}

// WithValidator checks each successful result's content (NewClient, New).
// This overrides the default of none (every non-empty success is valid).
func WithValidator(v Validator) Option {
	return func(c *config) { c.use("WithValidator", compClient|compService); c.validator = v }
}

// WithPricing sets the batch prices in USD per million input and output
// tokens, used for spend reservations and item costs (NewClient, New). Both
// must be finite and >= 0. This overrides the default of 1.50 / 7.50.
func WithPricing(inPerMTok, outPerMTok float64) Option {
	return func(c *config) {
		c.use("WithPricing", compClient|compService)
		if !finiteNonNeg(inPerMTok) || !finiteNonNeg(outPerMTok) {
			c.invalid("WithPricing", "prices must be finite and >= 0")
			return
		}
		c.priceIn, c.priceOut = inPerMTok, outPerMTok
	}
}

// WithClientPollInterval sets the interval Client.PollInterval reports
// (NewClient). It must be positive. This overrides the default of 300 s.
func WithClientPollInterval(d time.Duration) Option {
	return func(c *config) {
		c.use("WithClientPollInterval", compClient)
		if d <= 0 {
			c.invalid("WithClientPollInterval", "must be positive")
			return
		}
		c.clientPoll = d
	}
}

// WithMaxBatchSize lowers the most tasks one batch holds (NewClient,
// NewScheduler, New); 1 <= n <= MaxBatchSize. This overrides the default of
// 10,000.
func WithMaxBatchSize(n int) Option {
	return func(c *config) {
		c.use("WithMaxBatchSize", compClient|compScheduler|compService)
		if n < 1 || n > MaxBatchSize {
			c.invalid("WithMaxBatchSize", fmt.Sprintf("%d not in [1, %d]", n, MaxBatchSize))
			return
		}
		c.maxBatchSize = n
	}
}

// WithMaxBatchBytes lowers the largest batch creation body in bytes
// (NewClient, NewScheduler, New); 1 KiB <= n <= DefaultMaxBatchBytes. Tasks
// that do not fit wait for the next batch. This overrides the default of
// 256,000,000.
func WithMaxBatchBytes(n int) Option {
	return func(c *config) {
		c.use("WithMaxBatchBytes", compClient|compScheduler|compService)
		if n < 1024 || n > DefaultMaxBatchBytes {
			c.invalid("WithMaxBatchBytes", fmt.Sprintf("%d not in [1024, %d]", n, DefaultMaxBatchBytes))
			return
		}
		c.maxBatchBytes = n
	}
}

// WithProvider names the batch provider in audit records (llm_provider) and
// spend reservations (NewClient, New). This overrides the default of
// "anthropic".
func WithProvider(p taxonomy.Provider) Option {
	return func(c *config) {
		c.use("WithProvider", compClient|compService)
		if p == "" {
			c.invalid("WithProvider", "empty provider")
			return
		}
		c.provider = p
	}
}

// WithCountThreshold flushes once this many tasks are queued (NewScheduler,
// New); n >= 1. This overrides the default of 50.
func WithCountThreshold(n int) Option {
	return func(c *config) {
		c.use("WithCountThreshold", compScheduler|compService)
		if n < 1 {
			c.invalid("WithCountThreshold", "must be >= 1")
			return
		}
		c.countThreshold = n
	}
}

// WithTimeThreshold flushes once this long has passed since the last flush
// (NewScheduler, New); d > 0. This overrides the default of 6 h.
func WithTimeThreshold(d time.Duration) Option {
	return func(c *config) {
		c.use("WithTimeThreshold", compScheduler|compService)
		if d <= 0 {
			c.invalid("WithTimeThreshold", "must be positive")
			return
		}
		c.timeThreshold = d
	}
}

// WithPollInterval sets how often Run ticks, polls and collects
// (NewScheduler, New); d > 0. This overrides the default of 300 s.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		c.use("WithPollInterval", compScheduler|compService)
		if d <= 0 {
			c.invalid("WithPollInterval", "must be positive")
			return
		}
		c.pollInterval = d
	}
}

// WithMaxQueuedTasks bounds the queue (NewScheduler, New); n >= 1. Enqueues
// beyond it fail with ErrQueueFull and are counted in Stats; tasks coming
// back from a rejected submission are always requeued, even past the bound.
// This overrides the default of 100,000.
func WithMaxQueuedTasks(n int) Option {
	return func(c *config) {
		c.use("WithMaxQueuedTasks", compScheduler|compService)
		if n < 1 {
			c.invalid("WithMaxQueuedTasks", "must be >= 1")
			return
		}
		c.maxQueue = n
	}
}

// WithRetryBackoff sets the exponential backoff after a rejected submission:
// first wait, doubling up to max (NewScheduler, New); 0 < first <= max.
// This overrides the default of 1 min doubling to 1 h.
func WithRetryBackoff(first, max time.Duration) Option {
	return func(c *config) {
		c.use("WithRetryBackoff", compScheduler|compService)
		if first <= 0 || max < first {
			c.invalid("WithRetryBackoff", "need 0 < first <= max")
			return
		}
		c.backoffFirst, c.backoffMax = first, max
	}
}

// WithMaxSubmitAttempts sets how many permanently rejected submissions a
// task goes through before it is moved to the dead-letter list
// (NewScheduler, New); n >= 1. This overrides the default of 3.
func WithMaxSubmitAttempts(n int) Option {
	return func(c *config) {
		c.use("WithMaxSubmitAttempts", compScheduler|compService)
		if n < 1 {
			c.invalid("WithMaxSubmitAttempts", "must be >= 1")
			return
		}
		c.maxSubmitAttempts = n
	}
}

// WithSubmitWindow restricts automatic flushes (Tick, Run) to a daily UTC
// window [from, to) given as offsets from midnight; a window with from > to
// wraps midnight (e.g. 22 h to 6 h). Explicit Flush calls ignore it
// (NewScheduler, New). This overrides the default of no window (any time).
func WithSubmitWindow(from, to time.Duration) Option {
	return func(c *config) {
		c.use("WithSubmitWindow", compScheduler|compService)
		const day = 24 * time.Hour
		if from < 0 || from >= day || to < 0 || to > day || from == to {
			c.invalid("WithSubmitWindow", "need distinct offsets in [0, 24h)")
			return
		}
		c.window = &submitWindow{from: from, to: to}
	}
}

// WithJobHistory sets how many finished (terminal and collected, or failed)
// jobs the scheduler keeps for Submitted (NewScheduler, New); n >= 1. Active
// jobs are always kept. This overrides the default of 100.
func WithJobHistory(n int) Option {
	return func(c *config) {
		c.use("WithJobHistory", compScheduler|compService)
		if n < 1 {
			c.invalid("WithJobHistory", "must be >= 1")
			return
		}
		c.jobHistory = n
	}
}

// WithLookback sets how far back the generator reads closed investigations
// (NewGenerator, New); d > 0. This overrides the default of 30 days.
func WithLookback(d time.Duration) Option {
	return func(c *config) {
		c.use("WithLookback", compGenerator|compService)
		if d <= 0 {
			c.invalid("WithLookback", "must be positive")
			return
		}
		c.lookback = d
	}
}

// WithContentFilter rewrites each generated task's user content before the
// task is returned; an error skips that group with a warning (NewGenerator,
// New). It is in addition to the Client's content gate, which always runs.
// This overrides the default of none.
func WithContentFilter(f func(ctx context.Context, content string) (string, error)) Option {
	return func(c *config) { c.use("WithContentFilter", compGenerator|compService); c.contentFilter = f }
}

// WithDraftStore sets where playbook drafts go (NewProcessor, New). This
// overrides the default of an in-memory store.
func WithDraftStore(d DraftStore) Option {
	return func(c *config) { c.use("WithDraftStore", compProcessor|compService); c.drafts = d }
}

// WithPublisher publishes new playbook drafts to TopicPlaybookDrafts
// (NewProcessor, New). This overrides the default of none.
func WithPublisher(p Publisher) Option {
	return func(c *config) { c.use("WithPublisher", compProcessor|compService); c.publisher = p }
}

// WithMinPatternConfidence sets the lowest confidence an FP candidate may
// have (NewProcessor, New); 0 <= v <= 1. This overrides the default of 0.8.
func WithMinPatternConfidence(v float64) Option {
	return func(c *config) {
		c.use("WithMinPatternConfidence", compProcessor|compService)
		if math.IsNaN(v) || v < 0 || v > 1 {
			c.invalid("WithMinPatternConfidence", "must be in [0, 1]")
			return
		}
		c.minConfidence = v
	}
}

// WithKnownTechniques decides which well-formed technique ids a playbook
// may keep (NewProcessor, New). This overrides the default of the pinned
// MITRE ATT&CK/ATLAS table the gateway validates against (active ids only).
func WithKnownTechniques(known func(id string) bool) Option {
	return func(c *config) { c.use("WithKnownTechniques", compProcessor|compService); c.knownTechniques = known }
}

// WithResultHandler handles results of a task type other than the two
// built-ins (NewProcessor, New); the handler owns storage and auditing for
// its type. Registering a built-in type or a nil handler is ErrInvalidConfig.
// This overrides the default of none (results of unknown types count as
// errors).
func WithResultHandler(t TaskType, h ResultHandler) Option {
	return func(c *config) {
		c.use("WithResultHandler", compProcessor|compService)
		switch {
		case t == "" || t == TaskFPPatternGeneration || t == TaskPlaybookGeneration:
			c.invalid("WithResultHandler", fmt.Sprintf("cannot register task type %q", t))
			return
		case h == nil:
			c.invalid("WithResultHandler", "nil handler")
			return
		}
		if c.handlers == nil {
			c.handlers = map[TaskType]ResultHandler{}
		}
		c.handlers[t] = h
	}
}

// WithCollection sets the vector collection to migrate (NewMigrator). This
// overrides the default of "incident_embeddings".
func WithCollection(name string) Option {
	return func(c *config) {
		c.use("WithCollection", compMigrator)
		if name == "" {
			c.invalid("WithCollection", "empty collection")
			return
		}
		c.collection = name
	}
}

// WithCheckpointEvery saves a checkpoint every n migrated points
// (NewMigrator); n >= 1. This overrides the default of 100.
func WithCheckpointEvery(n int) Option {
	return func(c *config) {
		c.use("WithCheckpointEvery", compMigrator)
		if n < 1 {
			c.invalid("WithCheckpointEvery", "must be >= 1")
			return
		}
		c.checkpointEvery = n
	}
}

// WithRateLimit caps upserts per second (NewMigrator); rps <= 0 disables
// pacing. This overrides the default of 10.
func WithRateLimit(rps float64) Option {
	return func(c *config) {
		c.use("WithRateLimit", compMigrator)
		if math.IsNaN(rps) || math.IsInf(rps, 0) {
			c.invalid("WithRateLimit", "must be finite")
			return
		}
		c.rps = rps
	}
}

// WithInvestigationSource lets Service.Mine read closed investigations (New).
// This overrides the default of none (Mine returns ErrInvalidConfig).
func WithInvestigationSource(src InvestigationSource) Option {
	return func(c *config) { c.use("WithInvestigationSource", compService); c.source = src }
}

func finiteNonNeg(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }

// submitWindow is a daily UTC window [from, to), wrapping midnight when
// from > to.
type submitWindow struct{ from, to time.Duration }

func (w *submitWindow) contains(t time.Time) bool {
	if w == nil {
		return true
	}
	t = t.UTC()
	off := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
	if w.from < w.to {
		return off >= w.from && off < w.to
	}
	return off >= w.from || off < w.to
}
