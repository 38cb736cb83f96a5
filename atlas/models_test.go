package atlas

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 1.
func TestNewDetectionDefaults(t *testing.T) {
	d := NewDetection("TEST-001", now)
	d.Triggered = true
	assert.Equal(t, SeverityMedium, d.AlertSeverity)
	assert.Equal(t, 0.0, d.Confidence)
	assert.NotNil(t, d.Evidence)
	assert.Empty(t, d.Evidence)
	assert.NotNil(t, d.Entities)
	assert.Empty(t, d.Entities)
	assert.False(t, d.RequiresImmediateAction)
	assert.False(t, d.SafetyRelevant)
	assert.Equal(t, Trusted, d.TelemetryTrustLevel)
	assert.Equal(t, "", d.AttestationStatus)
	assert.Equal(t, "2025-06-15T12:00:00+00:00", d.Timestamp)
}

// Checklist 2, 3, 4: the runner fills defaults and keeps what is set.
func TestRunnerFillsDefaults(t *testing.T) {
	empty := Detection{Triggered: true, AlertTitle: "x"}
	explicit := Detection{RuleID: "R", Triggered: true, Timestamp: "2025-01-15T10:00:00+00:00",
		Evidence: map[string]any{"user_id": "alice", "count": 42}, Entities: []Entity{{"user", "bob"}}}
	clock := time.Date(2025, 6, 15, 12, 30, 0, 123456789, time.UTC)
	r := newRunner(t, nil, WithClock(func() time.Time { return clock }))
	ds, err := r.RunRule(ctx, staticRule("R", empty, explicit))
	require.NoError(t, err)
	require.Len(t, ds, 2)
	assert.Equal(t, "R", ds[0].RuleID)
	assert.Equal(t, FormatTimestamp(clock), ds[0].Timestamp)
	parsed, err := time.Parse(time.RFC3339Nano, ds[0].Timestamp)
	require.NoError(t, err)
	assert.Equal(t, "+00:00", ds[0].Timestamp[len(ds[0].Timestamp)-6:])
	assert.True(t, parsed.Equal(clock.Truncate(time.Microsecond)))
	assert.Equal(t, SeverityMedium, ds[0].AlertSeverity)
	assert.Equal(t, map[string]any{}, ds[0].Evidence)
	assert.Equal(t, []Entity{}, ds[0].Entities)
	assert.Equal(t, Trusted, ds[0].TelemetryTrustLevel)
	assert.Equal(t, "2025-01-15T10:00:00+00:00", ds[1].Timestamp)
	assert.Equal(t, map[string]any{"user_id": "alice", "count": 42}, ds[1].Evidence)
	assert.Equal(t, []Entity{{"user", "bob"}}, ds[1].Entities)
}

// Checklist 5.
func TestDetectionRoundTrip(t *testing.T) {
	d := Detection{RuleID: RulePhysicsOracleDoS, Triggered: true, AlertTitle: "Physics DoS", AlertSeverity: SeverityCritical,
		AtlasTechnique: "AML.T0029", AttackTechnique: "T1499", ThreatModelRef: "TM-14", Confidence: 0.9,
		Evidence: map[string]any{"edge_node_id": "edge-1", "total_checks": 20.0}, Entities: []Entity{{"host", "edge-1"}},
		RequiresImmediateAction: true, SafetyRelevant: true, Timestamp: FormatTimestamp(now), TelemetryTrustLevel: Untrusted,
		AttestationStatus: "fail", DedupKey: "k", Suppressed: true, AlertID: "a"}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var back Detection
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d, back)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"rule_id", "triggered", "alert_title", "alert_severity", "atlas_technique", "attack_technique",
		"threat_model_ref", "confidence", "evidence", "entities", "requires_immediate_action", "safety_relevant", "timestamp",
		"telemetry_trust_level", "attestation_status", "dedup_key", "suppressed"} {
		assert.Contains(t, m, k)
	}
}

// Checklist 6, 7, 9, 10.
func TestSafetySets(t *testing.T) {
	assert.Equal(t, 0.7, SafetyFloor(RulePhysicsOracleDoS))
	assert.Equal(t, 0.7, SafetyFloor(RuleSensorSpoofing))
	floors := 0
	for _, r := range DefaultRules(NewMemoryTelemetry()) {
		if SafetyFloor(r.ID()) > 0 {
			floors++
		}
	}
	assert.Equal(t, 2, floors)
	got := SafetyRelevantRules()
	assert.Equal(t, []string{RuleAdversarialEvasion, RulePhysicsOracleDoS, RuleSensorSpoofing}, got)
	got[0] = "TEST-RULE"
	assert.False(t, IsSafetyRelevant("TEST-RULE"), "the returned slice is a copy")
	assert.True(t, IsSafetyRelevant(RuleAdversarialEvasion))
	assert.True(t, IsSafetyRelevant(RulePhysicsOracleDoS))
	assert.False(t, IsSafetyRelevant(RuleEdgeNodeCompromise))
	assert.Equal(t, 0.3, ApplySafetyFloor("TEST-RULE", 0.3))
	assert.Equal(t, 0.7, ApplySafetyFloor(RulePhysicsOracleDoS, 0.3))
	assert.Equal(t, 0.9, ApplySafetyFloor(RulePhysicsOracleDoS, 0.9))
}

