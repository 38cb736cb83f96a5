package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit/kafkasink"
)

// Topics of the demo. audit.events and audit.records are the audit trail's;
// the other two receive what ctem and atlas publish.
const (
	TopicEvents       = kafkasink.DefaultTopic // "audit.events"
	TopicRecords      = "audit.records"
	TopicAlertsRaw    = "alerts.raw"
	TopicCTEMNormal   = "ctem.normalized"
	DefaultPartitions = kafkasink.DefaultPartitions
)

// Kafka is the cluster the pipeline runs on: an in-process kfake broker when
// no seed brokers are given, else a real cluster.
type Kafka struct {
	Seeds    []string
	Embedded bool

	cluster *kfake.Cluster // nil for a real cluster
	client  *kgo.Client    // admin and publishing client, no consumer
	admin   *kadm.Client
}

// StartKafka connects to brokers, or starts an in-process kfake cluster
// (one broker) when brokers is empty, and creates the demo's topics:
// audit.events (kafkasink's defaults: 4 partitions, 90-day retention),
// audit.records and audit.checkpoints (same partitions, retention.ms=-1,
// cleanup.policy=delete: a chain must never be compacted or expire),
// alerts.raw and ctem.normalized.
func StartKafka(ctx context.Context, brokers []string) (*Kafka, error) {
	k := &Kafka{Seeds: brokers}
	if len(brokers) == 0 {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return nil, fmt.Errorf("start in-process kafka: %w", err)
		}
		k.cluster, k.Embedded, k.Seeds = c, true, c.ListenAddrs()
	}
	cl, err := kgo.NewClient(append(kafkasink.ClientOptions(""), kgo.SeedBrokers(k.Seeds...))...)
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	k.client, k.admin = cl, kadm.NewClient(cl)
	if err := k.ensureTopics(ctx); err != nil {
		k.Close()
		return nil, err
	}
	return k, nil
}

func (k *Kafka) ensureTopics(ctx context.Context) error {
	for _, opts := range [][]kafkasink.TopicOption{
		{kafkasink.WithTopicName(TopicEvents)},
		{kafkasink.WithTopicName(TopicRecords), kafkasink.WithRetention(-1)},
		{kafkasink.WithTopicName(TopicCheckpoints), kafkasink.WithRetention(-1)},
		{kafkasink.WithTopicName(TopicAlertsRaw)},
		{kafkasink.WithTopicName(TopicCTEMNormal)},
	} {
		if err := kafkasink.EnsureTopic(ctx, k.admin, opts...); err != nil {
			return fmt.Errorf("create topics: %w", err)
		}
	}
	return nil
}

// Publish implements the Publisher ports of ctem and atlas: one record,
// acknowledged before it returns.
func (k *Kafka) Publish(ctx context.Context, topic string, key, value []byte) error {
	return k.client.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: key, Value: value}).FirstErr()
}

// Close closes the client and, for the embedded cluster, the broker.
func (k *Kafka) Close() {
	if k.client != nil {
		k.client.Close()
	}
	if k.cluster != nil {
		k.cluster.Close()
	}
}

// ReadAll reads topic from the beginning up to the end offsets it has when
// ReadAll starts, calling fn for each record in partition order. isolation
// read_committed skips aborted transactional writes (audit.records is
// written in transactions). It returns when every partition reached its end
// or ctx ends.
func (k *Kafka) ReadAll(ctx context.Context, topic string, fn func(*kgo.Record)) error {
	return k.ReadFrom(ctx, topic, nil, fn)
}

// EndOffsets returns the next offset of every partition of topic: where a
// reader starts to see only what is written from now on.
func (k *Kafka) EndOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	ends, err := k.admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}

// ReadFrom is ReadAll starting at the given offsets (partitions not named
// start at the beginning).
func (k *Kafka) ReadFrom(ctx context.Context, topic string, from map[int32]int64, fn func(*kgo.Record)) error {
	ends, err := k.EndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	want := map[int32]int64{}
	parts := map[int32]kgo.Offset{}
	for p, end := range ends {
		if end > from[p] {
			want[p] = end
			parts[p] = kgo.NewOffset().At(from[p])
		}
	}
	if len(want) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	next := map[int32]int64{} // offset after the last record seen
	idle := 0
	wait := idlePoll
	if !k.Embedded {
		wait = idlePollRemote
	}
	// Only the chaining service writes in transactions (commit markers).
	var slack int64
	if topic == TopicRecords || topic == TopicCheckpoints {
		slack = 1
	}
	for !caughtUp(want, next, 0) && !(idle > 0 && caughtUp(want, next, slack)) && idle < maxIdlePolls {
		pctx, cancel := context.WithTimeout(ctx, wait)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", topic, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = errors.Join(ferr, err)
			}
		})
		if ferr != nil {
			return fmt.Errorf("read %s: %w", topic, ferr)
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			next[r.Partition] = r.Offset + 1
			fn(r)
		})
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	return nil
}

// A transactional topic's partitions end with a commit marker that is never
// delivered as a record, so the last record's offset is one below the end
// offset: ReadFrom accepts that after one empty poll. Aborted records are not
// delivered either; behind them it gives up after maxIdlePolls empty polls in
// a row (longer ones on a remote cluster, where a fetch can take a while).
const (
	idlePoll       = 200 * time.Millisecond
	idlePollRemote = 500 * time.Millisecond
	maxIdlePolls   = 3
)

// caughtUp reports whether every partition was read to within slack offsets
// of its end.
func caughtUp(want, next map[int32]int64, slack int64) bool {
	for p, end := range want {
		if next[p]+slack < end {
			return false
		}
	}
	return true
}
