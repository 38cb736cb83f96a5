package atlas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/socwarden/warden/audit"
)

// Defaults.
const (
	DefaultTick           = 30 * time.Second
	DefaultPublishTimeout = 5 * time.Second
)

// Publisher sends alerts (JSON) to a topic. A franz-go adapter lives in
// examples/; this package imports no Kafka client.
type Publisher interface {
	Publish(ctx context.Context, topic string, key, value []byte) error
}

// Option configures a Runner.
type Option func(*config)

type config struct {
	publisher      Publisher
	producer       audit.Producer
	clock          func() time.Time
	logger         *slog.Logger
	tenant         string
	suppression    *time.Duration // nil: each rule's lookback
	tick           time.Duration
	ruleTimeout    *time.Duration // nil: each rule's frequency
	publishTimeout time.Duration
	alertTopic     string
}

// WithPublisher sets where alerts go. This overrides the default of none
// (detections and audit still happen, nothing is published).
func WithPublisher(p Publisher) Option { return func(c *config) { c.publisher = p } }

// WithAuditProducer sets the audit producer. This overrides the default of
// none: no audit events, identical detections and published bytes.
func WithAuditProducer(p audit.Producer) Option { return func(c *config) { c.producer = p } }

// WithClock sets the clock. This overrides the default of time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithLogger sets the logger. This overrides the default of slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithTenantID scopes every store window, alert and audit event to a tenant.
// This overrides the default of "" (all tenants; audit tenant "system").
func WithTenantID(id string) Option { return func(c *config) { c.tenant = id } }

// WithSuppressionWindow sets how long a published detection key stays
// suppressed; 0 disables suppression. This overrides the default of each
// rule's lookback.
func WithSuppressionWindow(d time.Duration) Option { return func(c *config) { c.suppression = &d } }

// WithTick sets how often Run checks for due rules. This overrides the
// default of 30 s.
func WithTick(d time.Duration) Option { return func(c *config) { c.tick = d } }

// WithRuleTimeout bounds one evaluation. This overrides the default of each
// rule's frequency.
func WithRuleTimeout(d time.Duration) Option { return func(c *config) { c.ruleTimeout = &d } }

// WithPublishTimeout bounds one publish. This overrides the default of 5 s.
func WithPublishTimeout(d time.Duration) Option { return func(c *config) { c.publishTimeout = d } }

// WithAlertTopic sets the alert topic. This overrides the default of
// "alerts.raw".
func WithAlertTopic(topic string) Option { return func(c *config) { c.alertTopic = topic } }

// Runner evaluates rules on schedule, suppresses repeats, publishes alerts
// and audits detections. All run methods are safe for concurrent use and are
// serialised by one mutex; rules never run concurrently with each other.
type Runner struct {
	cfg   config // read-only after New
	rules []Rule // read-only after New

	mu            sync.Mutex           // serialises runs; guards the maps below
	lastRun       map[string]time.Time // rule id → last run start
	lastPublished map[string]time.Time // dedup key → last successful publish

	evaluations, ruleFailures, fired, suppressed, published, publishFailures atomic.Uint64
}

