package bench

import (
	"context"
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
// the single consumer and reports how many values it took.
type queue interface {
	offer(m *audit.Message) bool
	drain() int
	close()
}

// run drives q with 4 producer goroutines (SetParallelism(2) × GOMAXPROCS
// 2) while one consumer goroutine drains, and reports the fraction of
// offers that reached the consumer.
func run(b *testing.B, q queue) {
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
		for pb.Next() {
			if q.offer(m) {
				n++
			}
		}
		accepted.Add(n)
	})
	b.StopTimer()
	close(stop)
	<-done
	q.close()
	b.ReportMetric(float64(accepted.Load())/float64(b.N), "accepted/op")
}

func BenchmarkQueues(b *testing.B) {
	b.Run("warden-ring", func(b *testing.B) { run(b, newWardenRing()) })
	b.Run("chan-select-default", func(b *testing.B) { run(b, newChanQueue()) })
	b.Run("go-diodes-ManyToOne", func(b *testing.B) { run(b, newDiode()) })
	b.Run("otel-BatchProcessor-OnEmit", func(b *testing.B) { run(b, newOTel()) })
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
func (w *wardenRing) close() {}

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
func (c *chanQueue) close() {}

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
func (q *diode) close() {}

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
func (q *otelQueue) close() { _ = q.p.Shutdown(context.Background()) }
