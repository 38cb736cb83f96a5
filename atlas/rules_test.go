package atlas

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/internal/mitre"
)

const tol = 1e-9

// Checklist 22, 23.
func TestDefaultRules(t *testing.T) {
	rules := DefaultRules(NewMemoryTelemetry())
	require.Len(t, rules, 11)
	ids := map[string]bool{}
	for i, r := range rules {
		assert.True(t, strings.HasPrefix(r.ID(), "ATLAS-DETECT-"))
		assert.Equal(t, "ATLAS-DETECT-0"+[]string{"01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11"}[i], r.ID(), "id order")
		ids[r.ID()] = true
	}
	assert.Len(t, ids, 11)
	assert.True(t, ids[RuleEdgeNodeCompromise])
	sched := map[string][2]time.Duration{
		RuleTrainingDataPoisoning: {time.Hour, 24 * time.Hour}, RuleModelExtraction: {30 * time.Minute, 6 * time.Hour},
		RulePromptInjection: {15 * time.Minute, time.Hour}, RuleAdversarialEvasion: {15 * time.Minute, time.Hour},
		RulePhysicsOracleDoS: {5 * time.Minute, 15 * time.Minute}, RuleSupplyChain: {time.Hour, 24 * time.Hour},
		RuleInsiderExfiltration: {time.Hour, 24 * time.Hour}, RuleAlertFatigue: {time.Hour, 6 * time.Hour},
		RuleSensorSpoofing: {5 * time.Minute, 15 * time.Minute}, RulePartnerCompromise: {30 * time.Minute, 6 * time.Hour},
		RuleEdgeNodeCompromise: {5 * time.Minute, 15 * time.Minute},
	}
	for _, r := range rules {
		assert.Equal(t, sched[r.ID()][0], r.Frequency(), r.ID())
		assert.Equal(t, sched[r.ID()][1], r.Lookback(), r.ID())
	}
}

// Technique ids are pinned ATLAS 5.6.0 ids, with the corrections shared with
// ctem (DESIGN §3).
func TestRuleTechniques(t *testing.T) {
	want := map[string]string{
		RuleTrainingDataPoisoning: "AML.T0020", RuleModelExtraction: "AML.T0024.002", RulePromptInjection: "AML.T0051",
		RuleAdversarialEvasion: "AML.T0015", RulePhysicsOracleDoS: "AML.T0029", RuleInsiderExfiltration: "AML.T0035",
		RuleAlertFatigue: "AML.T0015", RuleSensorSpoofing: "AML.T0043", RulePartnerCompromise: "AML.T0043",
		RuleEdgeNodeCompromise: "AML.T0040",
	}
	for id, tech := range want {
		assert.Equal(t, tech, RuleTechnique(id), id)
		assert.True(t, mitre.Active(tech), tech)
	}
	assert.True(t, mitre.Active(techniquePromotion))
	assert.True(t, mitre.Active(techniqueDependency))
	for _, attack := range []string{"T1565.001", "T1530", "T1499", "T1195", "T1567", "T1565.002", "T1199", "T1195.002"} {
		assert.True(t, mitre.Active(attack), attack)
	}
	assert.Equal(t, "", RuleTechnique("custom"))
	corr := TechniqueCorrections()
	require.Len(t, corr, 2)
	got := map[string]string{}
	for _, c := range corr {
		got[c.RuleID] = c.Reference + "→" + c.Warden
		assert.NotEmpty(t, c.Reason)
	}
	assert.Equal(t, "AML.T0044.001→AML.T0024.002", got[RuleModelExtraction])
	assert.Equal(t, "AML.T0035.002→AML.T0035", got[RuleInsiderExfiltration])
}

// Checklist 11.
func TestRulesFindNothing(t *testing.T) {
	for _, r := range DefaultRules(&stub{}) {
		ds, err := r.Evaluate(ctx, EvalScope{Now: now})
		require.NoError(t, err, r.ID())
		assert.NotNil(t, ds, r.ID())
		assert.Empty(t, ds, r.ID())
	}
}

