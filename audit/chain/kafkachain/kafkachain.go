// Package kafkachain is Warden's exactly-once chaining service: it consumes
// audit events from Kafka (audit.events), links each tenant's events into
// its hash chain (audit/chain), and produces the chained records to
// audit.records — committing the consumed offsets in the same Kafka
// transaction as the records, so every event is chained exactly once even
// across crashes, restarts and rebalances.
//
// # Design
//
//   - One franz-go GroupTransactSession consumes audit.events with
//     read-committed isolation. Each poll becomes one transaction: the
//     linked records (and any due checkpoints) are produced, the offsets
//     are committed inside the transaction, and the transaction is ended.
//     If anything fails, or the group rebalances before the commit, the
//     transaction aborts, the consumer rewinds to the committed offsets and
//     the in-memory chain heads are rolled back with it.
//   - audit.records uses the same key (tenant) and CRC-32 partitioner and
//     the same partition count as audit.events, so a tenant's events and
//     records live in partition p of both topics, and the processor that
//     owns events partition p is the only writer of records partition p.
//   - Chain heads are not stored anywhere else: when the processor gets a
//     partition it reads records partition p (read-committed) to its end and
//     keeps, per tenant, the last record (its head) and the audit ids of the
//     last records (the dedup window). Before that it initialises its
//     transactional producer, which fences a previous incarnation with the
//     same transactional id and aborts its open transaction, so the scan
//     sees exactly the committed chain. A restart therefore continues every
//     chain where the last committed transaction left it. The scan costs one
//     read of the partition per assignment.
//   - Signed checkpoints (chain.Checkpoint) are produced in the same
//     transactions to audit.checkpoints (same key and partitioning), every N
//     records of a tenant and on a timer; a verifier reads both topics.
//   - An event whose tenant_id does not belong to the partition it arrived
//     on (a producer that did not key by tenant) cannot be chained there
//     without risking two writers for one chain; it is re-produced to
//     audit.events with the right key, in the same transaction, and chained
//     when its own partition's owner reads it.
//   - A value that is not a JSON object, or whose tenant_id is not a string,
//     is logged, counted and skipped (its offset is committed), as nothing
//     valid can be chained from it.
//
// Run blocks until its context ends (a kill: the open transaction is
// abandoned and aborted by the broker when the transactional id is reused)
// or Stop is called (a graceful stop after the current transaction).
package kafkachain

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/audit/kafkasink"
)

// Defaults.
const (
	DefaultEventsTopic      = kafkasink.DefaultTopic
	DefaultRecordsTopic     = "audit.records"
	DefaultCheckpointsTopic = "audit.checkpoints"
	DefaultGroup            = "warden.audit-chain"
	DefaultMaxPollRecords   = 1000
	DefaultRecoveryTimeout  = 2 * time.Minute
)

// ErrInvalidConfig is matched by errors.Is for every configuration error.
var ErrInvalidConfig = errors.New("kafkachain: invalid configuration")

// Stats are the processor's counters (since New).
type Stats struct {
	Consumed         uint64 // events read (including re-reads after an abort)
	Chained          uint64 // records committed, genesis records excluded
	Geneses          uint64 // genesis records committed
	Duplicates       uint64 // events skipped by the dedup window
	Malformed        uint64 // events skipped as unchainable
	Rerouted         uint64 // events re-produced to their tenant's partition
	Committed        uint64 // transactions committed
	Aborted          uint64 // transactions aborted
	Recoveries       uint64 // partitions whose heads were read from audit.records
	Checkpoints      uint64 // checkpoints committed
	CheckpointErrors uint64 // checkpoints that could not be signed
}

type config struct {
	seeds           []string
	events          string
	records         string
	checkpoints     string
	group           string
	txnID           string
	clientOpts      []kgo.Opt
	clock           func() time.Time
	newID           func(time.Time) string
	logger          *slog.Logger
	dedup           int
	signer          crypto.Signer
	every           int
	interval        time.Duration
	maxPoll         int
	recoveryTimeout time.Duration
	errs            []error
}

func (c *config) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
}

// Option configures a Processor.
type Option func(*config)

func topicOption(name string, set func(*config, string)) func(string) Option {
	return func(topic string) Option {
		return func(c *config) {
			if topic == "" {
				c.invalid("empty %s topic", name)
				return
			}
			set(c, topic)
		}
	}
}

// WithEventsTopic sets the topic consumed. This overrides the default of
// "audit.events".
func WithEventsTopic(topic string) Option {
	return topicOption("events", func(c *config, t string) { c.events = t })(topic)
}

// WithRecordsTopic sets the topic chained records go to. This overrides
// the default of "audit.records".
func WithRecordsTopic(topic string) Option {
	return topicOption("records", func(c *config, t string) { c.records = t })(topic)
}