// New validates rules and options. Zero rules is valid.
func New(rules []Rule, opts ...Option) (*Runner, error) {
	c := config{clock: time.Now, logger: slog.Default(), tick: DefaultTick, publishTimeout: DefaultPublishTimeout, alertTopic: AlertTopic}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	var errs []error
	switch {
	case c.clock == nil:
		errs = append(errs, errors.New("WithClock: nil clock"))
	case c.logger == nil:
		errs = append(errs, errors.New("WithLogger: nil logger"))
	}
	if c.suppression != nil && *c.suppression < 0 {
		errs = append(errs, errors.New("WithSuppressionWindow: negative window"))
	}
	if c.tick <= 0 || c.publishTimeout <= 0 || c.ruleTimeout != nil && *c.ruleTimeout <= 0 {
		errs = append(errs, errors.New("tick and timeouts must be positive"))
	}
	if c.alertTopic == "" {
		errs = append(errs, errors.New("WithAlertTopic: empty topic"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}
	seen := map[string]bool{}
	for i, r := range rules {
		if err := validateRule(r); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
		if seen[r.ID()] {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateRule, r.ID())
		}
		seen[r.ID()] = true
	}
	return &Runner{cfg: c, rules: slices.Clone(rules), lastRun: map[string]time.Time{}, lastPublished: map[string]time.Time{}}, nil
}

func validateRule(r Rule) error {
	if r == nil {
		return fmt.Errorf("%w: nil rule", ErrInvalidRule)
	}
	// A typed nil pointer inside the interface would panic on first use.
	if reflectNil(r) {
		return fmt.Errorf("%w: nil rule", ErrInvalidRule)
	}
	switch {
	case r.ID() == "":
		return fmt.Errorf("%w: empty id", ErrInvalidRule)
	case r.Frequency() <= 0:
		return fmt.Errorf("%w: %s: frequency must be positive", ErrInvalidRule, r.ID())
	case r.Lookback() <= 0:
		return fmt.Errorf("%w: %s: lookback must be positive", ErrInvalidRule, r.ID())
	}
	return nil
}

// Rules returns a new slice of the registered rules.
func (r *Runner) Rules() []Rule { return slices.Clone(r.rules) }

// Stats returns the counters.
func (r *Runner) Stats() Stats {
	return Stats{
		Evaluations: r.evaluations.Load(), RuleFailures: r.ruleFailures.Load(), Fired: r.fired.Load(),
		Suppressed: r.suppressed.Load(), Published: r.published.Load(), PublishFailures: r.publishFailures.Load(),
	}
}

// suppressionWindow of a rule: the option when given, else the lookback.
func (r *Runner) suppressionWindow(rule Rule) time.Duration {
	if r.cfg.suppression != nil {
		return *r.cfg.suppression
	}
	return rule.Lookback()
}

// RunRule evaluates one rule now (spec §3.5) and returns every detection it
// produced — triggered, untriggered and suppressed. A failing, timed-out or
// panicking rule returns a *RuleError and publishes nothing.
func (r *Runner) RunRule(ctx context.Context, rule Rule) ([]Detection, error) {
	if err := validateRule(rule); err != nil {
		return nil, &RuleError{RuleID: ruleIDOf(rule), Err: err}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runRule(ctx, rule)
}

func ruleIDOf(rule Rule) string {
	if rule == nil || reflectNil(rule) {
		return ""
	}
	return rule.ID()
}

// RunAll runs every rule once, in registration order. Failed rules map to an
// empty slice; their errors are combined.
func (r *Runner) RunAll(ctx context.Context) (map[string][]Detection, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]Detection, len(r.rules))
	var errs *multierror.Error
	for _, rule := range r.rules {
		ds, err := r.runRule(ctx, rule)
		r.lastRun[rule.ID()] = r.cfg.clock()
		if err != nil {
			errs = multierror.Append(errs, err)
			ds = []Detection{}
		}
		out[rule.ID()] = ds
	}
	return out, errs.ErrorOrNil()
}

// RunDue runs, in registration order, each rule that never ran or whose
// frequency has elapsed since its last run (a failed run counts: a broken
// rule retries at its next period, not on every tick).
func (r *Runner) RunDue(ctx context.Context) (map[string][]Detection, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]Detection{}
	var errs *multierror.Error
	for _, rule := range r.rules {
		last, ran := r.lastRun[rule.ID()]
		if ran && r.cfg.clock().Before(last.Add(rule.Frequency())) {
			continue
		}
		ds, err := r.runRule(ctx, rule)
		r.lastRun[rule.ID()] = r.cfg.clock()
		if err != nil {
			errs = multierror.Append(errs, err)
			ds = []Detection{}
		}
		out[rule.ID()] = ds
	}
	return out, errs.ErrorOrNil()
}