func TestRuleStoreErrorIsWrapped(t *testing.T) {
	boom := errors.New("db down")
	for _, r := range DefaultRules(&stub{err: boom}) {
		_, err := r.Evaluate(ctx, EvalScope{Now: now})
		require.ErrorIs(t, err, boom, r.ID())
		assert.Contains(t, err.Error(), r.ID())
	}
}

// Checklist 24–28 and the 001 rows of §3.7.
func TestRule001(t *testing.T) {
	s := &stub{
		activityCur: []UserActivity{
			{"alice", 200, 2}, {"bob", 5, 10}, {"charlie", 60, 1}, {"dave", 5, 1}, {"eve", 4, 1},
		},
		activityBase: []UserActivity{{"alice", 300, 1}, {"bob", 150, 1}, {"charlie", 1650, 1}, {"dave", 150, 1}},
	}
	ds := eval(t, NewTrainingDataPoisoningRule(s))
	require.Len(t, ds, 4, "dave does not fire")
	by := map[string]Detection{}
	for _, d := range ds {
		by[d.Evidence["user_id"].(string)] = d
	}
	a := by["alice"]
	assert.True(t, a.Triggered)
	assert.Equal(t, "AML.T0020", a.AtlasTechnique)
	assert.Equal(t, "T1565.001", a.AttackTechnique)
	assert.Equal(t, "TM-01", a.ThreatModelRef)
	assert.Equal(t, SeverityHigh, a.AlertSeverity)
	assert.Equal(t, 20.0, a.Evidence["deviation_factor"])
	assert.Equal(t, 10.0, a.Evidence["baseline_avg"])
	assert.InDelta(t, 0.95, a.Confidence, tol)
	assert.Equal(t, "Training data poisoning: anomalous activity by alice", a.AlertTitle)
	assert.Equal(t, []Entity{{"user", "alice"}}, a.Entities)
	assert.Equal(t, "ATLAS-DETECT-001|AML.T0020|alice", a.DedupKey)
	assert.Equal(t, "2025-06-15T12:00:00+00:00", a.Timestamp, "the evaluation instant, not the wall clock")
	b := by["bob"]
	assert.Equal(t, 10, b.Evidence["distinct_tables"])
	assert.Equal(t, 1.0, b.Evidence["deviation_factor"])
	assert.InDelta(t, 0.55, b.Confidence, tol)
	c := by["charlie"]
	assert.Equal(t, 1.09, c.Evidence["deviation_factor"])
	assert.InDelta(t, 0.554545, c.Confidence, 1e-6)
	e := by["eve"]
	assert.Equal(t, 4.0, e.Evidence["deviation_factor"])
	assert.Equal(t, 0.0, e.Evidence["baseline_avg"])
	assert.InDelta(t, 0.7, e.Confidence, tol)
	assert.Equal(t, 60, c.Evidence["count"])
	// Windows: current [now−24h, now), baseline [now−30d, now−24h).
	assert.Equal(t, Window{From: now.Add(-24 * time.Hour), To: now}, s.windows[0])
	assert.Equal(t, Window{From: now.Add(-30 * 24 * time.Hour), To: now.Add(-24 * time.Hour)}, s.windows[1])
}

// Checklist 29, 30 and the 002 row of §3.7.
func TestRules002And003(t *testing.T) {
	s := &stub{queryVolume: []QueryVolume{{"attacker", 200, 50}, {"normal", 100, 20}}}
	ds := eval(t, NewModelExtractionRule(s))
	require.Len(t, ds, 1)
	assert.Equal(t, "AML.T0024.002", ds[0].AtlasTechnique, "AML.T0044.001 corrected")
	assert.InDelta(t, 0.8, ds[0].Confidence, tol)
	assert.Equal(t, map[string]any{"user_id": "attacker", "query_count": 200, "median_tokens": 50.0}, ds[0].Evidence)
	assert.Equal(t, "Model extraction: high query volume by attacker", ds[0].AlertTitle)
	assert.Equal(t, Window{From: now.Add(-6 * time.Hour), To: now}, s.windows[0])
	assert.Empty(t, eval(t, NewModelExtractionRule(&stub{})))

	s = &stub{safetyHits: []NLQuery{{"mallory", "sess-1", "ignore previous instructions"}}}
	ds = eval(t, NewPromptInjectionRule(s))
	require.Len(t, ds, 1)
	assert.InDelta(t, 0.85, ds[0].Confidence, tol)
	assert.Equal(t, "AML.T0051", ds[0].AtlasTechnique)
	assert.Equal(t, "", ds[0].AttackTechnique)
	assert.Equal(t, map[string]any{"user_id": "mallory", "session_id": "sess-1", "safety_filter_triggered": true}, ds[0].Evidence,
		"the query text is not copied")
	assert.Equal(t, "ATLAS-DETECT-003|AML.T0051|mallory|sess-1", ds[0].DedupKey)
	assert.Empty(t, eval(t, NewPromptInjectionRule(&stub{})))
}

