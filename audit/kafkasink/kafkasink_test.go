package kafkasink

import (
	"context"
	"fmt"
	"hash/crc32"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/taxonomy"
)

var quiet = audit.WithLogger(slog.New(slog.DiscardHandler))

// newCluster starts an in-process Kafka broker with audit.events (4
// partitions) and returns its seed addresses.
func newCluster(t testing.TB, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(4, DefaultTopic)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

func newSink(t testing.TB, seeds []string, extra ...kgo.Opt) *Sink {
	t.Helper()
	s, err := NewFromSeeds(seeds, WithClientOptions(append([]kgo.Opt{kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond })}, extra...)...))
	require.NoError(t, err)
	return s
}

func event(tenant string, i int) audit.Event {
	return audit.Event{TenantID: tenant, Type: taxonomy.AlertClassified, ActorType: taxonomy.ActorAgent,
		ActorID: "orchestrator", Context: audit.Fields{"i": i}}
}

// consumed is one record read back from the topic.
type consumed struct {
	partition int32
	key       string
	value     []byte
	headers   int
}

// consumeAll reads the topic until n records have arrived or no record
// arrives for quiet.
func consumeAll(t testing.TB, seeds []string, topic string, n int) []consumed {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var out []consumed
	deadline := time.Now().Add(30 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, consumed{partition: r.Partition, key: string(r.Key), value: r.Value, headers: len(r.Headers)})
		})
	}
	// Anything beyond n would be a duplicate; give it a moment to show.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
		out = append(out, consumed{partition: r.Partition, key: string(r.Key), value: r.Value, headers: len(r.Headers)})
	})
	cancel()
	return out
}

// Spec §2.6: the reference's partition examples.
func TestPartitionerMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		key  string
		n, p int
	}{
		{"tenant-alpha", 4, 0}, {"tenant-beta", 4, 3}, {"tënant-γ", 4, 2}, {"system", 4, 3},
		{"tenant-alpha", 3, 2}, {"tënant-γ", 3, 1},
	} {
		assert.Equal(t, tc.p, PartitionFor([]byte(tc.key), tc.n), "%s mod %d", tc.key, tc.n)
	}
	// Unsigned arithmetic: masking the top bit (murmur2-style) would differ.
	sum := crc32.ChecksumIEEE([]byte("tenant-alpha"))
	assert.NotEqual(t, int(sum&0x7fffffff%3), PartitionFor([]byte("tenant-alpha"), 3))
	assert.Zero(t, PartitionFor(nil, 4))
	assert.Zero(t, PartitionFor([]byte("x"), 0))
}

// Delivery, per-tenant ordering, key, partition, headers and value bytes
// (checklist 12).
func TestDeliveryAndPerTenantOrder(t *testing.T) {
	_, seeds := newCluster(t)
	sink := newSink(t, seeds)
	em, err := audit.New(sink, quiet, audit.WithBatchSize(64))
	require.NoError(t, err)
	tenants := []string{"tenant-alpha", "tenant-beta", "tënant-γ", "system"}
	const each = 250
	for i := range each {
		for _, tn := range tenants {
			_, ok := em.Emit(event(tn, i))
			require.True(t, ok)
		}
	}
	require.NoError(t, em.Close(context.Background()))
	st := em.Stats()
	require.Equal(t, uint64(len(tenants)*each), st.Delivered)

	recs := consumeAll(t, seeds, DefaultTopic, len(tenants)*each)
	require.Len(t, recs, len(tenants)*each)
	lastSeq := map[string]uint64{}
	for _, r := range recs {
		rec, err := audit.DecodeRecord(r.value)
		require.NoError(t, err)
		assert.Equal(t, rec.TenantID, r.key, "key is the tenant id")
		assert.Equal(t, int32(PartitionFor([]byte(r.key), 4)), r.partition)
		assert.Zero(t, r.headers)
		c, err := canonical.Canonicalize(r.value)
		require.NoError(t, err)
		assert.Equal(t, string(c), string(r.value), "value is the canonical event")
		assert.Greater(t, rec.ProducerSeq, lastSeq[rec.TenantID], "per-tenant order")
		lastSeq[rec.TenantID] = rec.ProducerSeq
	}
}

// gatedSink blocks Write until released, to force drops in the ring.
type gatedSink struct {
	audit.Sink
	release chan struct{}
}

func (g *gatedSink) Write(ctx context.Context, batch []audit.Message) error {
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Sink.Write(ctx, batch)
}

