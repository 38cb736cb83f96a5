package entityparser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/socwarden/warden/audit"
)

// Default topics and consumer group of the service loop.
const (
	DefaultRawTopic        = "alerts.raw"
	DefaultNormalizedTopic = "alerts.normalized"
	DefaultDeadLetterTopic = "alerts.raw.dlq"
	DefaultConsumerGroup   = "aluskort.entity-parser"
	// DefaultTenant is the tenant of audit events for alerts without one.
	DefaultTenant = "default"
	// actorID is the audit actor of every event this package emits.
	actorID = "entity-parser"
	// maxEntityIDs bounds entity_ids of alert.classified.
	maxEntityIDs = 100
)

// Poll back-off of Run after a consumer error.
const (
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 30 * time.Second
)

// ErrPublish wraps every failure to publish a normalized or dead-letter
// record.
var ErrPublish = errors.New("entityparser: publish failed")

// Record is one message of a consumed topic.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
}

// Consumer delivers raw-alert records and commits them once handled.
type Consumer interface {
	// Poll blocks until records arrive or ctx is done.
	Poll(ctx context.Context) ([]Record, error)
	Commit(ctx context.Context, recs ...Record) error
}

// Publisher writes one record synchronously: it returns once the record is
// durably accepted, or failed.
type Publisher interface {
	Publish(ctx context.Context, topic string, key, value []byte) error
}

// Topics names the three topics of the service loop.
type Topics struct {
	Raw, Normalized, DeadLetter string
}

// DefaultTopics returns alerts.raw, alerts.normalized, alerts.raw.dlq.
func DefaultTopics() Topics {
	return Topics{Raw: DefaultRawTopic, Normalized: DefaultNormalizedTopic, DeadLetter: DefaultDeadLetterTopic}
}

// Stats are monotonic counters, safe to read concurrently.
type Stats struct {
	Processed       uint64 // messages handed to Process
	Published       uint64 // normalized records published
	DeadLettered    uint64 // invalid messages sent to the dead-letter topic
	InjectionAlerts uint64 // alerts whose injection scan flagged something
	PublishFailures uint64 // failed normalized publishes
}

// AssetClassResolver names the asset class of an alert (for scoped FP
// patterns); "" leaves it empty.
type AssetClassResolver func(CanonicalAlert, Entities) string

// Option configures a Parser.
type Option func(*config)

type config struct {
	producer audit.Producer
	clock    func() time.Time
	logger   *slog.Logger
	topics   Topics
	ipScope  bool
	assets   AssetClassResolver
	sleep    func(context.Context, time.Duration) error
	backoff  [2]time.Duration
}

// WithAuditProducer sets where audit events go. This overrides the default
// of none: no events, identical results.
func WithAuditProducer(p audit.Producer) Option { return func(c *config) { c.producer = p } }

// WithClock sets the clock used to timestamp Splunk events without _time
// (Parser.Normalize). This overrides the default of time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithLogger sets the logger. This overrides the default of discarding logs.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithTopics sets the topics of the service loop. This overrides the
// default of DefaultTopics().
func WithTopics(t Topics) Option { return func(c *config) { c.topics = t } }

// WithIPScope adds property ip_scope to every IP entity. This overrides the
// default of off (wire output as the reference's).
func WithIPScope(on bool) Option { return func(c *config) { c.ipScope = on } }

// WithAssetClassResolver fills asset_class of alerts that have none. This
// overrides the default of leaving it empty.
func WithAssetClassResolver(r AssetClassResolver) Option { return func(c *config) { c.assets = r } }

// WithBackoff sets the first and the longest wait of Run after a poll error
// (the wait doubles in between, and resets after a successful poll). This
// overrides the defaults of 1 s and 30 s.
func WithBackoff(initial, maxWait time.Duration) Option {
	return func(c *config) { c.backoff = [2]time.Duration{initial, maxWait} }
}

// WithSleep sets how Run waits out a back-off; it must return ctx.Err() if
// ctx ends first. This overrides the default of a timer (tests inject an
// immediate or recorded sleep).
func WithSleep(sleep func(context.Context, time.Duration) error) Option {
	return func(c *config) { c.sleep = sleep }
}

// ConfigError reports an invalid option.
type ConfigError struct{ Reason string }

