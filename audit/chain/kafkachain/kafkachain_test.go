package kafkachain

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
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
	"go.uber.org/goleak"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/audit/kafkasink"
	"github.com/socwarden/warden/taxonomy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// fastFetch keeps a fetch that happens to name only empty partitions (as
// franz-go's first fetch after an assignment can) from idling for the
// default 5 s.
var fastFetch = kgo.FetchMaxWait(100 * time.Millisecond)

var tenants = []string{"tenant-alpha", "tenant-beta", "tënant-γ", "system", "tenant-5"}

// newCluster starts kfake and creates the three topics with EnsureTopics.
func newCluster(t *testing.T) ([]string, *kadm.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	seeds := c.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	require.NoError(t, EnsureTopics(context.Background(), adm, 4))
	require.NoError(t, EnsureTopics(context.Background(), adm, 4), "idempotent")
	return seeds, adm
}

// readAll reads a topic's committed records in partition order.
func readAll(t *testing.T, seeds []string, adm *kadm.Client, topic string) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	var out [][]byte
	for part := int32(0); part < 4; part++ {
		e, _ := ends.Lookup(topic, part)
		if e.Offset == 0 {
			continue
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.KeepControlRecords(),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {part: kgo.NewOffset().AtStart()}}))
		require.NoError(t, err)
		done := false
		for !done {
			fs := cl.PollFetches(ctx)
			require.NoError(t, fs.Err0())
			fs.EachRecord(func(r *kgo.Record) {
				if !r.Attrs.IsControl() {
					out = append(out, r.Value)
				}
				if r.Offset >= e.Offset-1 {
					done = true
				}
			})
		}
		cl.Close()
	}
	return out
}

// producer emits events to audit.events through the real Emitter and
// kafkasink, flushing every batch so that production is spread out.
type producer struct {
	em    *audit.Emitter
	count map[string]int
}

func newProducer(t *testing.T, seeds []string) *producer {
	sink, err := kafkasink.NewFromSeeds(seeds)
	require.NoError(t, err)
	em, err := audit.New(sink, audit.WithLogger(quiet), audit.WithRingSize(1<<14))
	require.NoError(t, err)
	return &producer{em: em, count: map[string]int{}}
}

func (p *producer) emit(t *testing.T, n int) {
	for i := range n {
		tn := tenants[i%len(tenants)]
		_, ok := p.em.Emit(audit.Event{TenantID: tn, Type: taxonomy.AlertClassified, ActorType: taxonomy.ActorAgent,
			ActorID: "triage", Context: audit.Fields{"i": i, "score": 0.5}})
		require.True(t, ok)
		p.count[tn]++
	}
	require.NoError(t, p.em.Flush(context.Background()))
}

type runOutcome struct {
	stats Stats
	err   error
}

// start runs a processor. killAfter > 0 cancels its context inside
// transaction killAfter+1, after its records are produced and before it is
// ended (the worst moment); killAfter < 0 cancels it right after
// transaction -killAfter committed, while it polls for more.
func start(t *testing.T, seeds []string, key ed25519.PrivateKey, killAfter int, afterEnd chan<- struct{}, extra ...Option) (cancel func(), done <-chan runOutcome, p *Processor) {
	t.Helper()
	opts := []Option{WithLogger(quiet), WithCheckpointEvery(40), WithCheckpointInterval(0), WithMaxPollRecords(200),
		WithClientOptions(fastFetch)}
	opts = append(opts, extra...)
	if key != nil {
		opts = append(opts, WithCheckpointSigner(key))
	}
	p, err := New(seeds, opts...)
	require.NoError(t, err)
	ctx, cancelCtx := context.WithCancel(context.Background())
	txns := 0
	p.beforeEnd = func() {
		txns++
		if killAfter > 0 && txns > killAfter {
			cancelCtx()
		}
	}
	ended := 0
	p.afterEnd = func() {
		ended++
		if killAfter < 0 && ended >= -killAfter {
			cancelCtx()
		}
		if afterEnd != nil {
			select {
			case afterEnd <- struct{}{}:
			default:
			}
		}
	}
	ch := make(chan runOutcome, 1)
	go func() {
		err := p.Run(ctx)
		ch <- runOutcome{stats: p.Stats(), err: err}
	}()
	return cancelCtx, ch, p
}

