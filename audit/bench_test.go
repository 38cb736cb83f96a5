package audit

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/socwarden/warden/taxonomy"
)

func minimalEvent() Event {
	return Event{TenantID: "tenant-alpha", Type: taxonomy.AlertClassified,
		ActorType: taxonomy.ActorAgent, ActorID: "orchestrator"}
}

func llmEvent() Event {
	ev := minimalEvent()
	ev.Type = taxonomy.RoutingTierSelected
	ev.Context = LLMContext(LLMCall{
		Provider: taxonomy.ProviderAnthropic, ModelID: "claude-sonnet-4-5", Tier: taxonomy.Tier1,
		InputTokens: 1834, OutputTokens: 412, CostUSD: 0.024, LatencyMS: 850,
		PromptHash:   HashText("system prompt"),
		ResponseHash: HashText("response"),
	})
	return ev
}

// discardSink acknowledges everything; benchmarks of Emit measure only the
// caller's side (a ring big enough never to fill in one run is not possible,
// so the drainer keeps up by discarding).
type discardSink struct{}

func (discardSink) Write(context.Context, []Message) error { return nil }

func newBenchEmitter(b *testing.B, sink Sink) *Emitter {
	e, err := New(sink, WithRingSize(1<<16), WithLinger(0), WithLogger(quietLogger))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func BenchmarkEmitMinimal(b *testing.B) {
	e := newBenchEmitter(b, discardSink{})
	ev := minimalEvent()
	b.ReportAllocs()
	for b.Loop() {
		e.Emit(ev)
	}
}

func BenchmarkEmitLLMContext(b *testing.B) {
	e := newBenchEmitter(b, discardSink{})
	ev := llmEvent()
	b.ReportAllocs()
	for b.Loop() {
		e.Emit(ev)
	}
}

// BenchmarkEmitParallel4 compares Emit with what a straightforward Go port
// would write: encoding/json Marshal and a select-default send on a channel
// of the same capacity, with 4 producer goroutines.
func BenchmarkEmitParallel4(b *testing.B) {
	b.Run("warden", func(b *testing.B) {
		e := newBenchEmitter(b, discardSink{})
		ev := llmEvent()
		b.ReportAllocs()
		b.SetParallelism(2) // 2 × GOMAXPROCS(2) = 4 goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.Emit(ev)
			}
		})
	})
	b.Run("naive-json-chan", func(b *testing.B) {
		n := newNaiveEmitter(1 << 16)
		defer n.close()
		ev := llmEvent()
		b.ReportAllocs()
		b.SetParallelism(2)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.emit(ev)
			}
		})
	})
}

// naiveEmitter is the baseline: a map per event, encoding/json, and a
// non-blocking channel send. Its output is not canonical.
type naiveEmitter struct {
	ch   chan []byte
	wg   sync.WaitGroup
	drop uint64
	mu   sync.Mutex
}

func newNaiveEmitter(capacity int) *naiveEmitter {
	n := &naiveEmitter{ch: make(chan []byte, capacity)}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for b := range n.ch {
			_, _ = io.Discard.Write(b)
		}
	}()
	return n
}

func (n *naiveEmitter) emit(ev Event) {
	m := map[string]any{
		"audit_id": NewID(), "tenant_id": ev.TenantID, "timestamp": FormatTimestamp(nowForBench()),
		"event_type": ev.Type, "event_category": ev.Type.Category(), "severity": "info",
		"actor_type": ev.ActorType, "actor_id": ev.ActorID, "source_service": "warden",
	}
	if ev.Context != nil {
		m["context"] = ev.Context
	}
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	select {
	case n.ch <- b:
	default:
		n.mu.Lock()
		n.drop++
		n.mu.Unlock()
	}
}

func (n *naiveEmitter) close() { close(n.ch); n.wg.Wait() }

var nowForBench = func() time.Time { return time.Now() }

// BenchmarkDrainJSONLines measures the drainer side alone: encoded events
// go from the ring through batching into JSONLines(io.Discard). The ring is
// filled while the writer is held shut, untimed; then the timer runs while
// it drains.
func BenchmarkDrainJSONLines(b *testing.B) {
	gw := &gatedWriter{}
	const chunk = 1 << 17
	e, err := New(JSONLines(gw), WithRingSize(chunk), WithLinger(time.Hour), WithLogger(quietLogger))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(context.Background())
	ev := llmEvent()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(b.N-done, chunk)
		b.StopTimer()
		gw.shut()
		for range n {
			if _, ok := e.Emit(ev); !ok {
				b.Fatal("ring full")
			}
		}
		b.StartTimer()
		gw.open()
		if err := e.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.StopTimer()
	if st := e.Stats(); st.Delivered != uint64(b.N) {
		b.Fatalf("delivered %d of %d", st.Delivered, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// gatedWriter discards, but blocks writes while shut.
type gatedWriter struct {
	mu   sync.Mutex
	gate chan struct{} // non-nil while shut
}

func (g *gatedWriter) shut() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedWriter) open() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return len(p), nil
}