// WithCheckpointsTopic sets the topic signed checkpoints go to. This
// overrides the default of "audit.checkpoints".
func WithCheckpointsTopic(topic string) Option {
	return topicOption("checkpoints", func(c *config, t string) { c.checkpoints = t })(topic)
}

// WithGroup sets the consumer group. This overrides the default of
// "warden.audit-chain".
func WithGroup(group string) Option {
	return func(c *config) {
		if group == "" {
			c.invalid("empty group")
			return
		}
		c.group = group
	}
}

// WithTransactionalID sets the transactional id. It must be stable across
// restarts of one processor instance (so a restart fences its predecessor)
// and unique among concurrently running instances. This overrides the
// default of the group name (right for a single instance).
func WithTransactionalID(id string) Option {
	return func(c *config) {
		if id == "" {
			c.invalid("empty transactional id")
			return
		}
		c.txnID = id
	}
}

// WithClientOptions adds franz-go options (TLS, SASL, timeouts, ...) after
// the processor's own.
func WithClientOptions(opts ...kgo.Opt) Option {
	return func(c *config) { c.clientOpts = append(c.clientOpts, opts...) }
}

// WithClock sets the clock for ingested_at, genesis timestamps and
// checkpoints. This overrides the default of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.invalid("nil clock")
			return
		}
		c.clock = now
	}
}

// WithIDFunc sets how genesis records get their audit_id. This overrides
// the default of audit.NewIDAt.
func WithIDFunc(f func(time.Time) string) Option {
	return func(c *config) {
		if f == nil {
			c.invalid("nil id function")
			return
		}
		c.newID = f
	}
}

// WithLogger sets the logger. This overrides the default of
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithDedupWindow sets how many of each tenant's latest records are checked
// for a redelivered event (same audit_id); 0 disables it. This overrides
// the default of 1,024.
func WithDedupWindow(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.invalid("negative dedup window %d", n)
			return
		}
		c.dedup = n
	}
}

// WithCheckpointSigner turns on signed checkpoints (Ed25519). By default
// none are produced.
func WithCheckpointSigner(signer crypto.Signer) Option {
	return func(c *config) {
		if signer == nil {
			c.invalid("nil checkpoint signer")
			return
		}
		if _, ok := signer.Public().(ed25519.PublicKey); !ok {
			c.errs = append(c.errs, fmt.Errorf("%w: %w", ErrInvalidConfig, chain.ErrSignerKey))
			return
		}
		c.signer = signer
	}
}

// WithCheckpointEvery sets the number of a tenant's records between
// checkpoints. This overrides the default of 1,000.
func WithCheckpointEvery(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.invalid("checkpoint every %d", n)
			return
		}
		c.every = n
	}
}

// WithCheckpointInterval sets how often every tenant whose head moved since
// its last checkpoint gets one; 0 disables the timer. This overrides the
// default of one minute.
func WithCheckpointInterval(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.invalid("negative checkpoint interval")
			return
		}
		c.interval = d
	}
}

// WithMaxPollRecords bounds the events per transaction. This overrides the
// default of 1,000.
func WithMaxPollRecords(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.invalid("max poll records %d", n)
			return
		}
		c.maxPoll = n
	}
}

// WithRecoveryTimeout bounds reading a partition's chain heads. This
// overrides the default of two minutes.
func WithRecoveryTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("recovery timeout %v", d)
			return
		}
		c.recoveryTimeout = d
	}
}

// Processor is the exactly-once chaining service. Create it with New and
// call Run once.
type Processor struct {
	cfg config

	stop     chan struct{} // closed by Stop
	stopOnce sync.Once
	running  atomic.Bool

	// epoch counts revocations and losses of partitions; Run drops its
	// state when it changes. Written by franz-go's callbacks, read by Run.
	epoch atomic.Uint64

	consumed, chained, geneses, dups, malformed, rerouted, committed, aborted,
	recoveries, checkpoints, checkpointErrs atomic.Uint64

	// beforeEnd and afterEnd, when set by tests, run after a transaction's
	// records are produced and before it is ended, and after it ended.
	beforeEnd, afterEnd func()
}