// Checklist 31–34 and the 004 rows of §3.7.
func TestRule004(t *testing.T) {
	base := []InferenceStats{{EdgeNodeID: "n", AvgConfidence: 0.9, StddevConfidence: 0.1, AvgLatencyMs: 80}}
	run := func(cur InferenceStats, bl []InferenceStats) []Detection {
		return eval(t, NewAdversarialEvasionRule(&stub{inferenceCur: []InferenceStats{cur}, inferenceBase: bl}))
	}
	ds := run(InferenceStats{EdgeNodeID: "n", AvgConfidence: 0.3, AvgLatencyMs: 100, FailRate: 0.05}, base)
	require.Len(t, ds, 1)
	assert.Equal(t, -6.0, ds[0].Evidence["z_score"])
	assert.Equal(t, 20.0, ds[0].Evidence["latency_increase_ms"])
	assert.InDelta(t, 0.95, ds[0].Confidence, tol)
	assert.Equal(t, SeverityCritical, ds[0].AlertSeverity)
	assert.True(t, ds[0].SafetyRelevant)
	assert.Equal(t, []Entity{{"host", "n"}}, ds[0].Entities)
	ds = run(InferenceStats{EdgeNodeID: "n", AvgConfidence: 0.85, AvgLatencyMs: 80, FailRate: 0.25}, base)
	require.Len(t, ds, 1, "fail rate")
	assert.Equal(t, -0.5, ds[0].Evidence["z_score"])
	assert.Equal(t, 0.25, ds[0].Evidence["fail_rate"])
	assert.InDelta(t, 0.65, ds[0].Confidence, tol)
	ds = run(InferenceStats{EdgeNodeID: "n", AvgConfidence: 0.88, AvgLatencyMs: 700, FailRate: 0.01},
		[]InferenceStats{{EdgeNodeID: "n", AvgConfidence: 0.9, StddevConfidence: 0.1, AvgLatencyMs: 100}})
	require.Len(t, ds, 1, "latency")
	assert.Equal(t, 600.0, ds[0].Evidence["latency_increase_ms"])
	assert.InDelta(t, 0.62, ds[0].Confidence, tol)
	assert.Empty(t, run(InferenceStats{EdgeNodeID: "n", AvgConfidence: 0.88, AvgLatencyMs: 90, FailRate: 0.05}, base), "normal")
	assert.Empty(t, run(InferenceStats{EdgeNodeID: "n", AvgConfidence: 0.1, FailRate: 0.9}, nil), "no baseline")
	assert.Empty(t, run(InferenceStats{EdgeNodeID: "n", AvgConfidence: 0.1, FailRate: 0.9},
		[]InferenceStats{{EdgeNodeID: "n", AvgConfidence: 0.9}}), "zero stddev")
	ds = run(InferenceStats{EdgeNodeID: "n", AvgConfidence: 0.2}, base)
	require.Len(t, ds, 1)
	assert.GreaterOrEqual(t, ds[0].Confidence, 0.6)
	assert.Equal(t, 0.0, SafetyFloor(RuleAdversarialEvasion), "no floor for 004")
}

