// Package kafkasink is Warden's reference audit sink: it produces each
// encoded event to the Kafka topic audit.events with franz-go, keyed by
// tenant, so that a chaining service can build each tenant's hash chain.
//
// Records are produced with acks=all and franz-go's idempotent producer (a
// retried batch is never written twice), zstd compression, a bounded client
// buffer and a delivery timeout. Keys are partitioned with the CRC-32 rule of
// the reference platform's client (crc32(key) mod partitions) rather than
// franz-go's default murmur2, so a tenant's events from Python and Go
// producers land in the same partition and stay in order.
//
// The same code runs against kfake (franz-go's in-process, real-protocol
// broker) in tests and examples, and against a production cluster by
// changing the seed brokers.
package kafkasink

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit"
)

// Defaults.
const (
	// DefaultTopic is the audit event topic of the reference platform.
	DefaultTopic = "audit.events"
	// DefaultDeliveryTimeout bounds how long franz-go keeps retrying a
	// record (for example through a broker outage) before failing it.
	DefaultDeliveryTimeout = 2 * time.Minute
	// DefaultMaxBufferedRecords bounds the client's own buffer. The Emitter's
	// ring is the buffer that drops; this one only has to hold a few batches.
	DefaultMaxBufferedRecords = 16384
)

// ErrInvalidConfig is matched by errors.Is for every configuration error.
var ErrInvalidConfig = errors.New("kafkasink: invalid configuration")

// Sink writes audit messages to Kafka. It implements audit.Sink,
// audit.Flusher and audit.Closer.
type Sink struct {
	cl    *kgo.Client
	owned bool // the sink built cl and closes it
	topic string
}

var (
	_ audit.Sink        = (*Sink)(nil)
	_ audit.AsyncWriter = (*Sink)(nil)
	_ audit.Flusher     = (*Sink)(nil)
	_ audit.Closer      = (*Sink)(nil)
)

type config struct {
	topic      string
	clientOpts []kgo.Opt
	errs       []error
}

// Option configures a Sink.
type Option func(*config)

// WithTopic sets the topic records are produced to. This overrides the
// default of "audit.events".
func WithTopic(topic string) Option {
	return func(c *config) {
		if topic == "" {
			c.errs = append(c.errs, fmt.Errorf("%w: empty topic", ErrInvalidConfig))
		}
		c.topic = topic
	}
}

// WithClientOptions adds franz-go options (TLS, SASL, client id, ...) to the
// client NewFromSeeds builds, after ClientOptions; it has no effect on New.
func WithClientOptions(opts ...kgo.Opt) Option {
	return func(c *config) { c.clientOpts = append(c.clientOpts, opts...) }
}

func newConfig(opts []Option) (config, error) {
	c := config{topic: DefaultTopic}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c, errors.Join(c.errs...)
}

// New returns a Sink that borrows cl: the sink never closes it. The host must
// build cl with Partitioner() (ClientOptions includes it) — the sink cannot
// check — or tenants will be partitioned differently from the reference
// platform's producers.
func New(cl *kgo.Client, opts ...Option) (*Sink, error) {
	c, err := newConfig(opts)
	if cl == nil {
		err = errors.Join(err, fmt.Errorf("%w: nil client", ErrInvalidConfig))
	}
	if err != nil {
		return nil, err
	}
	return &Sink{cl: cl, topic: c.topic}, nil
}

// NewFromSeeds builds and owns a client for the given seed brokers with
// ClientOptions(topic) and any WithClientOptions. Close closes it.
func NewFromSeeds(seeds []string, opts ...Option) (*Sink, error) {
	c, err := newConfig(opts)
	if len(seeds) == 0 {
		err = errors.Join(err, fmt.Errorf("%w: no seed brokers", ErrInvalidConfig))
	}
	if err != nil {
		return nil, err
	}
	kopts := append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, ClientOptions(c.topic)...)
	cl, err := kgo.NewClient(append(kopts, c.clientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafkasink: building client: %w", err)
	}
	return &Sink{cl: cl, owned: true, topic: c.topic}, nil
}

// ClientOptions are the producer settings of the reference adapter: default
// produce topic, the CRC-32 key partitioner, acks=all with idempotent writes
// (franz-go's default once acks=all), zstd compression, a delivery timeout,
// a bounded client buffer and no client-side linger (the Emitter batches).
// A borrowed client given to New should use the same settings.
func ClientOptions(topic string) []kgo.Opt {
	return []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(Partitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.ZstdCompression(), kgo.NoCompression()),
		kgo.RecordDeliveryTimeout(DefaultDeliveryTimeout),
		kgo.MaxBufferedRecords(DefaultMaxBufferedRecords),
		// The Emitter already batches (and lingers); a second linger in the
		// client would only add latency to every WriteAsync.
		kgo.ProducerLinger(0),
	}
}

// Partitioner places a record in partition crc32(key) mod n (IEEE CRC-32,
// unsigned), the rule of the reference platform's Kafka client. A record
// with no key goes to partition 0.
func Partitioner() kgo.Partitioner {
	return kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
		return func(r *kgo.Record, n int) int { return PartitionFor(r.Key, n) }
	})
}

// PartitionFor is the partition of key among n partitions.
func PartitionFor(key []byte, n int) int {
	if n <= 0 {
		return 0
	}
	return int(crc32.ChecksumIEEE(key) % uint32(n))
}

// Write produces one record per message (key = tenant id, value = the
// canonical event) and waits for all of them. Records that fail are
// reported as *audit.RecordError entries of a *multierror.Error, so the
// Emitter retries only those.
func (s *Sink) Write(ctx context.Context, batch []audit.Message) error {
	return s.WriteAsync(ctx, batch)()
}

// WriteAsync hands the batch to the client in order and returns at once; the
// returned wait blocks until every record is acknowledged or failed. The
// Emitter uses it to keep several batches in flight.
func (s *Sink) WriteAsync(ctx context.Context, batch []audit.Message) (wait func() error) {
	p := &pendingBatch{errs: make([]error, len(batch))}
	p.wg.Add(len(batch))
	for i, m := range batch {
		r := &kgo.Record{Topic: s.topic, Key: []byte(m.TenantID), Value: m.Value}
		s.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			p.errs[i] = err // each index is written once, before Done
			p.wg.Done()
		})
	}
	return p.wait
}

type pendingBatch struct {
	wg   sync.WaitGroup
	errs []error // one per record, written by franz-go's promise goroutine
}

func (p *pendingBatch) wait() error {
	p.wg.Wait()
	var errs *multierror.Error
	for i, err := range p.errs {
		if err != nil {
			errs = multierror.Append(errs, &audit.RecordError{Index: i, Err: err})
		}
	}
	return errs.ErrorOrNil()
}

// Flush waits until everything the client buffers is acknowledged or ctx
// ends.
func (s *Sink) Flush(ctx context.Context) error {
	if err := s.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafkasink: flush: %w", err)
	}
	return nil
}

// Close flushes the client within ctx's deadline and then, if the sink owns
// it, closes it. Flushing first matters: franz-go's Close alone fails every
// record still buffered.
func (s *Sink) Close(ctx context.Context) error {
	err := s.Flush(ctx)
	if s.owned {
		s.cl.Close()
	}
	return err
}

// Client returns the underlying client (for health checks and metrics).
func (s *Sink) Client() *kgo.Client { return s.cl }
