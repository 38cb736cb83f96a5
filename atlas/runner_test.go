package atlas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

func decodeAlert(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// Checklist 50, 51, 52, 53, 54, 80: alert conversion.
func TestAlertConversion(t *testing.T) {
	stub := NewDetection("ATLAS-DETECT-STUB", now)
	stub.Triggered = true
	stub.AlertTitle = "Test alert"
	stub.AlertSeverity = SeverityHigh
	stub.AtlasTechnique = "AML.T0020"
	stub.DedupKey = "ATLAS-DETECT-STUB|AML.T0020|"
	id := AlertID(stub.RuleID, stub.DedupKey, now)
	// The issue requires ids from rule, key and window: the reference's
	// "<rule>-<timestamp>" is kept as the prefix.
	assert.True(t, strings.HasPrefix(id, "ATLAS-DETECT-STUB-2025-06-15T12:00:00+00:00-"), id)
	assert.Len(t, strings.TrimPrefix(id, "ATLAS-DETECT-STUB-2025-06-15T12:00:00+00:00-"), 12)
	assert.Equal(t, id, AlertID(stub.RuleID, stub.DedupKey, now), "deterministic")
	assert.NotEqual(t, id, AlertID(stub.RuleID, stub.DedupKey+"x", now))
	assert.NotEqual(t, id, AlertID(stub.RuleID, stub.DedupKey, now.Add(time.Hour)))

	a := NewAlert(stub, "", id)
	assert.Equal(t, "atlas", a.Source)
	assert.Equal(t, "high", a.Severity)
	assert.Equal(t, []string{"AML.T0020"}, a.Techniques)
	assert.Equal(t, "ATLAS detection: Test alert", a.Description)
	assert.Equal(t, "2025-06-15T12:00:00+00:00", a.Timestamp)
	assert.Equal(t, []string{}, a.Tactics)
	assert.Equal(t, "", a.Product)
	b, err := json.Marshal(a)
	require.NoError(t, err)
	keys := []string{"alert_id", "source", "timestamp", "title", "description", "severity", "tactics", "techniques",
		"entities_raw", "product", "tenant_id", "raw_payload"}
	pos := -1
	for _, k := range keys {
		i := strings.Index(string(b), `"`+k+`":`)
		require.Greater(t, i, pos, "key %s in order", k)
		pos = i
	}

	stub.AttackTechnique = "T1565.001"
	assert.Equal(t, []string{"AML.T0020", "T1565.001"}, NewAlert(stub, "", id).Techniques)
	stub.AtlasTechnique, stub.AttackTechnique = "", ""
	assert.Equal(t, []string{}, NewAlert(stub, "", id).Techniques)

	d := NewDetection(RulePhysicsOracleDoS, now)
	d.Confidence, d.RequiresImmediateAction, d.SafetyRelevant = 0.9, true, true
	d.AlertSeverity, d.AlertTitle = SeverityCritical, "Physics DoS"
	d.Entities = []Entity{{"host", "edge-1"}}
	d.TelemetryTrustLevel, d.AttestationStatus = Untrusted, "fail"
	m := decodeAlert(t, mustMarshal(t, NewAlert(d, "t1", "x")))
	p := m["raw_payload"].(map[string]any)
	assert.Equal(t, 0.9, p["confidence"])
	assert.Equal(t, true, p["requires_immediate_action"])
	assert.Equal(t, true, p["safety_relevant"])
	assert.Equal(t, "untrusted", p["telemetry_trust_level"])
	assert.Equal(t, "fail", p["attestation_status"])
	assert.Equal(t, []any{map[string]any{"type": "host", "id": "edge-1"}}, p["entities"])
	assert.Equal(t, "critical", m["severity"])
	assert.Equal(t, "ATLAS detection: Physics DoS", m["description"])
	assert.Equal(t, "t1", m["tenant_id"])
	assert.Equal(t, `[{"$id":"1","Type":"host","HostName":"edge-1"}]`, m["entities_raw"])

	assert.Equal(t, `[{"$id":"1","Type":"account","Name":"alice"},{"$id":"2","Type":"account","Name":"p1"},{"$id":"3","Type":"ip","Name":"10.0.0.1"}]`,
		EntitiesRaw([]Entity{{"user", "alice"}, {"host", ""}, {"account", "p1"}, {"ip", "10.0.0.1"}}))
	assert.Equal(t, "", EntitiesRaw(nil))
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// Checklist 79.
func TestAlertSeverities(t *testing.T) {
	for in, want := range map[Severity]string{"Critical": "critical", "High": "high", "Medium": "medium", "Low": "low",
		"Informational": "informational", "Info": "informational", "Bogus": "medium", "": "medium"} {
		got, _ := AlertSeverity(in)
		assert.Equal(t, want, got, in)
	}
	var sink strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return sink.Write(p)
	}), nil))
	info, bogus := triggered("R"), triggered("R")
	info.AlertSeverity, bogus.AlertSeverity = "Info", "Bogus"
	bogus.DedupKey = "other"
	pub := &pubRecorder{}
	r := newRunner(t, nil, WithPublisher(pub), WithLogger(logger))
	ds, err := r.RunRule(ctx, staticRule("R", info, bogus))
	require.NoError(t, err, "the run does not abort")
	require.Len(t, ds, 2)
	msgs := pub.all()
	require.Len(t, msgs, 2)
	assert.Equal(t, "informational", decodeAlert(t, msgs[0].Value)["severity"])
	assert.Equal(t, "medium", decodeAlert(t, msgs[1].Value)["severity"])
	mu.Lock()
	assert.Contains(t, sink.String(), "unknown alert severity")
	mu.Unlock()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Checklist 55, 56, 57, 60, 61, 63, 64.
