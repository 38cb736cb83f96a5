package ring

import (
	"sync/atomic"
	"testing"
)

// BenchmarkPush4Producers measures the enqueue path alone: 4 producer
// goroutines (b.SetParallelism(2) on GOMAXPROCS=2) contend on one ring sized
// so that every push is accepted (no consumer, no refusals).
func BenchmarkPush4Producers(b *testing.B) {
	r := New[uint64](b.N + 1)
	var refused atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var local uint64
		for pb.Next() {
			if !r.Push(1) {
				local++
			}
		}
		refused.Add(local)
	})
	if refused.Load() != 0 {
		b.Fatalf("%d pushes refused", refused.Load())
	}
}

// BenchmarkPushSaturated is the same with a consumer draining an 8192-slot
// ring concurrently, as the Emitter's drainer does: on two cores the
// producers outrun the consumer, so most pushes take the cheap "full" path
// (reported as refused/op).
func BenchmarkPushSaturated(b *testing.B) {
	r := New[msg](8192)
	stop := make(chan struct{})
	done := make(chan struct{})
	var popped atomic.Uint64
	go func() {
		defer close(done)
		for {
			if _, ok := r.Pop(); ok {
				popped.Add(1)
				continue
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	var refused atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		m := msg{Tenant: "tenant-alpha", Seq: 1}
		var local uint64
		for pb.Next() {
			if !r.Push(m) {
				local++
			}
		}
		refused.Add(local)
	})
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
}