// Checklist 35: drops forced by a blocked sink are exactly the gaps a
// consumer of the topic finds.
func TestDropsAreVisibleAsGapsOnTheTopic(t *testing.T) {
	_, seeds := newCluster(t)
	sink := newSink(t, seeds)
	gated := &gatedSink{Sink: sink, release: make(chan struct{})}
	em, err := audit.New(gated, quiet, audit.WithRingSize(16))
	require.NoError(t, err)
	tenants := []string{"tenant-alpha", "tenant-beta", "tënant-γ"}
	for i := range 1000 {
		em.Emit(event(tenants[i%3], i))
	}
	close(gated.release)
	require.NoError(t, em.Close(context.Background()))
	require.NoError(t, sink.Close(context.Background()))
	st := em.Stats()
	require.Greater(t, st.Dropped, uint64(0))

	recs := consumeAll(t, seeds, DefaultTopic, int(st.Delivered))
	require.Len(t, recs, int(st.Delivered))
	tr := audit.NewSeqTracker()
	for _, r := range recs {
		tr.ObserveRecord(r.value)
		assert.Equal(t, int32(PartitionFor([]byte(r.key), 4)), r.partition)
	}
	tr.Observe(em.ProducerID(), st.LastSeq+1) // quiescent: everything up to LastSeq is final
	assert.Equal(t, st.Dropped+st.Failed, tr.MissingCount(em.ProducerID()))
	assert.Zero(t, tr.Duplicates())
}

// A broker outage during emission: Emit stays fast (it never waits for the
// sink), events wait in the ring and the client buffer, and are delivered
// after recovery; anything lost is exactly Dropped + Failed.
func TestBrokerOutageBuffersThenDelivers(t *testing.T) {
	c, seeds := newCluster(t)
	sink := newSink(t, seeds)
	em, err := audit.New(sink, quiet, audit.WithRingSize(1<<14))
	require.NoError(t, err)
	outage := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotLeaderForPartition, Count: -1})

	var slowest time.Duration
	for i := range 3000 {
		start := time.Now()
		em.Emit(event("tenant-alpha", i))
		slowest = max(slowest, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	assert.Error(t, em.Flush(ctx), "nothing can be delivered during the outage")
	cancel()
	assert.Zero(t, em.Stats().Delivered)
	t.Logf("slowest Emit during the outage: %v", slowest)

	outage.Remove()
	require.NoError(t, em.Close(context.Background()))
	st := em.Stats()
	recs := consumeAll(t, seeds, DefaultTopic, int(st.Delivered))
	tr := audit.NewSeqTracker()
	for _, r := range recs {
		tr.ObserveRecord(r.value)
	}
	tr.Observe(em.ProducerID(), st.LastSeq+1)
	assert.Equal(t, uint64(3000), st.Delivered, "a ring big enough for the outage loses nothing")
	assert.Equal(t, st.Dropped+st.Failed, tr.MissingCount(em.ProducerID()))
	assert.Zero(t, tr.Duplicates())
}

// Produce requests that time out after the broker applied them are retried
// by the client; the idempotent producer makes the broker discard the
// repeats, so no record appears twice.
func TestRequestTimeoutsMakeNoDuplicates(t *testing.T) {
	c, seeds := newCluster(t)
	sink := newSink(t, seeds)
	em, err := audit.New(sink, quiet, audit.WithBatchSize(50))
	require.NoError(t, err)
	timeouts := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: 5})
	for i := range 500 {
		em.Emit(event(fmt.Sprintf("tenant-%d", i%5), i))
	}
	require.NoError(t, em.Close(context.Background()))
	require.NoError(t, sink.Close(context.Background()))
	assert.Equal(t, 5, timeouts.Hits())
	st := em.Stats()
	assert.Equal(t, uint64(500), st.Delivered)

	recs := consumeAll(t, seeds, DefaultTopic, 500)
	tr := audit.NewSeqTracker()
	for _, r := range recs {
		tr.ObserveRecord(r.value)
	}
	assert.Len(t, recs, 500)
	assert.Zero(t, tr.Duplicates())
	assert.Empty(t, tr.Missing(em.ProducerID()))
}