func TestRunRule(t *testing.T) {
	a, b := staticRule("R1", triggered("R1")), staticRule("R2")
	r := newRunner(t, []Rule{a, b})
	all, err := r.RunAll(ctx) // checklist 59
	require.NoError(t, err)
	assert.Len(t, all, 2)
	assert.Contains(t, all, "R1")
	assert.Contains(t, all, "R2")
	rules := r.Rules()
	require.Len(t, rules, 2)
	rules[0] = nil
	assert.NotNil(t, r.Rules()[0], "Rules returns a copy")

	pub := &pubRecorder{}
	r = newRunner(t, nil, WithPublisher(pub))
	ds, err := r.RunRule(ctx, a)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Len(t, pub.all(), 1)
	assert.Equal(t, AlertTopic, pub.all()[0].Topic)
	assert.Equal(t, ds[0].AlertID, string(pub.all()[0].Key))
	assert.Equal(t, ds[0].AlertID, decodeAlert(t, pub.all()[0].Value)["alert_id"])

	un := NewDetection("R3", now)
	ds, err = r.RunRule(ctx, staticRule("R3", un))
	require.NoError(t, err)
	require.Len(t, ds, 1, "untriggered detections are returned")
	assert.Len(t, pub.all(), 1, "and not published")
	assert.Empty(t, ds[0].AlertID)

	ds, err = newRunner(t, nil).RunRule(ctx, staticRule("R4", triggered("R4")))
	require.NoError(t, err)
	require.Len(t, ds, 1, "no publisher: still returned")

	failing := &pubRecorder{fail: true}
	fr := newRunner(t, nil, WithPublisher(failing))
	ds, err = fr.RunRule(ctx, staticRule("R5", triggered("R5")))
	require.NoError(t, err)
	require.Len(t, ds, 1, "a failed publish still returns the detection")
	assert.Equal(t, Stats{Evaluations: 1, Fired: 1, PublishFailures: 1}, fr.Stats())

	m, err := newRunner(t, nil).RunAll(ctx)
	require.NoError(t, err)
	assert.Empty(t, m)
	assert.NotNil(t, m)

	custom := newRunner(t, nil, WithPublisher(pub), WithAlertTopic("alerts.atlas"))
	_, err = custom.RunRule(ctx, staticRule("R6", triggered("R6")))
	require.NoError(t, err)
	assert.Equal(t, "alerts.atlas", pub.all()[len(pub.all())-1].Topic)
	_, err = custom.RunRule(ctx, nil)
	assert.ErrorIs(t, err, ErrInvalidRule)
}

