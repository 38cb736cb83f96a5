package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// A service emits through the Producer interface; the host builds one
// Emitter and closes it on shutdown so that everything queued is delivered.
func Example() {
	var out bytes.Buffer
	em, err := audit.New(audit.JSONLines(&out),
		audit.WithSourceService("entity-parser"),
		audit.WithProducerID("example-producer"),
		audit.WithClock(func() time.Time { return time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) }))
	if err != nil {
		panic(err)
	}
	var p audit.Producer = em // what services are given (WithAuditProducer)
	_, ok := p.Emit(audit.Event{
		TenantID:  "tenant-alpha",
		Type:      taxonomy.AlertClassified,
		ActorType: taxonomy.ActorAgent,
		ActorID:   "orchestrator",
		Decision: audit.Fields{
			audit.KeyClassification: taxonomy.ClassificationTruePositive,
			audit.KeyConfidence:     0.92,
		},
		AuditID: "01955a36-1c00-7000-8000-000000000001", // normally left empty: a UUIDv7 is made
	})
	if err := em.Close(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(ok)
	fmt.Print(out.String())
	st := em.Stats()
	fmt.Println("emitted", st.Emitted, "delivered", st.Delivered, "dropped", st.Dropped)
	// Output:
	// true
	// {"actor_id":"orchestrator","actor_type":"agent","audit_id":"01955a36-1c00-7000-8000-000000000001","decision":{"classification":"true_positive","confidence":0.92},"event_category":"decision","event_type":"alert.classified","producer_id":"example-producer","producer_seq":1,"severity":"info","source_service":"entity-parser","tenant_id":"tenant-alpha","timestamp":"2026-03-02T08:00:00.000Z"}
	// emitted 1 delivered 1 dropped 0
}

// Services accept a nil Producer and then emit nothing; audit.Emit is the
// nil-safe call.
func ExampleEmit() {
	var p audit.Producer // no audit configured
	id, ok := audit.Emit(p, audit.Event{TenantID: "t", Type: taxonomy.AlertClassified,
		ActorType: taxonomy.ActorAgent, ActorID: "a"})
	fmt.Printf("%q %v\n", id, ok)
	// Output: "" false
}

// SeqTracker turns producer_seq gaps into the list of lost events.
func ExampleSeqTracker() {
	tr := audit.NewSeqTracker()
	for _, seq := range []uint64{1, 2, 5, 3, 7} {
		tr.Observe("producer-a", seq)
	}
	fmt.Println(tr.Missing("producer-a"))
	// Output: [{4 4} {6 6}]
}
