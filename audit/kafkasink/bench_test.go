package kafkasink

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit"
)

// BenchmarkSustainedToKfake compares, in one run and against the same
// in-process broker, the audit path (Emit → ring → drainer → Sink.Write →
// ProduceSync) with raw asynchronous kgo.Produce of the same bytes and keys.
// Both wait until every record is acknowledged, so events/s is end-to-end
// throughput. Producers run on GOMAXPROCS goroutines in both variants; the
// audit variant also encodes each event (raw sends pre-encoded bytes).
func BenchmarkSustainedToKfake(b *testing.B) {
	_, seeds := newCluster(b)
	tenants := []string{"tenant-alpha", "tenant-beta", "tënant-γ", "system"}

	// The bytes both variants send: real encoded events.
	rec := audit.NewRecorder()
	enc, _ := audit.New(rec, quiet)
	for i := range 1024 {
		enc.Emit(event(tenants[i%len(tenants)], i))
	}
	_ = enc.Close(context.Background())
	msgs := rec.Messages()

	b.Run("emitter+kafkasink", func(b *testing.B) {
		sink := newSink(b, seeds)
		em, err := audit.New(sink, quiet, audit.WithRingSize(1<<16), audit.WithBatchSize(1024),
			audit.WithLinger(time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		ev := make([]audit.Event, len(tenants))
		for i, tn := range tenants {
			ev[i] = event(tn, i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				// Pace the producers to the sink: a full ring would drop
				// and make the number meaningless.
				for {
					if _, ok := em.Emit(ev[i%len(ev)]); ok {
						break
					}
					time.Sleep(50 * time.Microsecond)
				}
				i++
			}
		})
		if err := em.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		st := em.Stats()
		if st.Delivered != st.Emitted {
			b.Fatalf("delivered %d of %d", st.Delivered, st.Emitted)
		}
		b.ReportMetric(float64(st.Delivered)/elapsed.Seconds(), "events/s")
		_ = sink.Close(context.Background())
	})

	// The sink alone, driven as the drainer drives it (batches of 1024
	// pre-encoded messages, one Write at a time): what kafkasink adds over
	// raw Produce, without the cost of encoding events.
	b.Run("kafkasink-write-batches", func(b *testing.B) {
		sink := newSink(b, seeds)
		defer sink.Close(context.Background())
		batch := make([]audit.Message, 0, 1024)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			batch = append(batch, msgs[i%len(msgs)])
			if len(batch) == cap(batch) || i == b.N-1 {
				if err := sink.Write(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	})

	b.Run("raw-kgo-produce", func(b *testing.B) {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, ClientOptions(DefaultTopic)...)...)
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed int
		done := func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
			}
			wg.Done()
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				m := msgs[i%len(msgs)]
				wg.Add(1)
				cl.Produce(context.Background(), &kgo.Record{Key: []byte(m.TenantID), Value: m.Value}, done)
				i++
			}
		})
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		if failed > 0 {
			b.Fatalf("%d failed", failed)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	})
}