// Checklist 58, 59, 77: one bad rule never aborts a run.
func TestRuleFailures(t *testing.T) {
	boom := errors.New("boom")
	failing := &funcRule{id: "BAD", frequency: time.Hour, lookback: time.Hour, fn: func(context.Context, EvalScope) ([]Detection, error) {
		return []Detection{triggered("BAD")}, boom
	}}
	panicking := &funcRule{id: "PANIC", frequency: time.Hour, lookback: time.Hour, fn: func(context.Context, EvalScope) ([]Detection, error) {
		panic("nil map")
	}}
	release := make(chan struct{})
	defer close(release)
	slow := &funcRule{id: "SLOW", frequency: time.Hour, lookback: time.Hour, fn: func(context.Context, EvalScope) ([]Detection, error) {
		<-release // ignores its context
		return nil, nil
	}}
	ctxAware := &funcRule{id: "CTX", frequency: time.Hour, lookback: time.Hour, fn: func(ctx context.Context, _ EvalScope) ([]Detection, error) {
		<-ctx.Done()
		return []Detection{triggered("CTX")}, nil
	}}
	good := staticRule("GOOD", triggered("GOOD"))
	pub := &pubRecorder{}
	r := newRunner(t, []Rule{failing, panicking, slow, ctxAware, good}, WithPublisher(pub), WithRuleTimeout(20*time.Millisecond))

	ds, err := r.RunRule(ctx, failing)
	assert.Nil(t, ds)
	var re *RuleError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "BAD", re.RuleID)
	assert.ErrorIs(t, err, boom)

	out, err := r.RunAll(ctx)
	require.Error(t, err)
	for _, id := range []string{"BAD", "PANIC", "SLOW", "CTX"} {
		assert.Contains(t, err.Error(), id)
		assert.Equal(t, []Detection{}, out[id], id)
	}
	assert.Contains(t, err.Error(), "panicked")
	require.Len(t, out["GOOD"], 1, "the next rule still runs")
	assert.Len(t, pub.all(), 1, "nothing published for failed rules")
	st := r.Stats()
	assert.Equal(t, uint64(6), st.Evaluations)
	assert.Equal(t, uint64(5), st.RuleFailures)
}

// Checklist 62.
func TestSafetyRelevanceForced(t *testing.T) {
	d := triggered(RuleAdversarialEvasion)
	d.SafetyRelevant = false
	ds, err := newRunner(t, nil).RunRule(ctx, staticRule(RuleAdversarialEvasion, d))
	require.NoError(t, err)
	assert.True(t, ds[0].SafetyRelevant)
}

// Checklist 68, 69.
func TestRunDueScheduling(t *testing.T) {
	clock := newClock(now)
	counts := map[string]int{}
	var rules []Rule
	for _, r := range DefaultRules(NewMemoryTelemetry()) {
		inner := r
		rules = append(rules, &funcRule{id: inner.ID(), frequency: inner.Frequency(), lookback: inner.Lookback(),
			fn: func(ctx context.Context, s EvalScope) ([]Detection, error) {
				counts[inner.ID()]++
				return inner.Evaluate(ctx, s)
			}})
	}
	r := newRunner(t, rules, WithClock(clock.Now))
	for _, step := range []time.Duration{0, 5 * time.Minute, 25 * time.Minute} {
		clock.Advance(step)
		_, err := r.RunDue(ctx)
		require.NoError(t, err)
	}
	want := map[string]int{
		RulePhysicsOracleDoS: 3, RuleSensorSpoofing: 3, RuleEdgeNodeCompromise: 3,
		RuleModelExtraction: 2, RulePartnerCompromise: 2, RulePromptInjection: 2, RuleAdversarialEvasion: 2,
		RuleTrainingDataPoisoning: 1, RuleSupplyChain: 1, RuleInsiderExfiltration: 1, RuleAlertFatigue: 1,
	}
	assert.Equal(t, want, counts)

	// A failing rule is not rerun before its next period.
	calls := 0
	broken := &funcRule{id: "BROKEN", frequency: 10 * time.Minute, lookback: time.Hour, fn: func(context.Context, EvalScope) ([]Detection, error) {
		calls++
		return nil, errors.New("down")
	}}
	clock = newClock(now)
	r = newRunner(t, []Rule{broken}, WithClock(clock.Now))
	_, err := r.RunDue(ctx)
	require.Error(t, err)
	clock.Advance(9 * time.Minute)
	out, err := r.RunDue(ctx)
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.Equal(t, 1, calls)
	clock.Advance(time.Minute)
	_, err = r.RunDue(ctx)
	require.Error(t, err)
	assert.Equal(t, 2, calls)
}

