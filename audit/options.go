package audit

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of an Emitter's configuration.
const (
	DefaultSourceService = "warden"
	DefaultRingSize      = 8192
	DefaultBatchSize     = 256
	DefaultBatchBytes    = 1 << 20 // 1 MiB
	DefaultLinger        = 50 * time.Millisecond
	DefaultMaxAttempts   = 3
	DefaultMaxEventBytes = 1_000_000
	DefaultRetryBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff    = 2 * time.Second
	DefaultMaxInFlight   = 4
	// warnInterval is how often, at most, one kind of loss is logged.
	warnInterval = 10 * time.Second
	// idleWake is the drainer's max-wait while parked, so warnings about
	// events that never reached the ring (invalid, closed) still go out.
	idleWake = time.Second
)

// ErrInvalidConfig is matched by errors.Is for every error New returns for a
// bad option value.
var ErrInvalidConfig = errors.New("audit: invalid configuration")

type config struct {
	sourceService string
	producerID    string
	ringSize      int
	batchSize     int
	batchBytes    int
	linger        time.Duration
	maxAttempts   int
	maxEventBytes int
	retryBackoff  time.Duration
	maxBackoff    time.Duration
	maxInFlight   int
	clock         func() time.Time
	logger        *slog.Logger
	redact        *redactor
	errs          []error
}

func defaultConfig() config {
	return config{
		sourceService: DefaultSourceService,
		ringSize:      DefaultRingSize,
		batchSize:     DefaultBatchSize,
		batchBytes:    DefaultBatchBytes,
		linger:        DefaultLinger,
		maxAttempts:   DefaultMaxAttempts,
		maxEventBytes: DefaultMaxEventBytes,
		retryBackoff:  DefaultRetryBackoff,
		maxBackoff:    DefaultMaxBackoff,
		maxInFlight:   DefaultMaxInFlight,
		clock:         time.Now,
	}
}

func (c *config) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
}

// Option configures an Emitter.
type Option func(*config)

// WithSourceService sets the source_service written on events that do not
// set their own. This overrides the default of "warden". Empty is invalid.
func WithSourceService(name string) Option {
	return func(c *config) {
		if name == "" {
			c.invalid("empty source service")
		}
		c.sourceService = name
	}
}

// WithProducerID sets the producer_id written on every event. The host must
// keep it unique for the lifetime of the process: producer_seq restarts at 1
// for every Emitter. This overrides the default of a fresh UUIDv7 per
// Emitter. Empty is invalid.
func WithProducerID(id string) Option {
	return func(c *config) {
		if id == "" {
			c.invalid("empty producer id")
		}
		c.producerID = id
	}
}

// WithRingSize sets the capacity of the ring buffer, rounded up to a power
// of two (minimum 2). When the ring is full new events are dropped and
// counted. This overrides the default of 8192.
func WithRingSize(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.invalid("ring size %d, want > 0", n)
		}
		c.ringSize = n
	}
}

// WithBatchSize sets how many events the drainer writes to the sink at once.
// This overrides the default of 256.
func WithBatchSize(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.invalid("batch size %d, want > 0", n)
		}
		c.batchSize = n
	}
}

// WithBatchBytes sets the encoded size at which a batch is written even if it
// holds fewer than the batch size. This overrides the default of 1 MiB.
func WithBatchBytes(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.invalid("batch bytes %d, want > 0", n)
		}
		c.batchBytes = n
	}
}

// WithLinger sets how long a batch may wait for more events after its first
// one before it is written. Zero writes as soon as the ring is empty. This
// overrides the default of 50ms.
func WithLinger(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.invalid("linger %v, want >= 0", d)
		}
		c.linger = d
	}
}

// WithMaxAttempts sets how many times, in total, a message is offered to the
// sink before it is counted Failed. This overrides the default of 3.
func WithMaxAttempts(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.invalid("max attempts %d, want > 0", n)
		}
		c.maxAttempts = n
	}
}

// WithRetryBackoff sets the wait before the first retry and its cap; the wait
// doubles between attempts. This overrides the defaults of 100ms and 2s.
func WithRetryBackoff(first, max time.Duration) Option {
	return func(c *config) {
		if first <= 0 || max < first {
			c.invalid("retry backoff %v..%v, want 0 < first <= max", first, max)
		}
		c.retryBackoff, c.maxBackoff = first, max
	}
}

// WithMaxInFlight sets how many batches may be written but not yet
// acknowledged at once, for sinks that implement AsyncWriter; other sinks
// always have one. 1 makes every write wait for the previous one. This
// overrides the default of 4.
func WithMaxInFlight(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.invalid("max in flight %d, want > 0", n)
		}
		c.maxInFlight = n
	}
}

// WithMaxEventBytes sets the largest encoded event accepted; larger events
// are counted Invalid. This overrides the default of 1,000,000 bytes.
func WithMaxEventBytes(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.invalid("max event bytes %d, want > 0", n)
		}
		c.maxEventBytes = n
	}
}

// WithClock sets the clock that stamps timestamps and ids. Batching timers
// always use real time. This overrides the default of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.invalid("nil clock")
		}
		c.clock = now
	}
}

// WithLogger sets the logger for the drainer's rate-limited loss warnings.
// This overrides the default of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithSensitiveKeys replaces the values of the named keys with
// "hmac-sha256:<hex>" computed under key before the event is encoded, so
// records stay joinable and verifiable without storing raw personal data.
// Keys are matched at any depth of context, decision and outcome, and on the
// top-level keys actor_id, entity_ids, investigation_id and alert_id. A
// string is hashed as its UTF-8 bytes, a list of strings element by element,
// anything else as its canonical JSON. By default nothing is replaced. The
// key must not be empty.
func WithSensitiveKeys(key []byte, keys ...string) Option {
	return func(c *config) {
		if len(key) == 0 {
			c.invalid("empty HMAC key")
		}
		r := &redactor{key: append([]byte(nil), key...), keys: make(map[string]bool, len(keys))}
		for _, k := range keys {
			r.keys[k] = true
		}
		c.redact = r
	}
}
