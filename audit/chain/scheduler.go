package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/socwarden/warden/audit"
)

// Check is one of the scheduled verifications.
type Check int

// The checks of the reference's verification schedule.
const (
	// Continuous verifies each tenant's last records every five minutes.
	Continuous Check = iota + 1
	// Daily verifies each tenant's whole chain at 03:00 UTC.
	Daily
	// Lag compares each tenant's produced count with its chain head hourly.
	Lag
	// Cold re-hashes a random sample of each tenant's records on Sundays at
	// 04:00 UTC.
	Cold
)

// String returns the check's verification_type.
func (c Check) String() string {
	switch c {
	case Continuous:
		return "continuous"
	case Daily:
		return "daily_full"
	case Lag:
		return "hourly_lag"
	case Cold:
		return "weekly_cold"
	}
	return "Check(" + strconv.Itoa(int(c)) + ")"
}

// Scheduler defaults.
const (
	DefaultContinuousWindow = 100
	DefaultColdSample       = 100
	DefaultLagThreshold     = 1000
	// DefaultPageSize is how many records the daily check reads at a time;
	// it streams, so memory does not grow with the chain.
	DefaultPageSize = 10000
)

// NextRun returns when check c runs next after now (strictly after; UTC):
// Continuous every 5 minutes, Lag every hour, Daily at 03:00, Cold on
// Sundays at 04:00.
func NextRun(c Check, now time.Time) time.Time {
	now = now.UTC()
	switch c {
	case Continuous:
		return now.Add(5 * time.Minute)
	case Lag:
		return now.Add(time.Hour)
	case Daily:
		t := time.Date(now.Year(), now.Month(), now.Day(), 3, 0, 0, 0, time.UTC)
		if !t.After(now) {
			t = t.AddDate(0, 0, 1)
		}
		return t
	case Cold:
		t := time.Date(now.Year(), now.Month(), now.Day(), 4, 0, 0, 0, time.UTC)
		t = t.AddDate(0, 0, (int(time.Sunday)-int(t.Weekday())+7)%7)
		if !t.After(now) {
			t = t.AddDate(0, 0, 7)
		}
		return t
	}
	return now.Add(time.Hour)
}

// VerificationResult is one check of one tenant, with the reference's keys.
type VerificationResult struct {
	TenantID         string   `json:"tenant_id"`
	VerificationType string   `json:"verification_type"`
	RecordsChecked   int      `json:"records_checked"`
	FromSequence     int64    `json:"from_sequence"`
	ToSequence       int64    `json:"to_sequence"`
	ChainValid       bool     `json:"chain_valid"`
	Status           Status   `json:"status"`
	Errors           []string `json:"errors"`
	DurationMS       float64  `json:"duration_ms"`
	VerifiedAt       string   `json:"verified_at"`
	// Lag check only: the tenant's produced count (the reference's Kafka
	// offset), its chain's max sequence, and their difference.
	KafkaOffset   *int64 `json:"kafka_offset,omitempty"`
	PGMaxSequence *int64 `json:"pg_max_sequence,omitempty"`
	Lag           *int64 `json:"lag,omitempty"`
}

// Metric names.
const (
	MetricChainValid = "warden_audit_chain_valid"
	MetricDuration   = "warden_audit_verification_duration_seconds"
	MetricLag        = "warden_audit_lag"
)

// Scheduler runs the verification schedule over a Store.
type Scheduler struct {
	store Store
	cfg   schedulerConfig
}

type schedulerConfig struct {
	clock      func() time.Time
	logger     *slog.Logger
	results    func(VerificationResult)
	metrics    func(name string, labels map[string]string, value float64)
	lag        func(ctx context.Context, tenant string) (int64, error)
	verifyOpts []VerifyOption
	window     int
	sample     int
	threshold  int64
	page       int
	after      func(time.Duration) <-chan time.Time // tests replace the timer
	errs       []error
}

// SchedulerOption configures a Scheduler.
type SchedulerOption func(*schedulerConfig)

func (c *schedulerConfig) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
}

// WithSchedulerClock sets the clock for cadences and verified_at. This
// overrides the default of time.Now.
func WithSchedulerClock(now func() time.Time) SchedulerOption {
	return func(c *schedulerConfig) {
		if now == nil {
			c.invalid("nil clock")
			return
		}
		c.clock = now
	}
}