// caughtUp reports whether the group has committed every event.
func caughtUp(t *testing.T, adm *kadm.Client) bool {
	ctx := context.Background()
	ends, err := adm.ListEndOffsets(ctx, DefaultEventsTopic)
	require.NoError(t, err)
	committed, err := adm.FetchOffsets(ctx, DefaultGroup)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return false // the group has not committed yet
	}
	require.NoError(t, err)
	all := true
	ends.Each(func(e kadm.ListedOffset) {
		c, ok := committed.Lookup(e.Topic, e.Partition)
		if e.Offset > 0 && (!ok || c.At < e.Offset) {
			all = false
		}
	})
	return all
}

// The exactly-once test: the processor is killed in the middle of
// transactions and restarted several times while producers keep emitting;
// the final audit.records holds, per tenant, sequences 0..N with no gap and
// no duplicate, every emitted event exactly once, and it verifies with its
// signed checkpoints.
func TestKillRestartExactlyOnce(t *testing.T) {
	seeds, adm := newCluster(t)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	prod := newProducer(t, seeds)

	// Producers keep emitting, in batches of 50, every few milliseconds,
	// up to maxEvents, through every kill and restart below.
	const maxEvents = 3000
	var wg sync.WaitGroup
	stopProducing := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for emitted := 0; emitted < maxEvents; emitted += 50 {
			select {
			case <-stopProducing:
				return
			case <-tick.C:
			}
			prod.emit(t, 50)
		}
	})

	var total Stats
	for round, killAfter := range []int{2, 4, -1, 1, 3, -2} {
		began := time.Now()
		_, done, _ := start(t, seeds, key, killAfter, nil)
		out := <-done
		t.Logf("round %d: %v, %+v", round, time.Since(began), out.stats)
		require.ErrorIs(t, out.err, context.Canceled, "round %d", round)
		total.Chained += out.stats.Chained
		total.Committed += out.stats.Committed
	}
	close(stopProducing)
	wg.Wait()
	require.NoError(t, prod.em.Close(context.Background()))
	st := prod.em.Stats()
	require.Zero(t, st.Dropped+st.Failed)
	emitted := 0
	for _, n := range prod.count {
		emitted += n
	}

	// A last processor catches up, then stops gracefully.
	progress := make(chan struct{}, 1)
	_, done, final := start(t, seeds, key, 0, progress)
	for !caughtUp(t, adm) {
		select {
		case <-progress:
		case out := <-done:
			t.Fatalf("final processor stopped early: %v", out.err)
		case <-time.After(90 * time.Second):
			t.Fatal("the final processor made no progress")
		}
	}
	final.Stop()
	out := <-done
	require.NoError(t, out.err)
	total.Committed += out.stats.Committed
	t.Logf("emitted %d events; committed transactions %d; final run chained %d", emitted, total.Committed, out.stats.Chained)

	// Exactly once, per tenant, in order.
	records := readAll(t, seeds, adm, DefaultRecordsTopic)
	checkpoints := readAll(t, seeds, adm, DefaultCheckpointsTopic)
	require.Len(t, records, emitted+len(tenants), "every event once, plus one genesis per tenant")
	sv := chain.NewStreamVerifier(chain.VerifyFromGenesis(), chain.VerifyStrict(), chain.WithPublicKeys(pub))
	for _, c := range checkpoints {
		sv.AddJSON(c) // ahead of the records: each is matched when its record passes
	}
	seen := map[string]bool{}
	perTenant := map[string]int64{}
	for _, r := range records {
		obj, err := canonical.DecodeObject(r)
		require.NoError(t, err)
		id := obj["audit_id"].(string)
		require.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
		tn := obj["tenant_id"].(string)
		seq, _ := obj["sequence_number"].(interface{ Int64() (int64, error) }).Int64()
		require.Equal(t, perTenant[tn], seq, "tenant %s", tn)
		perTenant[tn]++
		sv.AddJSON(r)
	}
	rep := sv.Report()
	require.Equal(t, chain.StatusValid, rep.Status, "%+v", rep)
	for _, tn := range tenants {
		assert.Equal(t, int64(prod.count[tn]+1), perTenant[tn], tn)
	}
	assert.Empty(t, rep.ProducerGaps, "no event lost between producer and chain")
	assert.Zero(t, rep.ProducerDuplicates, "and none chained twice")
	checked := 0
	for _, tr := range rep.Tenants {
		checked += tr.CheckpointsChecked
	}
	assert.Positive(t, checked)
	assert.Equal(t, len(checkpoints), checked, "every committed checkpoint matches the chain")
	assert.Positive(t, total.Chained+out.stats.Chained)
}