// Checklist 70.
func TestRunStopsOnCancel(t *testing.T) {
	ran := make(chan struct{}, 100)
	rule := &funcRule{id: "R", frequency: time.Millisecond, lookback: time.Hour, fn: func(context.Context, EvalScope) ([]Detection, error) {
		ran <- struct{}{}
		return nil, nil
	}}
	r := newRunner(t, []Rule{rule}, WithTick(10*time.Millisecond), WithClock(time.Now))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, r.Run(cctx), context.Canceled)
	st := r.Stats()
	assert.Equal(t, uint64(1), st.Evaluations, "one RunDue before noticing the cancellation")
	assert.Equal(t, uint64(1), st.RuleFailures, "a cancelled context does not run the rule")
	assert.Empty(t, ran)

	cctx, cancel = context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- r.Run(cctx) }()
	<-ran
	<-ran // a second run came from the ticker
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

// Checklist 71, 72, 73, 74.
func TestSuppression(t *testing.T) {
	node := func() Detection {
		d := triggered(RulePhysicsOracleDoS)
		d.Entities = []Entity{{"host", "edge-1"}}
		d.DedupKey = "ATLAS-DETECT-005|AML.T0029|edge-1"
		return d
	}
	clock := newClock(now)
	pub := &pubRecorder{}
	rec := &recorder{}
	rule := &funcRule{id: RulePhysicsOracleDoS, frequency: 5 * time.Minute, lookback: 15 * time.Minute,
		fn: func(context.Context, EvalScope) ([]Detection, error) { return []Detection{node()}, nil }}
	r := newRunner(t, []Rule{rule}, WithClock(clock.Now), WithPublisher(pub), WithAuditProducer(rec))
	first, err := r.RunRule(ctx, rule)
	require.NoError(t, err)
	assert.False(t, first[0].Suppressed)
	clock.Advance(5 * time.Minute)
	second, err := r.RunRule(ctx, rule)
	require.NoError(t, err)
	assert.True(t, second[0].Suppressed)
	assert.Empty(t, second[0].AlertID)
	assert.Len(t, pub.all(), 1, "not published")
	assert.Len(t, rec.all(), 1, "not audited")
	assert.Equal(t, uint64(1), r.Stats().Suppressed)
	clock.Advance(11 * time.Minute) // 16 min after the first publish
	third, err := r.RunRule(ctx, rule)
	require.NoError(t, err)
	assert.False(t, third[0].Suppressed)
	assert.Len(t, pub.all(), 2)
	assert.NotEqual(t, first[0].AlertID, third[0].AlertID, "a new window, a new alert id")

	// Suppression disabled.
	pub = &pubRecorder{}
	r = newRunner(t, nil, WithClock(clock.Now), WithPublisher(pub), WithSuppressionWindow(0))
	_, _ = r.RunRule(ctx, rule)
	clock.Advance(5 * time.Minute)
	_, _ = r.RunRule(ctx, rule)
	assert.Len(t, pub.all(), 2)

	// A failed publish is retried on the next evaluation.
	pub = &pubRecorder{fail: true}
	r = newRunner(t, nil, WithClock(clock.Now), WithPublisher(pub))
	ds, _ := r.RunRule(ctx, rule)
	assert.False(t, ds[0].Suppressed)
	pub.setFail(false)
	clock.Advance(5 * time.Minute)
	ds, _ = r.RunRule(ctx, rule)
	assert.False(t, ds[0].Suppressed)
	assert.Len(t, pub.all(), 1)
	assert.Equal(t, Stats{Evaluations: 2, Fired: 2, Published: 1, PublishFailures: 1}, r.Stats())

	// Rule 009 with three rows for one node: one alert, two suppressed.
	m := NewMemoryTelemetry()
	for i := range 3 {
		m.AddOPCUATelemetry(OPCUATelemetry{TS: now.Add(-time.Duration(i+1) * time.Minute), EdgeNodeID: "n", ProtocolViolations: 1})
	}
	pub = &pubRecorder{}
	r = newRunner(t, nil, WithPublisher(pub))
	ds, err = r.RunRule(ctx, NewSensorSpoofingRule(m))
	require.NoError(t, err)
	require.Len(t, ds, 3)
	assert.Len(t, pub.all(), 1)
	assert.Equal(t, []bool{false, true, true}, []bool{ds[0].Suppressed, ds[1].Suppressed, ds[2].Suppressed})
	assert.Equal(t, uint64(2), r.Stats().Suppressed)
}