// WithSchedulerLogger sets the logger. This overrides the default of
// slog.Default().
func WithSchedulerLogger(l *slog.Logger) SchedulerOption {
	return func(c *schedulerConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithResults receives every result. A panic in fn is recovered and
// logged. By default results are only returned by the Run methods.
func WithResults(fn func(VerificationResult)) SchedulerOption {
	return func(c *schedulerConfig) { c.results = fn }
}

// WithMetrics receives the metrics (MetricChainValid, MetricDuration,
// MetricLag). A panic in fn is recovered and logged. By default no metrics
// are reported.
func WithMetrics(fn func(name string, labels map[string]string, value float64)) SchedulerOption {
	return func(c *schedulerConfig) { c.metrics = fn }
}

// WithLagSource supplies each tenant's produced event count for the lag
// check, which runs only when this is set.
func WithLagSource(fn func(ctx context.Context, tenant string) (int64, error)) SchedulerOption {
	return func(c *schedulerConfig) { c.lag = fn }
}

// WithVerifyOptions passes options (WithPublicKeys, VerifyStrict, ...) to
// the continuous and daily verifications.
func WithVerifyOptions(opts ...VerifyOption) SchedulerOption {
	return func(c *schedulerConfig) { c.verifyOpts = append(c.verifyOpts, opts...) }
}

// WithContinuousWindow sets how many recent records the continuous check
// verifies per tenant. This overrides the default of 100.
func WithContinuousWindow(n int) SchedulerOption {
	return func(c *schedulerConfig) {
		if n <= 0 {
			c.invalid("continuous window %d", n)
			return
		}
		c.window = n
	}
}

// WithColdSample sets how many random records per tenant the cold check
// re-hashes. This overrides the default of 100.
func WithColdSample(n int) SchedulerOption {
	return func(c *schedulerConfig) {
		if n <= 0 {
			c.invalid("cold sample %d", n)
			return
		}
		c.sample = n
	}
}

// WithLagThreshold sets the lag above which the lag check fails. This
// overrides the default of 1,000.
func WithLagThreshold(n int64) SchedulerOption {
	return func(c *schedulerConfig) {
		if n < 0 {
			c.invalid("lag threshold %d", n)
			return
		}
		c.threshold = n
	}
}

// WithPageSize sets how many records the daily check reads per Range call.
// This overrides the default of 10,000.
func WithPageSize(n int) SchedulerOption {
	return func(c *schedulerConfig) {
		if n <= 0 {
			c.invalid("page size %d", n)
			return
		}
		c.page = n
	}
}

// NewScheduler returns a scheduler over store. If store is also a
// CheckpointStore, the continuous and daily checks verify its checkpoints
// too (pass the keys with WithVerifyOptions(WithPublicKeys(...))).
func NewScheduler(store Store, opts ...SchedulerOption) (*Scheduler, error) {
	cfg := schedulerConfig{clock: time.Now, logger: slog.Default(), window: DefaultContinuousWindow,
		sample: DefaultColdSample, threshold: DefaultLagThreshold, page: DefaultPageSize, after: time.After}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if store == nil {
		cfg.invalid("nil store")
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	return &Scheduler{store: store, cfg: cfg}, nil
}

// Start runs the schedule until ctx ends, then returns ctx's error.
func (s *Scheduler) Start(ctx context.Context) error {
	checks := []Check{Continuous, Daily, Cold}
	if s.cfg.lag != nil {
		checks = append(checks, Lag)
	}
	next := map[Check]time.Time{}
	now := s.cfg.clock()
	for _, c := range checks {
		next[c] = NextRun(c, now)
	}
	for {
		due := checks[0]
		for _, c := range checks[1:] {
			if next[c].Before(next[due]) {
				due = c
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.cfg.after(max(next[due].Sub(s.cfg.clock()), 0)):
		}
		if _, err := s.Run(ctx, due); err != nil && ctx.Err() == nil {
			s.cfg.logger.Warn("chain: scheduled verification failed", "check", due.String(), "error", err)
		}
		next[due] = NextRun(due, s.cfg.clock())
	}
}

// Run runs one check for every tenant now.
func (s *Scheduler) Run(ctx context.Context, c Check) ([]VerificationResult, error) {
	switch c {
	case Continuous:
		return s.RunContinuous(ctx)
	case Daily:
		return s.RunDaily(ctx)
	case Lag:
		return s.RunLag(ctx)
	case Cold:
		return s.RunCold(ctx)
	}
	return nil, fmt.Errorf("chain: unknown check %d", c)
}

// RunContinuous verifies each tenant's last records (and the checkpoints
// they reach).
func (s *Scheduler) RunContinuous(ctx context.Context) ([]VerificationResult, error) {
	return s.each(ctx, Continuous, func(tenant string, r *VerificationResult) {
		recs, err := s.store.Recent(ctx, tenant, s.cfg.window)
		if err != nil {
			r.fail("store read failed: " + err.Error())
			return
		}
		opts := s.cfg.verifyOpts
		if cps := s.checkpoints(ctx, tenant, r); cps != nil {
			opts = append(opts[:len(opts):len(opts)], WithCheckpoints(cps...))
		}
		r.take(Verify(recs, opts...))
	})
}

// RunDaily verifies each tenant's whole chain, page by page.
func (s *Scheduler) RunDaily(ctx context.Context) ([]VerificationResult, error) {
	return s.each(ctx, Daily, func(tenant string, r *VerificationResult) {
		v := newTenantVerifier(newVerifyConfig(s.cfg.verifyOpts))
		for _, cp := range s.checkpoints(ctx, tenant, r) {
			v.addCheckpoint(cp)
		}
		for from := int64(0); ; from += int64(s.cfg.page) {
			page, err := s.store.Range(ctx, tenant, from, from+int64(s.cfg.page)-1)
			if err != nil {
				r.fail("store read failed: " + err.Error())
				return
			}
			for _, rec := range page {
				f, err := objectFields(rec)
				if err != nil {
					v.malformed(f, "unhashable value: "+err.Error(), v.res.Checked, 0)
					continue
				}
				v.add(&f, v.res.Checked, 0)
			}
			if len(page) < s.cfg.page {
				break
			}
		}
		r.take(v.finish())
	})
}

// RunCold re-hashes a random sample of each tenant's records (no linkage).
func (s *Scheduler) RunCold(ctx context.Context) ([]VerificationResult, error) {
	return s.each(ctx, Cold, func(tenant string, r *VerificationResult) {
		recs, err := s.store.Sample(ctx, tenant, s.cfg.sample)
		if err != nil {
			r.fail("store read failed: " + err.Error())
			return
		}
		r.Status = StatusValid
		first := true
		for _, rec := range recs {
			f, err := objectFields(rec)
			r.RecordsChecked++
			if f.hasSeq {
				if first || f.seq < r.FromSequence {
					r.FromSequence = f.seq
				}
				if first || f.seq > r.ToSequence {
					r.ToSequence = f.seq
				}
				first = false
			}
			seq := "missing"
			if f.hasSeq {
				seq = strconv.FormatInt(f.seq, 10)
			}
			switch {
			case err != nil || !f.hasStored:
				r.Errors = append(r.Errors, "Cold check: record seq="+seq+" cannot be hashed")
				if r.Status == StatusValid {
					r.Status = StatusCannotVerify
				}
			case f.computed != f.stored:
				r.Errors = append(r.Errors, "Cold check: record seq="+seq+" hash mismatch")
				r.Status = StatusInvalid
			}
		}
		r.ChainValid = r.Status == StatusValid
	})
}

// RunLag compares each tenant's produced count with its chain's max
// sequence. It needs WithLagSource.
func (s *Scheduler) RunLag(ctx context.Context) ([]VerificationResult, error) {
	if s.cfg.lag == nil {
		return nil, fmt.Errorf("%w: the lag check needs WithLagSource", ErrInvalidConfig)
	}
	return s.each(ctx, Lag, func(tenant string, r *VerificationResult) {
		h, _, err := s.store.Head(ctx, tenant)
		if err != nil {
			r.fail("store read failed: " + err.Error())
			return
		}
		produced, err := s.call(ctx, tenant)
		if err != nil {
			r.fail("lag lookup failed: " + err.Error())
			return
		}
		lag := produced - h.Sequence
		r.KafkaOffset, r.PGMaxSequence, r.Lag = &produced, &h.Sequence, &lag
		r.ToSequence = h.Sequence
		r.Status = StatusValid
		if lag > s.cfg.threshold {
			r.Status = StatusInvalid
			r.Errors = append(r.Errors, fmt.Sprintf("Kafka lag too high: offset=%d, pg_max=%d, lag=%d", produced, h.Sequence, lag))
		}
		r.ChainValid = r.Status == StatusValid
		s.metric(MetricLag, map[string]string{"tenant_id": tenant}, float64(lag))
	})
}

// call runs the lag source, turning a panic into an error.
func (s *Scheduler) call(ctx context.Context, tenant string) (n int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("lag source panicked: %v", p)
		}
	}()
	return s.cfg.lag(ctx, tenant)
}

// checkpoints returns the tenant's checkpoints when the store keeps them.
func (s *Scheduler) checkpoints(ctx context.Context, tenant string, r *VerificationResult) []Checkpoint {
	cs, ok := s.store.(CheckpointStore)
	if !ok {
		return nil
	}
	cps, err := cs.Checkpoints(ctx, tenant)
	if err != nil {
		r.Errors = append(r.Errors, "checkpoint read failed: "+err.Error())
		return nil
	}
	return cps
}

func (r *VerificationResult) fail(msg string) {
	r.Errors = append(r.Errors, msg)
	r.Status = StatusInvalid
	r.ChainValid = false
}

// take copies a verification Result into r.
func (r *VerificationResult) take(res Result) {
	r.RecordsChecked = res.Checked
	r.FromSequence, r.ToSequence = res.FirstSequence, res.LastSequence
	r.Status = res.Status
	if len(r.Errors) > 0 && r.Status == StatusValid {
		r.Status = StatusCannotVerify // e.g. checkpoints could not be read
	}
	r.ChainValid = r.Status == StatusValid
	for _, e := range res.Errors {
		r.Errors = append(r.Errors, e.Error())
	}
	if res.ErrorsOmitted > 0 {
		r.Errors = append(r.Errors, fmt.Sprintf("... and %d more errors", res.ErrorsOmitted))
	}
}

// each runs fn for every tenant and reports the results.
func (s *Scheduler) each(ctx context.Context, c Check, fn func(tenant string, r *VerificationResult)) ([]VerificationResult, error) {
	tenants, err := s.store.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain: listing tenants: %w", err)
	}
	out := make([]VerificationResult, 0, len(tenants))
	for _, tenant := range tenants {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		start := time.Now()
		r := VerificationResult{TenantID: tenant, VerificationType: c.String(), Errors: []string{}}
		fn(tenant, &r)
		elapsed := time.Since(start)
		r.DurationMS = math.Round(float64(elapsed.Microseconds())/10) / 100
		r.VerifiedAt = audit.FormatTimestamp(s.cfg.clock())
		if c != Lag {
			s.metric(MetricChainValid, map[string]string{"tenant_id": tenant, "check_type": c.String()}, boolMetric(r.ChainValid))
		}
		if c == Continuous || c == Daily {
			s.metric(MetricDuration, map[string]string{"check_type": c.String()}, elapsed.Seconds())
		}
		if !r.ChainValid {
			s.cfg.logger.Warn("chain: verification failed", "tenant_id", tenant, "check", c.String(),
				"status", r.Status.String(), "errors", len(r.Errors))
		}
		s.result(r)
		out = append(out, r)
	}
	return out, nil
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (s *Scheduler) result(r VerificationResult) {
	if s.cfg.results == nil {
		return
	}
	defer s.recoverCallback("results")
	s.cfg.results(r)
}

func (s *Scheduler) metric(name string, labels map[string]string, v float64) {
	if s.cfg.metrics == nil {
		return
	}
	defer s.recoverCallback("metrics")
	s.cfg.metrics(name, labels, v)
}

func (s *Scheduler) recoverCallback(which string) {
	if p := recover(); p != nil {
		s.cfg.logger.Error("chain: scheduler callback panicked", "callback", which, "panic", fmt.Sprint(p))
	}
}