// A restart continues each chain from audit.records (no new genesis), and a
// redelivered event (same audit_id) is not chained twice.
func TestRestartContinuesChainsAndDedups(t *testing.T) {
	seeds, adm := newCluster(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	prod := newProducer(t, seeds)
	prod.emit(t, 20)
	progress := make(chan struct{}, 1)
	run := func() Stats {
		_, done, p := start(t, seeds, key, 0, progress)
		for !caughtUp(t, adm) {
			select {
			case <-progress:
			case out := <-done:
				t.Fatalf("stopped early: %v", out.err)
			}
		}
		p.Stop()
		out := <-done
		require.NoError(t, out.err)
		return out.stats
	}
	s1 := run()
	assert.Equal(t, uint64(20), s1.Chained)
	assert.Equal(t, uint64(5), s1.Geneses)

	// Redeliver an already chained event verbatim (a producer retry whose
	// first write had succeeded), then new events.
	first := readAll(t, seeds, adm, DefaultRecordsTopic)[1]
	obj, _ := canonical.DecodeObject(first)
	for _, k := range []string{"sequence_number", "previous_hash", "ingested_at", "record_hash"} {
		delete(obj, k)
	}
	ev, _ := canonical.Marshal(obj)
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, kafkasink.ClientOptions(DefaultEventsTopic)...)...)
	require.NoError(t, err)
	require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(obj["tenant_id"].(string)), Value: ev}).FirstErr())
	cl.Close()
	prod.emit(t, 10)
	require.NoError(t, prod.em.Close(context.Background()))

	s2 := run()
	assert.Equal(t, uint64(10), s2.Chained)
	assert.Zero(t, s2.Geneses, "chains continue; no second genesis")
	assert.Equal(t, uint64(1), s2.Duplicates)
	assert.Positive(t, s2.Recoveries)
	records := readAll(t, seeds, adm, DefaultRecordsTopic)
	assert.Len(t, records, 35)
	sv := chain.NewStreamVerifier(chain.VerifyFromGenesis())
	for _, r := range records {
		sv.AddJSON(r)
	}
	assert.Equal(t, chain.StatusValid, sv.Report().Status)
}

// Events keyed to the wrong partition are re-produced under their tenant
// and chained there; malformed values are skipped.
func TestReroutesAndSkips(t *testing.T) {
	seeds, adm := newCluster(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(DefaultEventsTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	good := func(tenant string, i int) []byte {
		return []byte(fmt.Sprintf(`{"audit_id":"id-%d","tenant_id":%q,"timestamp":"2026-03-02T08:00:00.000Z"}`, i, tenant))
	}
	right := int32(kafkasink.PartitionFor([]byte("tenant-alpha"), 4))
	wrong := (right + 1) % 4
	require.NoError(t, cl.ProduceSync(context.Background(),
		&kgo.Record{Partition: right, Key: []byte("tenant-alpha"), Value: good("tenant-alpha", 1)},
		&kgo.Record{Partition: wrong, Key: []byte("x"), Value: good("tenant-alpha", 2)},
		&kgo.Record{Partition: right, Value: []byte(`not json`)},
		&kgo.Record{Partition: right, Value: []byte(`{"tenant_id":7}`)},
	).FirstErr())
	progress := make(chan struct{}, 1)
	_, done, p := start(t, seeds, nil, 0, progress)
	for st := p.Stats(); st.Chained < 2 || st.Malformed < 2; st = p.Stats() {
		select {
		case <-progress:
		case out := <-done:
			t.Fatalf("stopped early: %v", out.err)
		case <-time.After(90 * time.Second):
			t.Fatalf("no progress: %+v", p.Stats())
		}
	}
	p.Stop()
	out := <-done
	require.NoError(t, out.err)
	assert.Equal(t, uint64(1), out.stats.Rerouted)
	assert.Equal(t, uint64(2), out.stats.Malformed)
	assert.Equal(t, uint64(2), out.stats.Chained)
	recs := readAll(t, seeds, adm, DefaultRecordsTopic)
	require.Len(t, recs, 3)
	for _, r := range recs {
		assert.Contains(t, string(r), `"tenant_id":"tenant-alpha"`)
	}
}

func TestConfigAndTopicChecks(t *testing.T) {
	_, err := New(nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	for name, opt := range map[string]Option{
		"events": WithEventsTopic(""), "records": WithRecordsTopic(""), "cps": WithCheckpointsTopic(""),
		"group": WithGroup(""), "txn": WithTransactionalID(""), "clock": WithClock(nil), "id": WithIDFunc(nil),
		"dedup": WithDedupWindow(-1), "signer": WithCheckpointSigner(nil), "every": WithCheckpointEvery(0),
		"interval": WithCheckpointInterval(-1), "poll": WithMaxPollRecords(0), "recovery": WithRecoveryTimeout(0),
		"same": WithRecordsTopic(DefaultEventsTopic),
	} {
		_, err := New([]string{"x:9092"}, opt)
		assert.ErrorIs(t, err, ErrInvalidConfig, name)
	}

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, DefaultEventsTopic), kfake.SeedTopics(2, DefaultRecordsTopic))
	require.NoError(t, err)
	defer c.Close()
	p, err := New(c.ListenAddrs(), WithLogger(quiet), WithClientOptions(fastFetch))
	require.NoError(t, err)
	err = p.Run(context.Background())
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "partitions")
	assert.Error(t, p.Run(context.Background()), "Run twice")

	p, err = New(c.ListenAddrs(), WithLogger(quiet), WithRecordsTopic("missing"))
	require.NoError(t, err)
	assert.ErrorIs(t, p.Run(context.Background()), ErrInvalidConfig)
}