// Checklist 35–38 and the 005 row of §3.7.
func TestRule005(t *testing.T) {
	run := func(o OracleStats) []Detection {
		return eval(t, NewPhysicsOracleDoSRule(&stub{oracle: []OracleStats{o}}))
	}
	ds := run(OracleStats{EdgeNodeID: "edge-1", TotalChecks: 20, ErrorCount: 5, FailRate: 0.1, MaxLatencyMs: 500})
	require.Len(t, ds, 1)
	d := ds[0]
	assert.True(t, d.RequiresImmediateAction)
	assert.True(t, d.SafetyRelevant)
	assert.InDelta(t, 0.9, d.Confidence, tol)
	assert.GreaterOrEqual(t, d.Confidence, 0.7)
	assert.Equal(t, 0.1, d.Evidence["fail_rate"])
	assert.Equal(t, 500.0, d.Evidence["max_latency_ms"])
	assert.Equal(t, "Physics oracle DoS on edge node edge-1", d.AlertTitle)
	assert.Equal(t, "T1499", d.AttackTechnique)
	assert.Len(t, run(OracleStats{EdgeNodeID: "e", TotalChecks: 20, TimeoutCount: 3}), 1, "timeouts")
	assert.Len(t, run(OracleStats{EdgeNodeID: "e", TotalChecks: 15, FailRate: 0.6}), 1, "fail rate")
	assert.Len(t, run(OracleStats{EdgeNodeID: "e", TotalChecks: 20, MaxLatencyMs: 15000}), 1, "latency")
	assert.Len(t, run(OracleStats{EdgeNodeID: "e", TotalChecks: 0}), 1, "silent oracle")
	assert.Empty(t, run(OracleStats{EdgeNodeID: "e", TotalChecks: 50, ErrorCount: 1, FailRate: 0.05, MaxLatencyMs: 200}))
	assert.Empty(t, run(OracleStats{EdgeNodeID: "e", TotalChecks: 10, FailRate: 0.9}), "fail rate needs > 10 checks")
	ds = run(OracleStats{EdgeNodeID: "e", TotalChecks: 20, ErrorCount: 10, TimeoutCount: 5, FailRate: 0.8, MaxLatencyMs: 20000})
	assert.GreaterOrEqual(t, ds[0].Confidence, 0.7)
}

// Checklist 39–41, 85 and the 006 row of §3.7.
func TestRule006(t *testing.T) {
	s := &stub{
		promotions:   []ModelPromotion{{UserID: "rogue", ModelName: "m", ModelVersion: "1", Stage: "Production"}},
		dependencies: []DependencyChange{{PipelineID: "p", CommitHash: "abc", DependencyChanges: "torch", Deployer: "bot"}},
	}
	ds := eval(t, NewSupplyChainRule(s, s))
	require.Len(t, ds, 2)
	assert.Equal(t, "Unapproved model promotion: m v1", ds[0].AlertTitle)
	assert.InDelta(t, 0.85, ds[0].Confidence, tol)
	assert.Equal(t, "AML.T0010", ds[0].AtlasTechnique)
	assert.Equal(t, "", ds[0].Evidence["approved_by"])
	assert.Equal(t, "ATLAS-DETECT-006|AML.T0010|m|1", ds[0].DedupKey)
	assert.Equal(t, "Dependency change without tests: pipeline p", ds[1].AlertTitle)
	assert.InDelta(t, 0.8, ds[1].Confidence, tol)
	assert.Equal(t, "AML.T0018", ds[1].AtlasTechnique)
	assert.Equal(t, []Entity{{"user", "bot"}}, ds[1].Entities)
	for _, d := range ds {
		assert.Equal(t, SeverityHigh, d.AlertSeverity)
		assert.Equal(t, "T1195", d.AttackTechnique)
		assert.Equal(t, "TM-05", d.ThreatModelRef)
	}
	assert.Empty(t, eval(t, NewSupplyChainRule(&stub{}, &stub{})))
	s = &stub{dependencies: []DependencyChange{{PipelineID: "p", CommitHash: "c", DependencyChanges: "x"}}}
	ds = eval(t, NewSupplyChainRule(s, s))
	require.Len(t, ds, 1)
	assert.Empty(t, ds[0].Entities, "empty deployer → no entity")
}

