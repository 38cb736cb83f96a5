package router

import (
	"context"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

var benchTC = TaskContext{TaskType: TaskInvestigation, ContextTokens: 12000, AlertSeverity: "high",
	TenantID: "tenant-a", InvestigationID: "inv-1", AlertID: "alert-1"}

func benchRoute(b *testing.B, r *Router) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Route(bg, benchTC); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoute: the default router, no health checker, no producer.
func BenchmarkRoute(b *testing.B) {
	r, _ := New()
	benchRoute(b, r)
}

// BenchmarkRouteHealth: with a health registry (the production wiring),
// no producer.
func BenchmarkRouteHealth(b *testing.B) {
	h, _ := NewHealthRegistry()
	h.RecordFailure(ProviderOpenAI) // a breaker exists for the snapshot
	r, _ := New(WithHealth(h))
	benchRoute(b, r)
}

type discardProducer struct{}

func (discardProducer) Emit(audit.Event) (string, bool) { return "", true }

// BenchmarkRouteProducer: registry and a producer that discards (the cost of
// building the routing.tier_selected event).
func BenchmarkRouteProducer(b *testing.B) {
	h, _ := NewHealthRegistry()
	h.RecordFailure(ProviderOpenAI)
	r, _ := New(WithHealth(h), WithAuditProducer(discardProducer{}))
	benchRoute(b, r)
}

func BenchmarkRouteParallel(b *testing.B) {
	h, _ := NewHealthRegistry()
	r, _ := New(WithHealth(h))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Route(bg, benchTC); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type discardSink struct{}

func (discardSink) Write(context.Context, []audit.Message) error { return nil }

// BenchmarkRouteEmitter: registry and the real audit.Emitter (encoding on the
// caller's goroutine, a discarding sink behind the drainer).
func BenchmarkRouteEmitter(b *testing.B) {
	em, err := audit.New(discardSink{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = em.Close(context.Background()) }()
	h, _ := NewHealthRegistry(WithAuditProducer(em))
	h.RecordFailure(ProviderOpenAI)
	r, _ := New(WithHealth(h), WithAuditProducer(em))
	benchRoute(b, r)
	st := em.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkRouteEmitterFailover: every route fails over, so two events
// (routing.provider_failover and routing.tier_selected) are emitted.
func BenchmarkRouteEmitterFailover(b *testing.B) {
	em, err := audit.New(discardSink{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = em.Close(context.Background()) }()
	h, _ := NewHealthRegistry(WithAuditProducer(em))
	for range DefaultFailureThreshold {
		h.RecordFailure(ProviderAnthropic)
	}
	r, _ := New(WithHealth(h), WithAuditProducer(em))
	benchRoute(b, r)
}

// BenchmarkSpendReserveSettle: one reserve + settle pair.
func BenchmarkSpendReserveSettle(b *testing.B) {
	g, _ := NewSpendGuard(WithMonthlyHardCap(MaxCostUSD))
	req := SpendRequest{TenantID: "t", TaskType: "investigation", Model: DefaultModels()["tier_1"], InputTokens: 5000, MaxOutputTokens: 2000}
	b.ReportAllocs()
	for b.Loop() {
		res, err := g.Reserve(bg, req)
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Settle(bg, res, 0.001); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouteMinTierEscalation: a floor escalation admitted and counted
// by a manager, with a producer (the llmgateway's escalated call). The
// clock moves an hour per escalation, so the budget never runs out.
func BenchmarkRouteMinTierEscalation(b *testing.B) {
	p := DefaultEscalationPolicy()
	p.ConfidenceThreshold, p.MaxEscalationsPerHour = 0.8, 1
	now := time.Unix(0, 0)
	m, _ := NewEscalationManager(p, WithClock(func() time.Time { now = now.Add(time.Hour); return now }))
	r, _ := New(WithEscalationManager(m), WithAuditProducer(discardProducer{}))
	prev := 0.7
	tc := TaskContext{TaskType: TaskInvestigation, AlertSeverity: SeverityCritical, PreviousConfidence: &prev, MinTier: taxonomy.Tier1Plus}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Route(context.Background(), tc); err != nil {
			b.Fatal(err)
		}
	}
}