// Checklist 75 as the issue redefines alert ids: from rule, key and window,
// deterministic across runners, distinct per key; "-2", "-3" only when one
// run repeats an id.
func TestAlertIDs(t *testing.T) {
	s := &stub{activityCur: []UserActivity{{"alice", 200, 1}, {"bob", 200, 1}, {"carol", 200, 1}}}
	run := func(at time.Time, opts ...Option) []Detection {
		r := newRunner(t, nil, append([]Option{WithClock(func() time.Time { return at })}, opts...)...)
		ds, err := r.RunRule(ctx, NewTrainingDataPoisoningRule(s))
		require.NoError(t, err)
		return ds
	}
	a := run(now)
	require.Len(t, a, 3)
	ids := map[string]bool{}
	for _, d := range a {
		assert.True(t, strings.HasPrefix(d.AlertID, "ATLAS-DETECT-001-2025-06-15T00:00:00+00:00-"), d.AlertID)
		ids[d.AlertID] = true
	}
	assert.Len(t, ids, 3, "one id per key")
	// Another runner (a restart, a replica) evaluating later in the same
	// 24 h window gives the same ids: the downstream pipeline drops repeats.
	b := run(now.Add(7 * time.Hour))
	for i := range a {
		assert.Equal(t, a[i].AlertID, b[i].AlertID)
	}
	c := run(now.Add(12 * time.Hour))
	assert.NotEqual(t, a[0].AlertID, c[0].AlertID, "next window")

	// Repeats of one key within a run (suppression off) get suffixes.
	dup := &stub{safetyHits: []NLQuery{{"u", "s", ""}, {"u", "s", ""}, {"u", "s", ""}}}
	r := newRunner(t, nil, WithSuppressionWindow(0))
	ds, err := r.RunRule(ctx, NewPromptInjectionRule(dup))
	require.NoError(t, err)
	require.Len(t, ds, 3)
	assert.Equal(t, ds[0].AlertID+"-2", ds[1].AlertID)
	assert.Equal(t, ds[0].AlertID+"-3", ds[2].AlertID)
}

// Checklist 76.
func TestTenant(t *testing.T) {
	s := &stub{safetyHits: []NLQuery{{"u", "s", ""}}}
	pub, rec := &pubRecorder{}, &recorder{}
	r := newRunner(t, nil, WithTenantID("t1"), WithPublisher(pub), WithAuditProducer(rec))
	_, err := r.RunRule(ctx, NewPromptInjectionRule(s))
	require.NoError(t, err)
	for _, w := range s.windows {
		assert.Equal(t, "t1", w.TenantID)
	}
	assert.Equal(t, "t1", decodeAlert(t, pub.all()[0].Value)["tenant_id"])
	assert.Equal(t, "t1", rec.all()[0].TenantID)

	s = &stub{safetyHits: []NLQuery{{"u", "s", ""}}}
	pub, rec = &pubRecorder{}, &recorder{}
	r = newRunner(t, nil, WithPublisher(pub), WithAuditProducer(rec))
	_, err = r.RunRule(ctx, NewPromptInjectionRule(s))
	require.NoError(t, err)
	assert.Equal(t, "", s.windows[0].TenantID)
	assert.Equal(t, "", decodeAlert(t, pub.all()[0].Value)["tenant_id"])
	assert.Equal(t, "system", rec.all()[0].TenantID)
}