// Checklist 42, 43 and the 007 row of §3.7.
func TestRule007(t *testing.T) {
	run := func(cur APIAccess, base []APIAccess) []Detection {
		return eval(t, NewInsiderExfiltrationRule(&stub{apiCur: []APIAccess{cur}, apiBase: base}))
	}
	ds := run(APIAccess{CallerIdentity: "insider", Count: 500}, []APIAccess{{CallerIdentity: "insider", Count: 300}})
	require.Len(t, ds, 1)
	assert.Equal(t, 50.0, ds[0].Evidence["deviation_factor"])
	assert.InDelta(t, 0.95, ds[0].Confidence, tol)
	assert.Equal(t, "AML.T0035", ds[0].AtlasTechnique, "AML.T0035.002 corrected")
	assert.Equal(t, "Insider exfiltration: anomalous API access by insider", ds[0].AlertTitle)
	assert.Len(t, run(APIAccess{CallerIdentity: "x", Count: 10, DistinctEndpoints: 10}, []APIAccess{{CallerIdentity: "x", Count: 300}}), 1)
	assert.Len(t, run(APIAccess{CallerIdentity: "x", Count: 10, AfterHours: 8}, []APIAccess{{CallerIdentity: "x", Count: 300}}), 1)
	assert.Empty(t, run(APIAccess{CallerIdentity: "x", Count: 10, DistinctEndpoints: 2, AfterHours: 1}, []APIAccess{{CallerIdentity: "x", Count: 300}}))
}

// Checklist 44 and the 008 rows of §3.7.
func TestRule008(t *testing.T) {
	ds := eval(t, NewAlertFatigueRule(&stub{invCur: 100, invBase: 280}))
	require.Len(t, ds, 1)
	assert.Equal(t, 10.0, ds[0].Evidence["spike_ratio"])
	assert.Equal(t, 10.0, ds[0].Evidence["baseline_avg"])
	assert.Equal(t, 100, ds[0].Evidence["current_count"])
	assert.InDelta(t, 0.9, ds[0].Confidence, tol)
	assert.Empty(t, ds[0].Entities)
	assert.Equal(t, "ATLAS-DETECT-008|AML.T0015|", ds[0].DedupKey)
	assert.Empty(t, eval(t, NewAlertFatigueRule(&stub{invCur: 20, invBase: 280})))
	ds = eval(t, NewAlertFatigueRule(&stub{invCur: 6, invBase: 0}))
	require.Len(t, ds, 1)
	assert.Equal(t, 6.0, ds[0].Evidence["spike_ratio"])
	assert.InDelta(t, 0.8, ds[0].Confidence, tol)
}

// Checklist 16, 45–47 and the 009 rows of §3.7.
func TestRule009(t *testing.T) {
	base := []OPCUABaseline{{EdgeNodeID: "n", AvgDataPoints: 100, StddevDataPoints: 20, AvgSensorCount: 10}}
	run := func(r OPCUAReading, bl []OPCUABaseline) []Detection {
		return eval(t, NewSensorSpoofingRule(&stub{opcua: []OPCUAReading{r}, opcuaBase: bl}))
	}
	ds := run(OPCUAReading{EdgeNodeID: "n", DataPointsReceived: 500, SensorCount: 10}, base)
	require.Len(t, ds, 1)
	d := ds[0]
	assert.Equal(t, 20.0, d.Evidence["z_score"])
	assert.Equal(t, 0.0, d.Evidence["sensor_delta"])
	assert.InDelta(t, 0.7, d.Confidence, tol)
	assert.Equal(t, Untrusted, d.TelemetryTrustLevel)
	assert.Equal(t, "unavailable", d.AttestationStatus)
	assert.True(t, d.SafetyRelevant)
	assert.True(t, d.RequiresImmediateAction)
	assert.Equal(t, "Sensor spoofing detected on n", d.AlertTitle)
	assert.Len(t, run(OPCUAReading{EdgeNodeID: "n", DataPointsReceived: 100, SensorCount: 10, ProtocolViolations: 3}, base), 1)
	ds = run(OPCUAReading{EdgeNodeID: "n", DataPointsReceived: 100, SensorCount: 20}, base)
	require.Len(t, ds, 1)
	assert.Equal(t, 10.0, ds[0].Evidence["sensor_delta"])
	assert.Equal(t, 0.0, ds[0].Evidence["z_score"])
	assert.Empty(t, run(OPCUAReading{EdgeNodeID: "n", DataPointsReceived: 102, SensorCount: 10}, base))
	ds = run(OPCUAReading{EdgeNodeID: "n", DataPointsReceived: 500, ProtocolViolations: 5, SensorCount: 10}, base)
	assert.InDelta(t, 0.7, ds[0].Confidence, tol)
	assert.Empty(t, run(OPCUAReading{EdgeNodeID: "n", DataPointsReceived: 5000, SensorCount: 99}, nil), "no baseline: z and delta stay 0")
}

