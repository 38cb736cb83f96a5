package bench

import (
	"context"
	"io"
	"log"
	"os"
	"sync/atomic"
	"testing"
	"time"

	diodes "code.cloudfoundry.org/go-diodes"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/internal/ring"
)

const capacity = 8192

// queue is the harness's view of a non-blocking queue: offer never blocks
// and reports whether the value was accepted; drain is called in a loop by
// the single consumer and reports how many values it took; close stops the
// queue and reports what reached the consumer during shutdown.
//
// accepted/op is what the producer was told; delivered/op is what reached
// the consumer. The two differ for drop-oldest queues (go-diodes, the OTel
// processor), which accept every value and later overwrite some silently.
type queue interface {
	offer(m *audit.Message) bool
	drain() int
	close() int
}

// run drives q with 4 producer goroutines (SetParallelism(2) × GOMAXPROCS
// 2) while one consumer goroutine drains, and reports the fraction of
// offers that reached the consumer. work is the number of rounds of
// simulated caller work between two offers (0: offer back to back, which
// saturates any queue on two cores).
func run(b *testing.B, q queue, work int) {
	m := &audit.Message{TenantID: "tenant-alpha", AuditID: "01955a36-1c00-7000-8000-000000000001",
		Value: make([]byte, 400)}
	stop := make(chan struct{})
	done := make(chan struct{})
	var consumed atomic.Uint64
	go func() {
		defer close(done)
		for {
			if n := q.drain(); n > 0 {
				consumed.Add(uint64(n))
				continue
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	var accepted atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var n uint64
		x := uint64(1)
		for pb.Next() {
			for range work {
				x = x*6364136223846793005 + 1442695040888963407
			}
			if q.offer(m) {
				n++
			}
		}
		sink.Add(x)
		accepted.Add(n)
	})
	b.StopTimer()
	close(stop)
	<-done
	consumed.Add(uint64(q.close()))
	b.ReportMetric(float64(accepted.Load())/float64(b.N), "accepted/op")
	b.ReportMetric(float64(consumed.Load())/float64(b.N), "delivered/op")
}

// go-diodes logs every overwrite through the standard logger.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

var sink atomic.Uint64 // keeps the simulated work from being optimised away

// BenchmarkQueues offers back to back: the queues are full almost all the
// time, so this measures the cost of an offer under contention.
func BenchmarkQueues(b *testing.B) { benchQueues(b, 0) }

// BenchmarkQueuesPaced puts ~0.5 µs of caller work between offers, so the
// consumer can keep up and most offers succeed.
func BenchmarkQueuesPaced(b *testing.B) { benchQueues(b, 300) }

func benchQueues(b *testing.B, work int) {
	b.Run("warden-ring", func(b *testing.B) { run(b, newWardenRing(), work) })
	b.Run("chan-select-default", func(b *testing.B) { run(b, newChanQueue(), work) })
	b.Run("go-diodes-ManyToOne", func(b *testing.B) { run(b, newDiode(), work) })
	b.Run("otel-BatchProcessor-OnEmit", func(b *testing.B) { run(b, newOTel(), work) })
}

// Warden's ring, as the Emitter uses it: values, not pointers.
type wardenRing struct{ r *ring.Ring[audit.Message] }

func newWardenRing() *wardenRing { return &wardenRing{r: ring.New[audit.Message](capacity)} }

func (w *wardenRing) offer(m *audit.Message) bool { return w.r.Push(*m) }
func (w *wardenRing) drain() int {
	n := 0
	for {
		if _, ok := w.r.Pop(); !ok {
			return n
		}
		n++
	}
}
func (w *wardenRing) close() int { return w.drain() }

// A buffered channel with a select-default send: what most Go code writes.
type chanQueue struct{ ch chan audit.Message }

func newChanQueue() *chanQueue { return &chanQueue{ch: make(chan audit.Message, capacity)} }

func (c *chanQueue) offer(m *audit.Message) bool {
	select {
	case c.ch <- *m:
		return true
	default:
		return false
	}
}
func (c *chanQueue) drain() int {
	n := 0
	for {
		select {
		case <-c.ch:
			n++
		default:
			return n
		}
	}
}
func (c *chanQueue) close() int { return c.drain() }

// go-diodes ManyToOne: lock-free, overwrites the oldest value when full
// (drop-oldest), reported through its alerter.
type diode struct {
	d       *diodes.ManyToOne
	dropped atomic.Uint64
}

func newDiode() *diode {
	q := &diode{}
	q.d = diodes.NewManyToOne(capacity, diodes.AlertFunc(func(missed int) { q.dropped.Add(uint64(missed)) }))
	return q
}

func (q *diode) offer(m *audit.Message) bool {
	q.d.Set(diodes.GenericDataType(m))
	return true // the diode never refuses; it overwrites the oldest instead
}
func (q *diode) drain() int {
	n := 0
	for {
		if _, ok := q.d.TryNext(); !ok {
			return n
		}
		n++
	}
}
func (q *diode) close() int { return q.drain() }

// OpenTelemetry Go's log BatchProcessor: OnEmit copies the record into its
// queue (drop-oldest when full) and exports batches from its own goroutine;
// the exporter here discards, so "drain" is the processor's own goroutine.
type otelQueue struct {
	p      *sdklog.BatchProcessor
	rec    sdklog.Record
	export *countingExporter
	seen   uint64
}

type countingExporter struct{ n atomic.Uint64 }

func (e *countingExporter) Export(_ context.Context, recs []sdklog.Record) error {
	e.n.Add(uint64(len(recs)))
	return nil
}
func (e *countingExporter) Shutdown(context.Context) error   { return nil }
func (e *countingExporter) ForceFlush(context.Context) error { return nil }

func newOTel() *otelQueue {
	exp := &countingExporter{}
	p := sdklog.NewBatchProcessor(exp, sdklog.WithMaxQueueSize(capacity),
		sdklog.WithExportMaxBatchSize(256), sdklog.WithExportInterval(50*time.Millisecond))
	q := &otelQueue{p: p, export: exp}
	q.rec.SetBody(attribute.StringValue(string(make([]byte, 400))))
	q.rec.SetTimestamp(time.Now())
	return q
}

func (q *otelQueue) offer(*audit.Message) bool {
	r := q.rec
	return q.p.OnEmit(context.Background(), &r) == nil
}
func (q *otelQueue) drain() int {
	// The processor exports on its own goroutine; report its progress.
	now := q.export.n.Load()
	n := int(now - q.seen)
	q.seen = now
	if n == 0 {
		time.Sleep(time.Millisecond)
	}
	return n
}
func (q *otelQueue) close() int {
	_ = q.p.Shutdown(context.Background()) // exports what is still queued
	return q.drain()
}