// Checklist 65, 66, 67 (reference audit).
func TestAuditReference(t *testing.T) {
	rec := &recorder{}
	d := triggered("ATLAS-001")
	r := newRunner(t, nil, WithAuditProducer(rec))
	_, err := r.RunRule(ctx, staticRule("ATLAS-001", d))
	require.NoError(t, err)
	evs := rec.ofType(taxonomy.ATLASDetectionFired)
	require.Len(t, evs, 1)
	assert.Equal(t, "ATLAS-001", evs[0].Context["rule_id"])
	assert.True(t, strings.HasPrefix(evs[0].AlertID, "ATLAS-001-"))
	_, err = r.RunRule(ctx, staticRule("ATLAS-002", NewDetection("ATLAS-002", now)))
	require.NoError(t, err)
	assert.Len(t, rec.all(), 1, "no event for an untriggered detection")
	out, err := newRunner(t, []Rule{staticRule("ATLAS-001", d)}).RunAll(ctx)
	require.NoError(t, err)
	assert.Contains(t, out, "ATLAS-001")
}

// Checklist 88, 89, 90, 91.
func TestDetectionFiredEvent(t *testing.T) {
	rec := &recorder{}
	pub := &pubRecorder{}
	s := &stub{oracle: []OracleStats{{EdgeNodeID: "edge-1", TotalChecks: 20, ErrorCount: 5, FailRate: 0.1, MaxLatencyMs: 500}}}
	r := newRunner(t, nil, WithAuditProducer(rec), WithPublisher(pub))
	ds, err := r.RunRule(ctx, NewPhysicsOracleDoSRule(s))
	require.NoError(t, err)
	ev := rec.all()[0]
	assert.Equal(t, taxonomy.ATLASDetectionFired, ev.Type)
	assert.Equal(t, "system", ev.TenantID)
	assert.Equal(t, taxonomy.ActorSystem, ev.ActorType)
	assert.Equal(t, "atlas-detection", ev.ActorID)
	assert.Equal(t, taxonomy.SeverityCritical, ev.Severity)
	assert.Equal(t, []string{"edge-1"}, ev.EntityIDs)
	assert.Equal(t, ds[0].AlertID, ev.AlertID)
	assert.Empty(t, ev.InvestigationID)
	assert.Equal(t, audit.Fields{
		"rule_id": RulePhysicsOracleDoS, "alert_title": "Physics oracle DoS on edge node edge-1", audit.KeyConfidence: 0.9,
		"threat_model_ref": "TM-14", "atlas_technique": "AML.T0029", "attack_technique": "T1499", "telemetry_trust_level": "trusted",
		"requires_immediate_action": true, "safety_relevant": true, "dedup_key": "ATLAS-DETECT-005|AML.T0029|edge-1",
		"evidence": map[string]any{"edge_node_id": "edge-1", "total_checks": 20, "error_count": 5, "timeout_count": 0,
			"fail_rate": 0.1, "max_latency_ms": 500.0},
		audit.KeyTechniquesIdentified: []string{"AML.T0029", "T1499"},
	}, ev.Context)
	assert.Equal(t, audit.Fields{
		audit.KeyDecisionType: "classify", audit.KeyConfidence: 0.9, audit.KeySeverityAssigned: "critical",
		audit.KeyReasoningSummary:   "Physics oracle DoS on edge node edge-1",
		audit.KeyConfidenceBasis:    "ATLAS-DETECT-005 TM-14; telemetry trusted; attestation n/a",
		audit.KeyConstraintsApplied: []string{"safety_confidence_floor", "safety_relevant", "requires_immediate_action"},
	}, ev.Decision)
	assert.Equal(t, audit.Fields{audit.KeyOutcomeStatus: "success", audit.KeyActionTaken: "alert_published", audit.KeyActionTarget: "alerts.raw"}, ev.Outcome)

	// 009: untrusted.
	rec = &recorder{}
	s = &stub{opcua: []OPCUAReading{{EdgeNodeID: "n", ProtocolViolations: 2}}}
	_, err = newRunner(t, nil, WithAuditProducer(rec)).RunRule(ctx, NewSensorSpoofingRule(s))
	require.NoError(t, err)
	ev = rec.all()[0]
	assert.Equal(t, "ATLAS-DETECT-009 TM-06; telemetry untrusted; attestation unavailable", ev.Decision[audit.KeyConfidenceBasis])
	assert.Equal(t, []string{"safety_confidence_floor", "trust_downgrade", "safety_relevant", "requires_immediate_action"},
		ev.Decision[audit.KeyConstraintsApplied])
	assert.Equal(t, "unavailable", ev.Context["attestation_status"])
	assert.Equal(t, audit.Fields{audit.KeyOutcomeStatus: "success", audit.KeyActionTaken: "alert_not_published", audit.KeyActionTarget: "alerts.raw"},
		ev.Outcome, "no publisher")

	// Severities: High → warning, Medium → info; no TM → no leading space.
	rec = &recorder{}
	high, medium := triggered("H"), triggered("M")
	medium.AlertSeverity = SeverityMedium
	high.Entities = []Entity{{"user", "a"}, {"host", "a"}, {"host", ""}, {"host", "b"}}
	r = newRunner(t, nil, WithAuditProducer(rec), WithPublisher(&pubRecorder{fail: true}))
	_, err = r.RunRule(ctx, staticRule("H", high))
	require.NoError(t, err)
	_, err = r.RunRule(ctx, staticRule("M", medium))
	require.NoError(t, err)
	evs := rec.all()
	assert.Equal(t, taxonomy.SeverityWarning, evs[0].Severity)
	assert.Equal(t, taxonomy.SeverityInfo, evs[1].Severity)
	assert.Equal(t, []string{"a", "b"}, evs[0].EntityIDs, "empties and duplicates removed")
	assert.Equal(t, "H; telemetry trusted; attestation n/a", evs[0].Decision[audit.KeyConfidenceBasis])
	assert.NotContains(t, evs[0].Decision, audit.KeyConstraintsApplied)
	assert.Equal(t, audit.Fields{audit.KeyOutcomeStatus: "failed", audit.KeyActionTaken: "alert_publish_failed",
		audit.KeyActionTarget: "alerts.raw", audit.KeyErrorDetails: "broker unavailable"}, evs[0].Outcome)
	assert.NotEmpty(t, evs[0].AlertID, "the alert id is carried even when the publish failed")
}

