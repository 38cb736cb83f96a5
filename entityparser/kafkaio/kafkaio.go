// Package kafkaio connects entityparser's ports to Kafka with franz-go: a
// Consumer over a consumer group that commits exactly the handled records,
// and a Publisher that produces synchronously. It is the only part of
// entityparser that imports a Kafka client.
package kafkaio

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/entityparser"
)

// Config names the consumer group and the consumed topic.
type Config struct {
	// Group is the consumer group; empty means DefaultGroup.
	Group string
	// Topic is the consumed topic; empty means entityparser.DefaultRawTopic.
	Topic string
}

// DefaultGroup is the consumer group of the entity parser.
const DefaultGroup = entityparser.DefaultConsumerGroup

// ConsumerOpts returns the franz-go options of a consumer client: the
// group and topic of cfg, reset to the earliest offset, auto-commit
// disabled (Consumer.Commit commits exactly the handled records). Add the
// seed brokers and any client options (TLS, SASL) to them.
func ConsumerOpts(cfg Config) []kgo.Opt {
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.Topic == "" {
		cfg.Topic = entityparser.DefaultRawTopic
	}
	return []kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	}
}

// Consumer implements entityparser.Consumer over a group-consuming client
// built with ConsumerOpts. The client is the caller's to close.
type Consumer struct {
	cl *kgo.Client
}

// Publisher implements entityparser.Publisher over a client. The client is
// the caller's to close.
type Publisher struct {
	cl *kgo.Client
}

var (
	_ entityparser.Consumer  = (*Consumer)(nil)
	_ entityparser.Publisher = (*Publisher)(nil)
)

// ErrNilClient is returned for a nil client.
var ErrNilClient = errors.New("kafkaio: nil client")

// NewConsumer wraps a client built with ConsumerOpts.
func NewConsumer(cl *kgo.Client) (*Consumer, error) {
	if cl == nil {
		return nil, ErrNilClient
	}
	return &Consumer{cl: cl}, nil
}

// NewPublisher wraps a client for synchronous produce.
func NewPublisher(cl *kgo.Client) (*Publisher, error) {
	if cl == nil {
		return nil, ErrNilClient
	}
	return &Publisher{cl: cl}, nil
}

// Poll blocks until records arrive or ctx is done.
func (c *Consumer) Poll(ctx context.Context) ([]entityparser.Record, error) {
	fetches := c.cl.PollFetches(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if fetches.IsClientClosed() {
		return nil, kgo.ErrClientClosed
	}
	var errs []error
	fetches.EachError(func(topic string, partition int32, err error) {
		errs = append(errs, fmt.Errorf("kafkaio: fetch %s[%d]: %w", topic, partition, err))
	})
	var recs []entityparser.Record
	fetches.EachRecord(func(r *kgo.Record) {
		recs = append(recs, entityparser.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value})
	})
	if len(recs) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return recs, nil
}

// Commit commits the offsets after recs (synchronously).
func (c *Consumer) Commit(ctx context.Context, recs ...entityparser.Record) error {
	if len(recs) == 0 {
		return nil
	}
	krs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		krs[i] = &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, LeaderEpoch: -1}
	}
	return c.cl.CommitRecords(ctx, krs...)
}

// Publish produces one record and waits for the broker's acknowledgement.
func (p *Publisher) Publish(ctx context.Context, topic string, key, value []byte) error {
	return p.cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: key, Value: value}).FirstErr()
}