// Checklist 48, 49 and the 010 rows of §3.7.
func TestRule010(t *testing.T) {
	run := func(cur PartnerActivity, bl []PartnerBaseline) []Detection {
		return eval(t, NewPartnerCompromiseRule(&stub{partnerCur: []PartnerActivity{cur}, partnerBase: bl}))
	}
	ds := run(PartnerActivity{PartnerID: "p1", PartnerName: "Acme", CallCount: 500, AvgPayload: 1000},
		[]PartnerBaseline{{PartnerID: "p1", CallCount: 1400, AvgPayload: 1000, StddevPayload: 100}})
	require.Len(t, ds, 1)
	assert.Equal(t, 10.0, ds[0].Evidence["volume_deviation"])
	assert.InDelta(t, 0.9, ds[0].Confidence, tol)
	assert.Equal(t, "Partner compromise: anomalous activity from Acme", ds[0].AlertTitle)
	assert.Equal(t, []Entity{{"account", "p1"}}, ds[0].Entities)
	ds = run(PartnerActivity{PartnerID: "p2", PartnerName: "B", CallCount: 10, AvgPayload: 5000},
		[]PartnerBaseline{{PartnerID: "p2", CallCount: 1400, AvgPayload: 1000, StddevPayload: 100}})
	require.Len(t, ds, 1)
	assert.Equal(t, 40.0, ds[0].Evidence["payload_z_score"])
	assert.Equal(t, 0.2, ds[0].Evidence["volume_deviation"])
	assert.InDelta(t, 0.62, ds[0].Confidence, tol)
	assert.Len(t, run(PartnerActivity{PartnerID: "p", CallCount: 10, AvgPayload: 1000, MTLSFailures: 2},
		[]PartnerBaseline{{PartnerID: "p", CallCount: 1400, AvgPayload: 1000, StddevPayload: 100}}), 1)
	assert.Empty(t, run(PartnerActivity{PartnerID: "p", CallCount: 50, AvgPayload: 1010},
		[]PartnerBaseline{{PartnerID: "p", CallCount: 1400, AvgPayload: 1000, StddevPayload: 100}}))
	ds = run(PartnerActivity{PartnerID: "new", PartnerName: "New", CallCount: 10000, MTLSFailures: 1}, nil)
	require.Len(t, ds, 1, "no baseline: only the mTLS failure fires")
	assert.Equal(t, 0.0, ds[0].Evidence["volume_deviation"])
	assert.InDelta(t, 0.6, ds[0].Confidence, tol)
	assert.Empty(t, run(PartnerActivity{PartnerID: "new", CallCount: 10000}, nil))
}