// Run calls RunDue now and then every tick until ctx is done, and returns
// ctx.Err(). Rule errors are logged, not returned.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.tick)
	defer t.Stop()
	for {
		if _, err := r.RunDue(ctx); err != nil {
			r.cfg.logger.Warn("atlas: rules failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// evaluation is one rule evaluation's outcome.
type evaluation struct {
	ds  []Detection
	err error
}

// evaluate runs the rule under its timeout, recovering a panic. The rule runs
// on its own goroutine so that one ignoring its context cannot stall the
// runner: on timeout the runner moves on and the goroutine ends when the rule
// returns.
func (r *Runner) evaluate(ctx context.Context, rule Rule, scope EvalScope) ([]Detection, error) {
	timeout := rule.Frequency()
	if r.cfg.ruleTimeout != nil {
		timeout = *r.cfg.ruleTimeout
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("rule not run: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan evaluation, 1)
	go func() {
		var res evaluation
		defer func() {
			if p := recover(); p != nil {
				res = evaluation{err: fmt.Errorf("rule panicked: %v", p)}
			}
			done <- res
		}()
		res.ds, res.err = rule.Evaluate(ctx, scope)
	}()
	select {
	case res := <-done:
		if res.err == nil && ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("rule exceeded its timeout of %s", timeout)
		}
		return res.ds, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("rule did not finish: %w", ctx.Err())
	}
}

// runRule is RunRule with r.mu held.
func (r *Runner) runRule(ctx context.Context, rule Rule) ([]Detection, error) {
	now := r.cfg.clock()
	r.evaluations.Add(1)
	r.pruneSuppression(now, rule)
	ds, err := r.evaluate(ctx, rule, EvalScope{Now: now, TenantID: r.cfg.tenant})
	if err != nil {
		r.ruleFailures.Add(1)
		r.cfg.logger.Error("atlas: rule failed", "rule_id", rule.ID(), "error", err)
		return nil, &RuleError{RuleID: rule.ID(), Err: err}
	}
	window := r.suppressionWindow(rule)
	idWindow := window
	if idWindow <= 0 {
		idWindow = rule.Lookback()
	}
	usedIDs := map[string]int{}
	out := make([]Detection, 0, len(ds))
	for _, d := range ds {
		d.fillDefaults(rule.ID(), now)
		if !d.Triggered {
			out = append(out, d)
			continue
		}
		if IsSafetyRelevant(rule.ID()) {
			d.SafetyRelevant = true
		}
		if d.DedupKey == "" {
			d.DedupKey = defaultDedupKey(d)
		}
		if last, ok := r.lastPublished[d.DedupKey]; ok && window > 0 && now.Sub(last) < window {
			d.Suppressed = true
			r.suppressed.Add(1)
			r.cfg.logger.Debug("atlas: detection suppressed", "rule_id", d.RuleID, "dedup_key", d.DedupKey)
			out = append(out, d)
			continue
		}
		id := AlertID(d.RuleID, d.DedupKey, windowStart(now, idWindow))
		if n := usedIDs[id]; n > 0 {
			usedIDs[id] = n + 1
			id += "-" + strconv.Itoa(n+1)
		} else {
			usedIDs[id] = 1
		}
		d.AlertID = id
		if _, ok := AlertSeverity(d.AlertSeverity); !ok {
			r.cfg.logger.Warn("atlas: unknown alert severity mapped to medium",
				"rule_id", d.RuleID, "alert_severity", string(d.AlertSeverity))
		}
		pubErr, attempted := r.publishAlert(ctx, NewAlert(d, r.cfg.tenant, id))
		if pubErr == nil {
			r.lastPublished[d.DedupKey] = now
		}
		r.fired.Add(1)
		r.emitFired(d, attempted, pubErr)
		out = append(out, d)
	}
	return out, nil
}

// pruneSuppression forgets keys older than the largest suppression window.
func (r *Runner) pruneSuppression(now time.Time, extra Rule) {
	largest := r.suppressionWindow(extra)
	for _, rule := range r.rules {
		largest = max(largest, r.suppressionWindow(rule))
	}
	for k, t := range r.lastPublished {
		if now.Sub(t) >= largest {
			delete(r.lastPublished, k)
		}
	}
}

// defaultDedupKey is <rule_id>|<atlas_technique>| + sorted "type:id" of the
// entities joined by "|", for rules that set none.
func defaultDedupKey(d Detection) string {
	parts := make([]string, 0, len(d.Entities))
	for _, e := range d.Entities {
		parts = append(parts, e.Type+":"+e.ID)
	}
	slices.Sort(parts)
	return dedupKey(d.RuleID, d.AtlasTechnique, parts...)
}

// publishAlert encodes and publishes an alert. attempted is false when no
// publisher is configured.
func (r *Runner) publishAlert(ctx context.Context, a Alert) (err error, attempted bool) {
	if r.cfg.publisher == nil {
		return nil, false
	}
	value, err := marshalAlert(a)
	if err == nil {
		err = r.publish(ctx, []byte(a.AlertID), value)
	}
	if err != nil {
		r.publishFailures.Add(1)
		r.cfg.logger.Warn("atlas: publishing alert failed", "alert_id", a.AlertID, "error", err)
		return err, true
	}
	r.published.Add(1)
	return nil, true
}

func (r *Runner) publish(ctx context.Context, key, value []byte) (err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.publishTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("publisher panicked: %v", p)
		}
	}()
	return r.cfg.publisher.Publish(ctx, r.cfg.alertTopic, key, value)
}

// marshalAlert encodes an alert; non-finite numbers a custom rule may have
// put in its evidence or confidence (which JSON cannot carry) become null.
func marshalAlert(a Alert) ([]byte, error) {
	if math.IsNaN(a.RawPayload.Confidence) || math.IsInf(a.RawPayload.Confidence, 0) {
		a.RawPayload.Confidence = 0
	}
	a.RawPayload.Evidence = finiteValues(a.RawPayload.Evidence)
	return json.Marshal(a)
}

func finiteValues(m map[string]any) map[string]any {
	var out map[string]any
	for k, v := range m {
		f, isFloat := v.(float64)
		nested, isMap := v.(map[string]any)
		switch {
		case isFloat && (math.IsNaN(f) || math.IsInf(f, 0)):
		case isMap:
		default:
			continue
		}
		if out == nil {
			out = make(map[string]any, len(m))
			for k2, v2 := range m {
				out[k2] = v2
			}
		}
		if isMap {
			out[k] = finiteValues(nested)
		} else {
			out[k] = nil
		}
	}
	if out == nil {
		return m
	}
	return out
}

// reflectNil reports whether v holds a nil pointer, map, slice, func or
// channel.
func reflectNil(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