// New validates the configuration. No connection is made until Run.
func New(seeds []string, opts ...Option) (*Processor, error) {
	cfg := config{seeds: seeds, events: DefaultEventsTopic, records: DefaultRecordsTopic,
		checkpoints: DefaultCheckpointsTopic, group: DefaultGroup, clock: time.Now, newID: audit.NewIDAt,
		logger: slog.Default(), dedup: chain.DefaultDedupWindow, every: chain.DefaultCheckpointEvery,
		interval: chain.DefaultCheckpointInterval, maxPoll: DefaultMaxPollRecords, recoveryTimeout: DefaultRecoveryTimeout}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if len(seeds) == 0 {
		cfg.invalid("no seed brokers")
	}
	if cfg.txnID == "" {
		cfg.txnID = cfg.group
	}
	if cfg.events == cfg.records || cfg.events == cfg.checkpoints || cfg.records == cfg.checkpoints {
		cfg.invalid("the events, records and checkpoints topics must differ")
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	return &Processor{cfg: cfg, stop: make(chan struct{})}, nil
}

// Stats returns a snapshot of the counters.
func (p *Processor) Stats() Stats {
	return Stats{Consumed: p.consumed.Load(), Chained: p.chained.Load(), Geneses: p.geneses.Load(),
		Duplicates: p.dups.Load(), Malformed: p.malformed.Load(), Rerouted: p.rerouted.Load(),
		Committed: p.committed.Load(), Aborted: p.aborted.Load(), Recoveries: p.recoveries.Load(),
		Checkpoints: p.checkpoints.Load(), CheckpointErrors: p.checkpointErrs.Load()}
}

// Stop asks Run to return after the current transaction ends. Safe to call
// at any time and more than once.
func (p *Processor) Stop() { p.stopOnce.Do(func() { close(p.stop) }) }

func (p *Processor) stopping() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// clientOptions are the session's franz-go options.
func (p *Processor) clientOptions() []kgo.Opt {
	bump := func(context.Context, *kgo.Client, map[string][]int32) { p.epoch.Add(1) }
	opts := []kgo.Opt{
		kgo.SeedBrokers(p.cfg.seeds...),
		kgo.ConsumerGroup(p.cfg.group),
		kgo.ConsumeTopics(p.cfg.events),
		kgo.TransactionalID(p.cfg.txnID),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsRevoked(bump),
		kgo.OnPartitionsLost(bump),
		kgo.DefaultProduceTopic(p.cfg.records),
		kgo.RecordPartitioner(kafkasink.Partitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.ZstdCompression(), kgo.NoCompression()),
	}
	return append(opts, p.cfg.clientOpts...)
}

// Run consumes, chains and produces until ctx ends (it then returns
// ctx.Err() and leaves the open transaction to be aborted) or Stop is
// called (it returns nil after the current transaction). Other errors are
// fatal: the transactional producer is in a state franz-go cannot recover.
func (p *Processor) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("kafkachain: Run called twice")
	}
	sess, err := kgo.NewGroupTransactSession(p.clientOptions()...)
	if err != nil {
		return fmt.Errorf("kafkachain: building client: %w", err)
	}
	defer sess.Close()
	adm := kadm.NewClient(sess.Client())
	nparts, err := p.checkTopics(ctx, adm)
	if err != nil {
		return err
	}
	// Initialising the transactional producer fences any earlier
	// incarnation with this transactional id and aborts its open
	// transaction, so the recovery scans below see only committed records.
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		return p.exit(ctx, fmt.Errorf("kafkachain: initialising the transactional producer: %w", err))
	}
	st := newState(p)
	st.nparts = nparts
	return p.loop(ctx, sess, adm, st)
}

// exit returns ctx's error if ctx ended (a kill), else err.
func (p *Processor) exit(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// checkTopics requires that the three topics exist and that records and
// checkpoints have as many partitions as events: a tenant must land in
// the same partition number in each.
func (p *Processor) checkTopics(ctx context.Context, adm *kadm.Client) (int, error) {
	topics := []string{p.cfg.events, p.cfg.records}
	if p.cfg.signer != nil {
		topics = append(topics, p.cfg.checkpoints)
	}
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return 0, p.exit(ctx, fmt.Errorf("kafkachain: listing topics: %w", err))
	}
	want := -1
	for _, t := range topics {
		d, ok := details[t]
		if !ok || d.Err != nil {
			return 0, fmt.Errorf("%w: topic %q does not exist (see EnsureTopics)", ErrInvalidConfig, t)
		}
		if want < 0 {
			want = len(d.Partitions)
		} else if len(d.Partitions) != want {
			return 0, fmt.Errorf("%w: topic %q has %d partitions, %q has %d; they must match",
				ErrInvalidConfig, t, len(d.Partitions), p.cfg.events, want)
		}
	}
	return want, nil
}

// EnsureTopics creates the processor's topics if they are missing:
// audit.events with kafkasink's defaults (90 days), audit.records and
// audit.checkpoints with the same partition count, kept forever
// (retention.ms=-1, cleanup.policy=delete: never compaction).
func EnsureTopics(ctx context.Context, adm *kadm.Client, partitions int32, opts ...Option) error {
	cfg := config{events: DefaultEventsTopic, records: DefaultRecordsTopic, checkpoints: DefaultCheckpointsTopic}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return err
	}
	err := kafkasink.EnsureTopic(ctx, adm, kafkasink.WithTopicName(cfg.events), kafkasink.WithPartitions(partitions))
	for _, t := range []string{cfg.records, cfg.checkpoints} {
		err = errors.Join(err, kafkasink.EnsureTopic(ctx, adm, kafkasink.WithTopicName(t),
			kafkasink.WithPartitions(partitions), kafkasink.WithRetention(-1)))
	}
	return err
}