// Close flushes the client before closing it: records other code produced
// asynchronously through the same client, still buffered during an outage
// when Close starts, are delivered rather than failed (franz-go's Close
// alone fails them).
func TestCloseFlushesBufferedRecords(t *testing.T) {
	c, seeds := newCluster(t)
	sink := newSink(t, seeds)
	outage := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotLeaderForPartition, Count: -1})
	var mu sync.Mutex
	var delivered, failed int
	for i := range 20 {
		sink.Client().Produce(context.Background(),
			&kgo.Record{Key: []byte("tenant-alpha"), Value: []byte(fmt.Sprintf(`{"i":%d}`, i))},
			func(_ *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
				} else {
					delivered++
				}
			})
	}
	time.AfterFunc(200*time.Millisecond, outage.Remove)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, sink.Close(ctx))
	mu.Lock()
	assert.Equal(t, 20, delivered)
	assert.Zero(t, failed)
	mu.Unlock()
	assert.Len(t, consumeAll(t, seeds, DefaultTopic, 20), 20)
}

// Write reports failed records individually, as audit.RecordError entries.
func TestWriteReportsRecordErrors(t *testing.T) {
	c, seeds := newCluster(t)
	sink := newSink(t, seeds, kgo.RecordRetries(1), kgo.RecordDeliveryTimeout(time.Second))
	defer sink.Close(context.Background())
	part := int32(PartitionFor([]byte("tenant-beta"), 4))
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: DefaultTopic, Partitions: []int32{part},
		Err: kerr.CorruptMessage, Count: -1})
	batch := []audit.Message{
		{TenantID: "tenant-alpha", Value: []byte(`{"a":1}`)},
		{TenantID: "tenant-beta", Value: []byte(`{"b":1}`)},
	}
	err := sink.Write(context.Background(), batch)
	require.Error(t, err)
	var re *audit.RecordError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Index)
}

func TestEnsureTopic(t *testing.T) {
	_, seeds := newCluster(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	require.NoError(t, EnsureTopic(ctx, adm, WithTopicName("audit.test")))
	require.NoError(t, EnsureTopic(ctx, adm, WithTopicName("audit.test"), WithPartitions(12)), "existing topic is left alone")
	require.NoError(t, EnsureTopic(ctx, adm, WithTopicName("audit.forever"), WithRetention(-1)))

	details, err := adm.ListTopics(ctx, "audit.test", "audit.forever")
	require.NoError(t, err)
	assert.Len(t, details["audit.test"].Partitions, 4)
	cfgs, err := adm.DescribeTopicConfigs(ctx, "audit.test", "audit.forever")
	require.NoError(t, err)
	want := map[string]map[string]string{
		"audit.test":    {"retention.ms": "7776000000", "cleanup.policy": "delete"},
		"audit.forever": {"retention.ms": "-1", "cleanup.policy": "delete"},
	}
	for _, rc := range cfgs {
		for _, cfg := range rc.Configs {
			if w, ok := want[rc.Name][cfg.Key]; ok {
				assert.Equal(t, w, cfg.MaybeValue(), "%s %s", rc.Name, cfg.Key)
				delete(want[rc.Name], cfg.Key)
			}
		}
	}
	assert.Empty(t, want["audit.test"])
	assert.Empty(t, want["audit.forever"])

	assert.ErrorIs(t, EnsureTopic(ctx, nil), ErrInvalidConfig)
	assert.ErrorIs(t, EnsureTopic(ctx, adm, WithPartitions(0)), ErrInvalidConfig)
}

func TestConstructorsValidate(t *testing.T) {
	_, err := New(nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewFromSeeds(nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewFromSeeds([]string{"127.0.0.1:1"}, WithTopic(""))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	require.NoError(t, err)
	defer cl.Close()
	s, err := New(cl, WithTopic("other"))
	require.NoError(t, err)
	assert.Same(t, cl, s.Client())
	require.NoError(t, s.Close(context.Background()), "a borrowed client with nothing buffered")
}

// Many goroutines emitting to Kafka at once (run with -race).
func TestConcurrentEmittersToKafka(t *testing.T) {
	_, seeds := newCluster(t)
	sink := newSink(t, seeds)
	em, err := audit.New(sink, quiet, audit.WithRingSize(1<<15))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				em.Emit(event(fmt.Sprintf("tenant-%d", g%6), i))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, em.Close(context.Background()))
	st := em.Stats()
	recs := consumeAll(t, seeds, DefaultTopic, int(st.Delivered))
	assert.Len(t, recs, int(st.Delivered))
	tr := audit.NewSeqTracker()
	for _, r := range recs {
		tr.ObserveRecord(r.value)
	}
	tr.Observe(em.ProducerID(), st.LastSeq+1)
	assert.Equal(t, st.Dropped+st.Failed, tr.MissingCount(em.ProducerID()))
	assert.Zero(t, tr.Duplicates())
}