// Checklist 17–21, 84 and the 011 rows of §3.7.
func TestRule011(t *testing.T) {
	run := func(r EdgeNodeReading) []Detection {
		return eval(t, NewEdgeCompromiseRule(&stub{edge: []EdgeNodeReading{r}}))
	}
	ds := run(EdgeNodeReading{EdgeNodeID: "edge-1", BootAttestation: "fail", DiskIntegrity: "ok", CPUUtilisation: 0.5})
	require.Len(t, ds, 1)
	d := ds[0]
	assert.InDelta(t, 0.595, d.Confidence, tol)
	assert.Equal(t, Untrusted, d.TelemetryTrustLevel)
	assert.Equal(t, "fail", d.AttestationStatus)
	assert.Equal(t, "TM-04", d.ThreatModelRef)
	assert.Equal(t, map[string]any{"edge_node_id": "edge-1", "boot_attestation": "fail"}, d.Evidence)
	assert.True(t, d.RequiresImmediateAction)
	assert.False(t, d.SafetyRelevant)
	ds = run(EdgeNodeReading{EdgeNodeID: "e", DiskIntegrity: "ok"})
	require.Len(t, ds, 1)
	assert.Equal(t, "unavailable", ds[0].AttestationStatus)
	assert.Equal(t, "unavailable", ds[0].Evidence["boot_attestation"])
	ds = run(EdgeNodeReading{EdgeNodeID: "e", BootAttestation: "pass", DiskIntegrity: "fail"})
	require.Len(t, ds, 1)
	assert.Equal(t, "pass", ds[0].AttestationStatus)
	ds = run(EdgeNodeReading{EdgeNodeID: "e", BootAttestation: "pass", DiskIntegrity: "ok", CPUUtilisation: 0.98})
	require.Len(t, ds, 1)
	assert.Equal(t, 0.98, ds[0].Evidence["cpu_utilisation"])
	assert.Len(t, run(EdgeNodeReading{EdgeNodeID: "e", BootAttestation: "pass", DiskIntegrity: "ok", MemoryUtilisation: 0.99}), 1)
	assert.Empty(t, run(EdgeNodeReading{EdgeNodeID: "e", BootAttestation: "pass", DiskIntegrity: "ok", CPUUtilisation: 0.3, MemoryUtilisation: 0.3}))
	ds = run(EdgeNodeReading{EdgeNodeID: "e", BootAttestation: " FAIL ", DiskIntegrity: "OK"})
	require.Len(t, ds, 1)
	assert.Equal(t, "fail", ds[0].AttestationStatus, "case-insensitive")
	ds = run(EdgeNodeReading{EdgeNodeID: "e", BootAttestation: "pass", DiskIntegrity: "FAIL"})
	require.Len(t, ds, 1, "disk compared case-insensitively")
}

// Checklist 83: rule 001 over MemoryTelemetry.
func TestRule001OverMemoryTelemetry(t *testing.T) {
	m := NewMemoryTelemetry()
	for i := range 51 {
		m.AddDatabricksAuditEvent(DatabricksAuditEvent{TS: now.Add(-time.Duration(i+1) * time.Minute), UserID: "u", Action: "deltaTableWrite", TargetResource: "t1"})
	}
	for i := range 100 {
		m.AddDatabricksAuditEvent(DatabricksAuditEvent{TS: now.Add(-time.Duration(i+1) * time.Minute), UserID: "reader", Action: "read"})
	}
	ds := eval(t, NewTrainingDataPoisoningRule(m))
	require.Len(t, ds, 1)
	assert.Equal(t, "u", ds[0].Evidence["user_id"])
	assert.Equal(t, 51, ds[0].Evidence["count"])
	assert.Equal(t, 1, ds[0].Evidence["distinct_tables"])
}

// Checklist 13–15: the trust model.
func TestTrustModel(t *testing.T) {
	assert.Equal(t, 0.7, TrustDowngradeFactor)
	assert.Equal(t, []string{"edge_node_telemetry", "opcua_telemetry"}, UntrustedSources())
	c, tl := ApplyTrustDowngrade(0.85, "opcua_telemetry")
	assert.InDelta(t, 0.595, c, tol)
	assert.Equal(t, Untrusted, tl)
	c, tl = ApplyTrustDowngrade(0.85, "databricks_audit")
	assert.Equal(t, 0.85, c)
	assert.Equal(t, Trusted, tl)
	c, tl = ApplyTrustDowngrade(0.90, "edge_node_telemetry")
	assert.InDelta(t, 0.63, c, tol)
	assert.Equal(t, Untrusted, tl)
	c, _ = ApplyTrustDowngrade(ApplySafetyFloor(RuleSensorSpoofing, 0.85), SourceOPCUATelemetry)
	assert.InDelta(t, 0.595, c, tol, "the helper alone may go below the floor")
	assert.InDelta(t, 0.7, ApplySafetyFloor(RuleSensorSpoofing, c), tol)
	for _, src := range []string{SourceDatabricksAudit, SourceNLQueryLogs, SourceInferenceLogs, SourcePhysicsOracle, SourceModelRegistry,
		SourceCICDAudit, SourceAPILogs, SourceInvestigations, SourcePartnerAPILogs} {
		assert.False(t, IsUntrustedSource(src), src)
	}
}