// Checklist 67, 92, 93: the producer never changes a result.
func TestProducerDoesNotChangeResults(t *testing.T) {
	run := func(p audit.Producer) (map[string][]Detection, []published, Stats) {
		clock := newClock(now)
		pub := &pubRecorder{}
		opts := []Option{WithClock(clock.Now), WithPublisher(pub)}
		if p != nil {
			opts = append(opts, WithAuditProducer(p))
		}
		r := newRunner(t, DefaultRules(fullTelemetry(now)), opts...)
		all := map[string][]Detection{}
		for range 3 {
			out, err := r.RunDue(ctx)
			require.NoError(t, err)
			for k, v := range out {
				all[k] = append(all[k], v...)
			}
			clock.Advance(5 * time.Minute)
		}
		return all, pub.all(), r.Stats()
	}
	d0, p0, s0 := run(nil)
	for _, p := range []audit.Producer{&recorder{}, &recorder{panics: true}} {
		d1, p1, s1 := run(p)
		assert.Equal(t, d0, d1)
		assert.Equal(t, p0, p1)
		assert.Equal(t, s0, s1)
	}
	assert.Greater(t, len(p0), 10, "the fixture fires every rule")
	fired := map[string]bool{}
	for k, v := range d0 {
		for _, d := range v {
			if d.Triggered {
				fired[k] = true
			}
		}
	}
	assert.Len(t, fired, 11, "every built-in rule fired on the full fixture")
}