func (e *ConfigError) Error() string { return "entityparser: invalid configuration: " + e.Reason }

// Parser validates raw alerts, extracts their entities, scans them for
// prompt injection, emits audit events and publishes the normalized alert.
// It is safe for concurrent use; its configuration is immutable after New
// and its counters are atomic.
type Parser struct {
	cfg   config
	stats struct {
		processed, published, deadLettered, injectionAlerts, publishFailures atomic.Uint64
	}
}

// New returns a Parser.
func New(opts ...Option) (*Parser, error) {
	cfg := config{
		clock:   time.Now,
		logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		topics:  DefaultTopics(),
		sleep:   timerSleep,
		backoff: [2]time.Duration{DefaultInitialBackoff, DefaultMaxBackoff},
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	switch {
	case cfg.clock == nil:
		return nil, &ConfigError{Reason: "nil clock"}
	case cfg.logger == nil:
		return nil, &ConfigError{Reason: "nil logger"}
	case cfg.sleep == nil:
		return nil, &ConfigError{Reason: "nil sleep"}
	case cfg.topics.Raw == "" || cfg.topics.Normalized == "" || cfg.topics.DeadLetter == "":
		return nil, &ConfigError{Reason: "empty topic name"}
	case cfg.backoff[0] <= 0 || cfg.backoff[1] < cfg.backoff[0]:
		return nil, &ConfigError{Reason: "back-off must be positive and initial ≤ max"}
	}
	return &Parser{cfg: cfg}, nil
}

func timerSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stats returns the counters.
func (p *Parser) Stats() Stats {
	return Stats{
		Processed:       p.stats.processed.Load(),
		Published:       p.stats.published.Load(),
		DeadLettered:    p.stats.deadLettered.Load(),
		InjectionAlerts: p.stats.injectionAlerts.Load(),
		PublishFailures: p.stats.publishFailures.Load(),
	}
}

// Result is what Process returns for a valid message.
type Result struct {
	Alert     CanonicalAlert
	Entities  Entities
	Mode      ExtractionMode
	Injection InjectionScan
	// Output is the exact bytes to publish: the input object with every
	// member unchanged plus parsed_entities (and asset_class when the
	// resolver filled it).
	Output []byte
	// Key is the record key: alert_id's bytes, or nil when it is empty.
	Key []byte
}

// Process handles one message. It performs no I/O other than audit
// emission, never panics, and returns the same Result with or without an
// audit producer. An invalid message gives a *ValidationError (the loop
// dead-letters it) and no audit event.
func (p *Parser) Process(ctx context.Context, msg []byte) (*Result, error) {
	p.stats.processed.Add(1)
	d, err := decodeMessage(msg)
	if err != nil {
		return nil, err
	}
	a := d.alert
	ents, mode := ParseEntities(a.EntitiesRaw, a.RawPayload, ExtractOptions{
		IPScope:  p.cfg.ipScope,
		FreeText: freeText(a),
		Logger:   p.cfg.logger,
	})
	scan := ScanInjection(a.Title, a.Description, a.EntitiesRaw)
	members := d.members
	if a.AssetClass == "" && p.cfg.assets != nil {
		if class := p.resolveAsset(a, ents); class != "" {
			a.AssetClass = class
			members = setMember(members, "asset_class", mustJSON(class))
		}
	}
	entsJSON, err := json.Marshal(ents)
	if err != nil {
		return nil, fmt.Errorf("entityparser: encode entities: %w", err)
	}
	res := &Result{
		Alert: a, Entities: ents, Mode: mode, Injection: scan,
		Output: encodeMembers(setMember(members, "parsed_entities", entsJSON)),
	}
	if a.AlertID != "" {
		res.Key = []byte(a.AlertID)
	}
	if scan.Flagged() {
		p.stats.injectionAlerts.Add(1)
		p.emit(injectionEvent(res))
	}
	p.emit(classifiedEvent(res))
	return res, nil
}

func (p *Parser) resolveAsset(a CanonicalAlert, e Entities) (class string) {
	defer func() {
		if r := recover(); r != nil {
			p.cfg.logger.Warn("entityparser: asset class resolver panicked", "panic", fmt.Sprint(r))
			class = ""
		}
	}()
	return p.cfg.assets(a, e)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// setMember replaces key's value in place, or appends it.
func setMember(members []member, key string, value json.RawMessage) []member {
	out := make([]member, 0, len(members)+1)
	done := false
	for _, m := range members {
		if m.key == key {
			m.value, done = value, true
		}
		out = append(out, m)
	}
	if !done {
		out = append(out, member{key: key, value: value})
	}
	return out
}

// freeText is the text the IOC extractor reads besides the structured
// entities: for every source but Sentinel (whose entity model is complete)
// the title, the description and the SIEM's own free-text fields.
func freeText(a CanonicalAlert) string {
	src := a.DataSource
	if src == "" {
		src = a.Source
	}
	if strings.EqualFold(src, SourceSentinel) {
		return ""
	}
	parts := []string{a.Title, a.Description}
	if fields := freeTextFields[strings.ToLower(src)]; len(fields) > 0 {
		var doc map[string]any
		if json.Unmarshal(a.RawPayload, &doc) == nil {
			for _, f := range fields {
				if s, ok := lookup(doc, f).(string); ok {
					parts = append(parts, s)
				}
			}
		}
	}
	return strings.Join(parts, "\n")
}

// freeTextFields are the free-text members of each source's raw event.
var freeTextFields = map[string][]string{
	SourceElastic:     {"message", "kibana.alert.reason", "process.command_line", "process.parent.command_line"},
	SourceSplunk:      {"_raw", "orig_raw"},
	SourceCrowdStrike: {"cmdline", "parent_details.cmdline", "grandparent_details.cmdline"},
}

// Handle processes one consumed record: valid alerts are published to the
// normalized topic, invalid ones to the dead-letter topic; the record is
// committed only after its publish succeeded (at-least-once). A failed
// publish returns an error wrapping ErrPublish and commits nothing: the
// caller stops and the record is redelivered from the last commit.
func (p *Parser) Handle(ctx context.Context, rec Record, src Consumer, dst Publisher) error {
	res, err := p.Process(ctx, rec.Value)
	if err != nil {
		dl, _ := json.Marshal(map[string]string{"original": strings.ToValidUTF8(string(rec.Value), "\uFFFD"), "error": err.Error()})
		if perr := dst.Publish(ctx, p.cfg.topics.DeadLetter, nil, dl); perr != nil {
			return fmt.Errorf("entityparser: dead-letter publish: %w", errors.Join(ErrPublish, perr))
		}
		if cerr := src.Commit(ctx, rec); cerr != nil {
			return fmt.Errorf("entityparser: commit: %w", cerr)
		}
		p.stats.deadLettered.Add(1)
		p.cfg.logger.Error("entityparser: message dead-lettered", "offset", rec.Offset, "error", err.Error())
		return nil
	}
	if perr := dst.Publish(ctx, p.cfg.topics.Normalized, res.Key, res.Output); perr != nil {
		p.stats.publishFailures.Add(1)
		return fmt.Errorf("entityparser: publish normalized alert %q: %w", res.Alert.AlertID, errors.Join(ErrPublish, perr))
	}
	if cerr := src.Commit(ctx, rec); cerr != nil {
		return fmt.Errorf("entityparser: commit: %w", cerr)
	}
	p.stats.published.Add(1)
	p.cfg.logger.Info("entityparser: alert normalized", "alert_id", res.Alert.AlertID,
		"raw_iocs", len(res.Entities.RawIOCs), "parse_errors", len(res.Entities.ParseErrors))
	return nil
}

// Run consumes until ctx is done (then it returns nil) or Handle fails
// (then it returns that error: fail-stop, nothing after the failed record
// is committed). Poll errors are logged and retried after a back-off that
// doubles up to the maximum and resets after a successful poll.
func (p *Parser) Run(ctx context.Context, src Consumer, dst Publisher) error {
	wait := p.cfg.backoff[0]
	for {
		if ctx.Err() != nil {
			return nil
		}
		recs, err := src.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.cfg.logger.Warn("entityparser: poll failed", "error", err.Error(), "retry_in", wait.String())
			if p.cfg.sleep(ctx, wait) != nil {
				return nil
			}
			wait = min(2*wait, p.cfg.backoff[1])
			continue
		}
		wait = p.cfg.backoff[0]
		for _, rec := range recs {
			if err := p.Handle(ctx, rec, src, dst); err != nil {
				return err
			}
		}
	}
}
