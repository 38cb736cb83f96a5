package atlas

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchTelemetry is a mid-size site: 200 analysts, 50 edge nodes, 20
// partners, 30 days of baseline — about 100k rows.
func benchTelemetry(at time.Time) *MemoryTelemetry {
	m := NewMemoryTelemetry()
	f, tr := false, true
	for i := range 30_000 {
		ts := at.Add(-time.Duration(i%(30*24*60)) * time.Minute)
		m.AddDatabricksAuditEvent(DatabricksAuditEvent{TS: ts, UserID: fmt.Sprint("user-", i%200), Action: trainingDataActions[i%4], TargetResource: fmt.Sprint("table-", i%37)})
		m.AddAPIAccessLog(APIAccessLog{TS: ts, CallerIdentity: fmt.Sprint("user-", i%200), Endpoint: fmt.Sprint("/v1/", i%7)})
	}
	for i := range 10_000 {
		ts := at.Add(-time.Duration(i%360) * time.Minute)
		m.AddNLQueryLog(NLQueryLog{TS: ts, UserID: fmt.Sprint("user-", i%60), TokenCount: 100 + i%50, SafetyFilterTriggered: i%500 == 0, SessionID: fmt.Sprint("s-", i%90)})
	}
	for i := range 20_000 {
		ts := at.Add(-time.Duration(i%(7*24*60)) * time.Minute)
		node := fmt.Sprint("edge-", i%50)
		m.AddInferenceLog(InferenceLog{TS: ts, EdgeNodeID: node, ConfidenceScore: 0.8 + float64(i%20)/100, InferenceLatencyMs: float64(80 + i%40), PhysicsCheckResult: []string{"pass", "pass", "pass", "fail"}[i%4]})
		m.AddOPCUATelemetry(OPCUATelemetry{TS: at.Add(-time.Duration(i%(24*60)) * time.Minute), EdgeNodeID: node, DataPointsReceived: 100 + i%30, SensorCount: 10, ProtocolViolations: b2i(i%997 == 0)})
	}
	for i := range 5_000 {
		m.AddPhysicsOracleCheck(PhysicsOracleCheck{TS: at.Add(-time.Duration(i%15) * time.Minute), EdgeNodeID: fmt.Sprint("edge-", i%50), LatencyMs: float64(100 + i%300), ErrorState: []string{"", "NONE", "timeout"}[i%3], CheckResult: "pass"})
		mt := &tr
		if i%1000 == 0 {
			mt = &f
		}
		m.AddPartnerAPILog(PartnerAPILog{TS: at.Add(-time.Duration(i%(7*24*60)) * time.Minute), PartnerID: fmt.Sprint("p-", i%20), PartnerName: fmt.Sprint("Partner ", i%20), PayloadSize: 1000 + i%200, MTLSVerified: mt})
	}
	for i := range 1_000 {
		m.AddEdgeNodeTelemetry(EdgeNodeTelemetry{TS: at.Add(-time.Duration(i%15) * time.Minute), EdgeNodeID: fmt.Sprint("edge-", i%50), BootAttestation: []string{"pass", "pass", "fail"}[i%3], DiskIntegrity: "ok", CPUUtilisation: 0.5})
		m.AddModelRegistryEvent(ModelRegistryEvent{TS: at.Add(-time.Duration(i) * time.Minute), UserID: "mlops", Action: "stage_transition", Stage: "production", ModelName: fmt.Sprint("m-", i%10), ModelVersion: fmt.Sprint(i), ApprovedBy: []string{"lead", ""}[i%2]})
		m.AddCICDAuditEvent(CICDAuditEvent{TS: at.Add(-time.Duration(i) * time.Minute), PipelineID: fmt.Sprint("pipe-", i%5), CommitHash: fmt.Sprint(i), DependencyChanges: "requests", TestsPassed: i % 3})
	}
	for i := range 2_000 {
		m.AddInvestigationRecord(InvestigationRecord{CreatedAt: at.Add(-time.Duration(i%(7*24)) * time.Hour / 2), InvestigationID: fmt.Sprint(i)})
	}
	return m
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

type discardPublisher struct{}

func (discardPublisher) Publish(context.Context, string, []byte, []byte) error { return nil }

// BenchmarkRunAll evaluates all eleven rules over ~100k telemetry rows,
// publishing and auditing every detection (suppression off so each
// iteration does the same work).
func BenchmarkRunAll(b *testing.B) {
	m := benchTelemetry(now)
	r := newRunner(b, DefaultRules(m), WithSuppressionWindow(0), WithPublisher(discardPublisher{}), WithAuditProducer(&discardProducer{}))
	out, err := r.RunAll(ctx)
	if err != nil {
		b.Fatal(err)
	}
	fired := 0
	for _, ds := range out {
		fired += len(ds)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.RunAll(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fired), "detections/op")
}