// Checklist 8, 12, 78.
func TestNewValidatesRules(t *testing.T) {
	r := &funcRule{id: "TEST-RULE", frequency: time.Hour, lookback: 6 * time.Hour}
	assert.Equal(t, "TEST-RULE", r.ID())
	assert.Equal(t, time.Hour, r.Frequency())
	assert.Equal(t, 6*time.Hour, r.Lookback())
	var typedNil *funcRule
	cases := map[string][]Rule{
		"nil":          {nil},
		"typed nil":    {typedNil},
		"empty id":     {&funcRule{frequency: time.Hour, lookback: time.Hour}},
		"zero freq":    {&funcRule{id: "a", lookback: time.Hour}},
		"neg lookback": {&funcRule{id: "a", frequency: time.Hour, lookback: -time.Hour}},
	}
	for name, rules := range cases {
		_, err := New(rules)
		assert.ErrorIs(t, err, ErrInvalidRule, name)
	}
	_, err := New([]Rule{staticRule("a"), staticRule("a")})
	assert.ErrorIs(t, err, ErrDuplicateRule)
	for name, opt := range map[string]Option{
		"tick": WithTick(0), "timeout": WithRuleTimeout(0), "publish": WithPublishTimeout(-1),
		"window": WithSuppressionWindow(-time.Second), "topic": WithAlertTopic(""), "clock": WithClock(nil), "logger": WithLogger(nil),
	} {
		_, err := New(nil, opt)
		assert.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	_, err = New(nil)
	assert.NoError(t, err, "zero rules is valid")
}

// Checklist 81.
func TestFormatTimestamp(t *testing.T) {
	base := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, "2025-06-15T12:00:00+00:00", FormatTimestamp(base))
	assert.Equal(t, "2025-06-15T12:00:00.100000+00:00", FormatTimestamp(base.Add(100*time.Millisecond)))
	assert.Equal(t, "2025-06-15T12:00:00.123456+00:00", FormatTimestamp(base.Add(123456789)))
	assert.Equal(t, "2025-06-15T12:00:00+00:00", FormatTimestamp(base.Add(999)), "sub-microsecond truncated")
	assert.Equal(t, "2025-06-15T10:00:00+00:00", FormatTimestamp(base.In(time.FixedZone("X", 2*3600)).Add(-2*time.Hour)))
	assert.Equal(t, 0.12, roundN(0.125, 2))
	assert.Equal(t, 2.67, roundN(2.675, 2))
}