// Checklist 86: concurrent runs share one runner without races and publish
// each key at most once per window.
func TestConcurrentRuns(t *testing.T) {
	pub := &pubRecorder{}
	clock := newClock(now)
	r := newRunner(t, DefaultRules(fullTelemetry(now)), WithPublisher(pub), WithClock(clock.Now), WithAuditProducer(&recorder{}))
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, _ = r.RunAll(ctx)
			} else {
				_, _ = r.RunDue(ctx)
			}
			_ = r.Stats()
		}()
	}
	wg.Wait()
	perKey := map[string]int{}
	for _, m := range pub.all() {
		var a Alert
		require.NoError(t, json.Unmarshal(m.Value, &a))
		perKey[a.RawPayload.DedupKey]++
	}
	for k, n := range perKey {
		assert.Equal(t, 1, n, k)
	}
	st := r.Stats()
	assert.Equal(t, st.Fired, st.Published)
	assert.Equal(t, uint64(len(pub.all())), st.Published)
}

// fullTelemetry is a fixture on which every built-in rule fires once.
func fullTelemetry(at time.Time) *MemoryTelemetry {
	m := NewMemoryTelemetry()
	recent := at.Add(-2 * time.Minute)
	f := false
	for i := range 60 {
		m.AddDatabricksAuditEvent(DatabricksAuditEvent{TS: recent, UserID: "alice", Action: "deltaTableWrite", TargetResource: fmt.Sprint("t", i%3)})
	}
	for i := range 150 {
		m.AddNLQueryLog(NLQueryLog{TS: recent, UserID: "attacker", TokenCount: 40 + i%20, SafetyFilterTriggered: i == 0, SessionID: "s1"})
	}
	for i := range 20 {
		m.AddInferenceLog(InferenceLog{TS: at.Add(-24 * time.Hour), EdgeNodeID: "edge-1", ConfidenceScore: 0.85 + float64(i%3)*0.05, InferenceLatencyMs: 80})
	}
	m.AddInferenceLog(InferenceLog{TS: recent, EdgeNodeID: "edge-1", ConfidenceScore: 0.2, InferenceLatencyMs: 90})
	for range 5 {
		m.AddPhysicsOracleCheck(PhysicsOracleCheck{TS: recent, EdgeNodeID: "edge-1", ErrorState: "timeout", LatencyMs: 300})
	}
	m.AddModelRegistryEvent(ModelRegistryEvent{TS: recent, UserID: "rogue", Action: "stage_transition", Stage: "production", ModelName: "m", ModelVersion: "1"})
	m.AddCICDAuditEvent(CICDAuditEvent{TS: recent, PipelineID: "p", CommitHash: "abc", DependencyChanges: "torch==2.9", Deployer: "bot"})
	for i := range 10 {
		m.AddAPIAccessLog(APIAccessLog{TS: recent, CallerIdentity: "insider", Endpoint: fmt.Sprint("/models/", i)})
	}
	for i := range 40 {
		m.AddInvestigationRecord(InvestigationRecord{CreatedAt: recent, InvestigationID: fmt.Sprint("inv-", i)})
	}
	for i := range 10 {
		m.AddOPCUATelemetry(OPCUATelemetry{TS: at.Add(-2*time.Hour - time.Duration(i)*time.Minute), EdgeNodeID: "plc-1", DataPointsReceived: 100 + i, SensorCount: 10})
	}
	m.AddOPCUATelemetry(OPCUATelemetry{TS: recent, EdgeNodeID: "plc-1", DataPointsReceived: 900, SensorCount: 10})
	m.AddPartnerAPILog(PartnerAPILog{TS: recent, PartnerID: "p1", PartnerName: "Acme", PayloadSize: 100, MTLSVerified: &f})
	m.AddEdgeNodeTelemetry(EdgeNodeTelemetry{TS: recent, EdgeNodeID: "edge-2", BootAttestation: "FAIL", CPUUtilisation: 0.4})
	return m
}