// Checkpoints on the timer: a tenant whose head moved gets one even when
// fewer than N records arrived.
func TestTimerCheckpoints(t *testing.T) {
	seeds, adm := newCluster(t)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	prod := newProducer(t, seeds)
	prod.emit(t, 5)
	require.NoError(t, prod.em.Close(context.Background()))
	p, err := New(seeds, WithLogger(quiet), WithCheckpointSigner(key), WithCheckpointEvery(1000),
		WithCheckpointInterval(20*time.Millisecond), WithClientOptions(fastFetch))
	require.NoError(t, err)
	progress := make(chan struct{}, 1)
	p.afterEnd = func() {
		select {
		case progress <- struct{}{}:
		default:
		}
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	deadline := time.After(90 * time.Second)
	for p.Stats().Checkpoints < 5 {
		select {
		case <-progress:
		case err := <-done:
			t.Fatalf("stopped: %v", err)
		case <-deadline:
			t.Fatal("no timer checkpoints")
		}
	}
	p.Stop()
	require.NoError(t, <-done)
	sv := chain.NewStreamVerifier(chain.WithPublicKeys(pub))
	for _, r := range readAll(t, seeds, adm, DefaultRecordsTopic) {
		sv.AddJSON(r)
	}
	cps := readAll(t, seeds, adm, DefaultCheckpointsTopic)
	assert.Len(t, cps, 5, "one per tenant; unchanged heads are not re-signed")
	for _, c := range cps {
		sv.AddJSON(c)
	}
	rep := sv.Report()
	assert.Equal(t, chain.StatusValid, rep.Status, "%+v", rep)
	assert.Equal(t, 5, rep.Checkpoints)
}

// Checklist 63: a chain.Chainer fed by a kfake consumer of events the
// producer emitted: each tenant's chain verifies and every record's hash is
// what the canonical rules give for its stored JSON.
func TestChainerFedByKafkaConsumer(t *testing.T) {
	seeds, _ := newCluster(t)
	prod := newProducer(t, seeds)
	prod.emit(t, 60)
	require.NoError(t, prod.em.Close(context.Background()))
	store := chain.NewMemoryStore()
	ch, err := chain.New(store, chain.WithLogger(quiet))
	require.NoError(t, err)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(DefaultEventsTopic), fastFetch)
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := 0; n < 60; {
		fs := cl.PollFetches(ctx)
		require.NoError(t, fs.Err0())
		fs.EachRecord(func(r *kgo.Record) {
			_, err := ch.Ingest(ctx, r.Value)
			require.NoError(t, err)
			n++
		})
	}
	require.NoError(t, ch.Close(ctx))
	ids, _ := store.Tenants(ctx)
	require.Len(t, ids, len(tenants))
	for _, tn := range ids {
		recs, err := store.Range(ctx, tn, 0, -1)
		require.NoError(t, err)
		assert.True(t, chain.Verify(recs, chain.VerifyFromGenesis()).Valid, tn)
		for _, r := range recs {
			b, err := canonical.Marshal(r)
			require.NoError(t, err)
			h, err := chain.HashJSON(b)
			require.NoError(t, err)
			assert.Equal(t, r["record_hash"], h)
		}
	}
}