// Checklist 82: the MemoryTelemetry aggregation contract.
func TestMemoryTelemetryContract(t *testing.T) {
	m := NewMemoryTelemetry()
	w := Window{From: now.Add(-time.Hour), To: now}
	in := now.Add(-30 * time.Minute)

	// Inference: sample std-dev (n−1), fail rate case-insensitive; [From, To) bounds.
	for _, c := range []float64{0.8, 0.9, 1.0} {
		m.AddInferenceLog(InferenceLog{TS: in, EdgeNodeID: "n1", ConfidenceScore: c, InferenceLatencyMs: 100, PhysicsCheckResult: "pass"})
	}
	m.AddInferenceLog(InferenceLog{TS: in, EdgeNodeID: "n1", ConfidenceScore: 0.9, InferenceLatencyMs: 200, PhysicsCheckResult: "FAIL"})
	m.AddInferenceLog(InferenceLog{TS: now, EdgeNodeID: "n1", ConfidenceScore: 0})                   // To is exclusive
	m.AddInferenceLog(InferenceLog{TS: now.Add(-time.Hour), EdgeNodeID: "n0", ConfidenceScore: 0.5}) // From is inclusive
	m.AddInferenceLog(InferenceLog{TS: in, EdgeNodeID: "n2", ConfidenceScore: 0.7, TenantID: "other"})
	st, err := m.InferenceStats(ctx, w)
	require.NoError(t, err)
	require.Len(t, st, 3)
	assert.Equal(t, "n0", st[0].EdgeNodeID, "sorted by group key")
	assert.Equal(t, 0.0, st[0].StddevConfidence, "one sample: std-dev 0")
	assert.Equal(t, 4, st[1].Count)
	assert.InDelta(t, 0.9, st[1].AvgConfidence, tol)
	assert.InDelta(t, 0.0816496580927726, st[1].StddevConfidence, tol)
	assert.InDelta(t, 125.0, st[1].AvgLatencyMs, tol)
	assert.Equal(t, 0.25, st[1].FailRate)
	st, err = m.InferenceStats(ctx, Window{TenantID: "other", From: w.From, To: w.To})
	require.NoError(t, err)
	require.Len(t, st, 1, "tenant filter")
	assert.Equal(t, "n2", st[0].EdgeNodeID)
	st, _ = m.InferenceStats(ctx, Window{TenantID: "default", From: w.From, To: w.To})
	assert.Len(t, st, 2, "an empty tenant is stored as default")

	// NL queries: continuous median for even n; safety hits in ts order.
	for i, tokens := range []int{10, 40, 20, 30} {
		m.AddNLQueryLog(NLQueryLog{TS: in.Add(time.Duration(-i) * time.Second), UserID: "u", TokenCount: tokens, SafetyFilterTriggered: i%2 == 1, SessionID: string(rune('a' + i))})
	}
	qv, _ := m.NLQueryVolume(ctx, w)
	require.Len(t, qv, 1)
	assert.Equal(t, 4, qv[0].QueryCount)
	assert.Equal(t, 25.0, qv[0].MedianTokens)
	hits, _ := m.NLSafetyFilterHits(ctx, w)
	require.Len(t, hits, 2)
	assert.Equal(t, "d", hits[0].SessionID, "ts order: the older row first")
	assert.Equal(t, "b", hits[1].SessionID)

	// Physics oracle: error_state NONE / "" not counted; timeouts > threshold.
	for _, c := range []PhysicsOracleCheck{
		{TS: in, EdgeNodeID: "e", ErrorState: "NONE", LatencyMs: 100, CheckResult: "pass"},
		{TS: in, EdgeNodeID: "e", ErrorState: "", LatencyMs: 10001, CheckResult: "Fail"},
		{TS: in, EdgeNodeID: "e", ErrorState: "timeout", LatencyMs: 10000, CheckResult: "pass"},
		{TS: in, EdgeNodeID: "e", ErrorState: " none ", LatencyMs: 50, CheckResult: "pass"},
	} {
		m.AddPhysicsOracleCheck(c)
	}
	os, _ := m.PhysicsOracleStats(ctx, w, 10000)
	require.Len(t, os, 1)
	assert.Equal(t, OracleStats{EdgeNodeID: "e", TotalChecks: 4, ErrorCount: 1, TimeoutCount: 1, FailRate: 0.25, MaxLatencyMs: 10001}, os[0])

	// Registry and CI/CD filters, case-insensitive enumerations.
	m.AddModelRegistryEvent(ModelRegistryEvent{TS: in, UserID: "u1", Action: "STAGE_TRANSITION", Stage: "Production", ModelName: "m", ModelVersion: "1"})
	m.AddModelRegistryEvent(ModelRegistryEvent{TS: in, UserID: "u2", Action: "stage_transition", Stage: "production", ApprovedBy: "boss"})
	m.AddModelRegistryEvent(ModelRegistryEvent{TS: in, UserID: "u3", Action: "stage_transition", Stage: "staging"})
	proms, _ := m.UnapprovedPromotions(ctx, w)
	require.Len(t, proms, 1)
	assert.Equal(t, "u1", proms[0].UserID)
	m.AddCICDAuditEvent(CICDAuditEvent{TS: in, PipelineID: "p1", DependencyChanges: "torch", TestsPassed: 0})
	m.AddCICDAuditEvent(CICDAuditEvent{TS: in, PipelineID: "p2", DependencyChanges: "torch", TestsPassed: 3})
	m.AddCICDAuditEvent(CICDAuditEvent{TS: in, PipelineID: "p3", DependencyChanges: "", TestsPassed: 0})
	deps, _ := m.UntestedDependencyChanges(ctx, w)
	require.Len(t, deps, 1)
	assert.Equal(t, "p1", deps[0].PipelineID)

	// API: after hours are UTC hours 0–5 and 23 only.
	day := time.Date(2025, 6, 14, 0, 0, 0, 0, time.UTC)
	for _, h := range []int{0, 5, 6, 12, 22, 23} {
		m.AddAPIAccessLog(APIAccessLog{TS: day.Add(time.Duration(h) * time.Hour), CallerIdentity: "c", Endpoint: "/e" + string(rune('0'+h%3))})
	}
	m.AddAPIAccessLog(APIAccessLog{TS: day, CallerIdentity: "c", Endpoint: ""})
	api, _ := m.APIAccessStats(ctx, Window{From: day, To: day.Add(24 * time.Hour)})
	require.Len(t, api, 1)
	assert.Equal(t, APIAccess{CallerIdentity: "c", Count: 7, DistinctEndpoints: 3, AfterHours: 4}, api[0])

	// Investigations by created_at.
	m.AddInvestigationRecord(InvestigationRecord{CreatedAt: in, InvestigationID: "i1"})
	m.AddInvestigationRecord(InvestigationRecord{CreatedAt: now, InvestigationID: "i2"})
	n, _ := m.InvestigationCount(ctx, w)
	assert.Equal(t, 1, n)

	// OPC-UA rows and baseline.
	for _, p := range []int{90, 110} {
		m.AddOPCUATelemetry(OPCUATelemetry{TS: in, EdgeNodeID: "o", DataPointsReceived: p, SensorCount: 10})
	}
	rows, _ := m.OPCUAReadings(ctx, w)
	assert.Len(t, rows, 2)
	bl, _ := m.OPCUABaseline(ctx, w)
	require.Len(t, bl, 1)
	assert.Equal(t, 100.0, bl[0].AvgDataPoints)
	assert.InDelta(t, 14.142135623730951, bl[0].StddevDataPoints, tol)
	assert.Equal(t, 10.0, bl[0].AvgSensorCount)

	// Partners: nil mtls_verified is not a failure.
	f, tr := false, true
	m.AddPartnerAPILog(PartnerAPILog{TS: in, PartnerID: "p", PartnerName: "P", PayloadSize: 100, MTLSVerified: &f})
	m.AddPartnerAPILog(PartnerAPILog{TS: in, PartnerID: "p", PartnerName: "P", PayloadSize: 300, MTLSVerified: &tr})
	m.AddPartnerAPILog(PartnerAPILog{TS: in, PartnerID: "p", PartnerName: "P", PayloadSize: 200})
	m.AddPartnerAPILog(PartnerAPILog{TS: in, PartnerID: "p", PartnerName: "P renamed", PayloadSize: 200})
	pa, _ := m.PartnerActivity(ctx, w)
	require.Len(t, pa, 2, "grouped by (id, name)")
	assert.Equal(t, PartnerActivity{PartnerID: "p", PartnerName: "P", CallCount: 3, AvgPayload: 200, MTLSFailures: 1}, pa[0])
	pb, _ := m.PartnerBaseline(ctx, w)
	require.Len(t, pb, 1, "grouped by id")
	assert.Equal(t, 4, pb[0].CallCount)
	assert.InDelta(t, 81.64965809277261, pb[0].StddevPayload, tol)

	// Edge rows; Databricks distinct non-empty resources.
	m.AddEdgeNodeTelemetry(EdgeNodeTelemetry{TS: in, EdgeNodeID: "x", BootAttestation: "pass", CPUUtilisation: 0.5})
	er, _ := m.EdgeNodeReadings(ctx, w)
	require.Len(t, er, 1)
	assert.Equal(t, "pass", er[0].BootAttestation)
	for _, res := range []string{"a", "a", "b", ""} {
		m.AddDatabricksAuditEvent(DatabricksAuditEvent{TS: in, UserID: "d", Action: "notebookRun", TargetResource: res})
	}
	m.AddDatabricksAuditEvent(DatabricksAuditEvent{TS: in, UserID: "d", Action: "NotebookRun"})
	ua, _ := m.DatabricksActivity(ctx, w, []string{"notebookRun"})
	require.Len(t, ua, 1)
	assert.Equal(t, UserActivity{UserID: "d", Count: 4, DistinctResources: 2}, ua[0], "actions compare exactly")

	// Prune drops old rows.
	m.Prune(now.Add(-45 * time.Minute))
	st, _ = m.InferenceStats(ctx, Window{From: now.Add(-2 * time.Hour), To: now.Add(time.Hour)})
	for _, s := range st {
		assert.NotEqual(t, "n0", s.EdgeNodeID)
	}
	api, _ = m.APIAccessStats(ctx, Window{From: day, To: day.Add(24 * time.Hour)})
	assert.Empty(t, api)
}

func TestMemoryTelemetryRowOrder(t *testing.T) {
	m := NewMemoryTelemetry()
	m.AddOPCUATelemetry(OPCUATelemetry{TS: now.Add(-time.Minute), EdgeNodeID: "late"})
	m.AddOPCUATelemetry(OPCUATelemetry{TS: now.Add(-10 * time.Minute), EdgeNodeID: "early"})
	m.AddOPCUATelemetry(OPCUATelemetry{TS: now.Add(-time.Minute), EdgeNodeID: "late-2"})
	rows, err := m.OPCUAReadings(ctx, Window{From: now.Add(-time.Hour), To: now})
	require.NoError(t, err)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.EdgeNodeID)
	}
	assert.Equal(t, []string{"early", "late", "late-2"}, ids, "ts order, ties in insertion order")
}