// Two processors (two transactional ids) share the group: partitions move
// between them on every join, leave and kill, while events keep coming.
// Each chain still has exactly one writer at a time, and the result is
// exactly once.
func TestTwoProcessorsRebalance(t *testing.T) {
	seeds, adm := newCluster(t)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	prod := newProducer(t, seeds)
	prod.emit(t, 300)
	p1progress := make(chan struct{}, 1)
	_, p1done, p1 := start(t, seeds, key, 0, p1progress, WithTransactionalID("chain-1"))
	for p1.Stats().Committed == 0 {
		<-p1progress
	}
	prod.emit(t, 300)
	// The second instance joins: the group rebalances, partitions move.
	p2progress := make(chan struct{}, 1)
	_, p2done, p2 := start(t, seeds, key, 0, p2progress, WithTransactionalID("chain-2"))
	for p2.Stats().Committed == 0 {
		prod.emit(t, 20)
		select {
		case <-p2progress:
		case <-time.After(90 * time.Second):
			t.Fatal("the second processor never committed")
		}
	}
	prod.emit(t, 300)
	// The first leaves gracefully; the second takes everything.
	p1.Stop()
	require.NoError(t, (<-p1done).err)
	prod.emit(t, 300)
	require.NoError(t, prod.em.Close(context.Background()))
	for !caughtUp(t, adm) {
		select {
		case <-p2progress:
		case out := <-p2done:
			t.Fatalf("stopped: %v", out.err)
		case <-time.After(90 * time.Second):
			t.Fatal("no progress")
		}
	}
	p2.Stop()
	out2 := <-p2done
	require.NoError(t, out2.err)

	records := readAll(t, seeds, adm, DefaultRecordsTopic)
	emitted := 0
	for _, n := range prod.count {
		emitted += n
	}
	require.Len(t, records, emitted+len(tenants))
	sv := chain.NewStreamVerifier(chain.VerifyFromGenesis(), chain.WithPublicKeys(pub))
	for _, c := range readAll(t, seeds, adm, DefaultCheckpointsTopic) {
		sv.AddJSON(c)
	}
	for _, r := range records {
		sv.AddJSON(r)
	}
	rep := sv.Report()
	require.Equal(t, chain.StatusValid, rep.Status, "%+v", rep)
	assert.Empty(t, rep.ProducerGaps)
	assert.Zero(t, rep.ProducerDuplicates)
	assert.Positive(t, p1.Stats().Chained)
	assert.Positive(t, out2.stats.Chained)
}

// A processor with another transactional id dies mid-transaction while a
// second one runs: the survivor gets its partitions, waits until the
// broker aborts the dead transaction (its timeout), recovers the heads from
// what was committed, and carries on — exactly once.
func TestKillWithAnotherInstanceTakingOver(t *testing.T) {
	seeds, adm := newCluster(t)
	prod := newProducer(t, seeds)
	prod.emit(t, 200)
	short := WithClientOptions(kgo.TransactionTimeout(1500 * time.Millisecond))
	survivorProgress := make(chan struct{}, 1)
	_, survivorDone, survivor := start(t, seeds, nil, 0, survivorProgress, WithTransactionalID("survivor"), short)
	for survivor.Stats().Committed == 0 {
		<-survivorProgress
	}
	// The victim joins, takes some partitions, and dies inside its second
	// transaction with records produced and not committed.
	_, victimDone, victim := start(t, seeds, nil, 1, nil, WithTransactionalID("victim"), short)
	feed := time.NewTicker(10 * time.Millisecond)
	defer feed.Stop()
	deadline := time.After(90 * time.Second)
	for victimDone != nil {
		select {
		case out := <-victimDone:
			require.ErrorIs(t, out.err, context.Canceled)
			victimDone = nil
		case <-feed.C:
			prod.emit(t, 20)
		case <-deadline:
			t.Fatal("the victim never got partitions")
		}
	}
	require.Equal(t, uint64(1), victim.Stats().Committed, "it owned partitions and committed once")
	prod.emit(t, 200)
	require.NoError(t, prod.em.Close(context.Background()))
	for !caughtUp(t, adm) {
		select {
		case <-survivorProgress:
		case out := <-survivorDone:
			t.Fatalf("survivor stopped: %v", out.err)
		case <-time.After(90 * time.Second):
			t.Fatal("no progress")
		}
	}
	survivor.Stop()
	require.NoError(t, (<-survivorDone).err)

	records := readAll(t, seeds, adm, DefaultRecordsTopic)
	emitted := 0
	for _, n := range prod.count {
		emitted += n
	}
	require.Len(t, records, emitted+len(tenants))
	sv := chain.NewStreamVerifier(chain.VerifyFromGenesis())
	for _, r := range records {
		sv.AddJSON(r)
	}
	rep := sv.Report()
	require.Equal(t, chain.StatusValid, rep.Status, "%+v", rep)
	assert.Empty(t, rep.ProducerGaps)
	assert.Zero(t, rep.ProducerDuplicates)
}
