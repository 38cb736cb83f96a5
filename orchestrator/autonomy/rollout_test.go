package autonomy

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/taxonomy"
)

type evalStub struct {
	mu    sync.Mutex
	m     map[string]*FPEvaluationResult
	err   error
	calls []string
}

func (s *evalStub) Evaluation(_ context.Context, v string) (*FPEvaluationResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, v)
	if s.err != nil {
		return nil, s.err
	}
	return s.m[v], nil
}

func rollout(t *testing.T, opts ...Option) (*CanaryRollout, *orchestrator.MemoryKillSwitches, *recProducer) {
	t.Helper()
	store := orchestrator.NewMemoryKillSwitches()
	rec := &recProducer{}
	ks, err := orchestrator.NewKillSwitches(store, orchestrator.WithAuditProducer(rec))
	require.NoError(t, err)
	r, err := NewCanaryRollout(ks, append([]Option{WithClock(fixedNow), WithAuditProducer(rec)}, opts...)...)
	require.NoError(t, err)
	return r, store, rec
}

// Checklist 181–183.
func TestCanarySlicesAndDecisions(t *testing.T) {
	s := NewCanarySlice("s1", orchestrator.DimensionTenant, "t-001", t0)
	assert.Equal(t, SliceActive, s.Status)
	assert.True(t, s.PromotedAt.IsZero())
	assert.False(t, s.CreatedAt.IsZero())
	old := NewCanarySlice("s2", orchestrator.DimensionTenant, "t", t0.Add(-10*24*time.Hour))
	assert.GreaterOrEqual(t, old.AgeDays(t0), 9.9)
	assert.Zero(t, CanarySlice{}.AgeDays(t0))

	cfg := DefaultCanaryConfig()
	assert.Equal(t, CanaryConfig{PromotionDays: 7, MinPrecision: 0.98, RollbackPrecision: 0.95}, cfg)
	r, _, _ := rollout(t)
	s8 := NewCanarySlice("s", orchestrator.DimensionTenant, "t", t0.Add(-8*24*time.Hour))
	s3 := NewCanarySlice("s", orchestrator.DimensionTenant, "t", t0.Add(-3*24*time.Hour))
	assert.Equal(t, DecisionPromote, r.CheckPromotion(s8, 0.99, 0, cfg))
	assert.Equal(t, DecisionContinue, r.CheckPromotion(s3, 0.99, 0, cfg))
	assert.Equal(t, DecisionRollback, r.CheckPromotion(s8, 0.93, 0, cfg))
	assert.Equal(t, DecisionRollback, r.CheckPromotion(s8, 0.99, 1, cfg))
	assert.Equal(t, DecisionContinue, r.CheckPromotion(s8, 0.96, 0, cfg))
	assert.Equal(t, DecisionRollback, r.CheckPromotion(s8, math.NaN(), 0, cfg))
}

// Checklist 184–187.
func TestPromoteRollbackHistory(t *testing.T) {
	r, kills, rec := rollout(t)
	s := NewCanarySlice("s1", orchestrator.DimensionTenant, "t-001", t0)
	r.Promote(&s)
	assert.Equal(t, SlicePromoted, s.Status)
	assert.Equal(t, t0, s.PromotedAt)
	pr := rec.byType(taxonomy.CanaryPromoted)
	require.Len(t, pr, 1)
	assert.Equal(t, "t-001", pr[0].TenantID)
	assert.Equal(t, "tenant:t-001", pr[0].Outcome[audit.KeyActionTarget])
	assert.Equal(t, "promoted", pr[0].Outcome[audit.KeyStateAfter])

	rb := NewCanarySlice("s2", orchestrator.DimensionTenant, "t-001", t0)
	require.NoError(t, r.Rollback(bg, &rb, "missed_tps=1"))
	assert.Equal(t, SliceRolledBack, rb.Status)
	all := kills.All()
	require.Len(t, all, 1)
	assert.Equal(t, orchestrator.DimensionTenant, all[0].Dimension)
	assert.Equal(t, "t-001", all[0].Value)
	assert.Equal(t, "canary_rollout_manager", all[0].ActivatedBy)
	assert.Equal(t, "Canary rollback: missed_tps=1", all[0].Reason)
	rbe := rec.byType(taxonomy.CanaryRolledBack)
	require.Len(t, rbe, 1)
	assert.Equal(t, "missed_tps=1", rbe[0].Decision[audit.KeyReasoningSummary])
	assert.Equal(t, taxonomy.SeverityWarning, rbe[0].Severity)
	ksEv := rec.byType(taxonomy.KillSwitchActivated)
	require.Len(t, ksEv, 1)
	assert.Equal(t, taxonomy.ActorSystem, ksEv[0].ActorType)

	h := r.History()
	require.Len(t, h, 2)
	assert.Equal(t, DecisionPromote, h[0].Action)
	assert.Equal(t, DecisionRollback, h[1].Action)
	assert.Equal(t, "missed_tps=1", h[1].Reason)

	// A rule-family slice rolls back its own dimension.
	for _, dim := range []orchestrator.KillSwitchDimension{orchestrator.DimensionRuleFamily, orchestrator.DimensionSeverity, orchestrator.DimensionDataSource} {
		r, kills, rec := rollout(t)
		s := NewCanarySlice("rf", dim, "brute_force", t0)
		require.NoError(t, r.Rollback(bg, &s, "precision_below_threshold"))
		all := kills.All()
		require.Len(t, all, 1)
		assert.Equal(t, dim, all[0].Dimension)
		assert.Equal(t, systemTenantOf(rec), orchestrator.SystemTenant)
	}
}

// systemTenantOf returns the tenant of the canary event (platform-wide).
func systemTenantOf(rec *recProducer) string {
	ev := rec.byType(taxonomy.CanaryRolledBack)
	if len(ev) == 0 {
		return ""
	}
	return ev[0].TenantID
}

// Checklist 188–190.
func TestEvaluateAll(t *testing.T) {
	evals := &evalStub{m: map[string]*FPEvaluationResult{
		"good": {TruePositives: 99, FalsePositives: 0},
		"bad":  {TruePositives: 98, FalsePositives: 2},
		"low":  {TruePositives: 90, FalsePositives: 5},
	}}
	r, kills, _ := rollout(t, WithEvaluationSource(evals))
	old := t0.Add(-8 * 24 * time.Hour)
	cfg := DefaultCanaryConfig()
	cfg.Slices = []CanarySlice{
		NewCanarySlice("s-good", orchestrator.DimensionTenant, "good", old),
		NewCanarySlice("s-bad", orchestrator.DimensionTenant, "bad", old),
		NewCanarySlice("s-young", orchestrator.DimensionTenant, "good", t0.Add(-3*24*time.Hour)),
		NewCanarySlice("s-none", orchestrator.DimensionTenant, "no-data", old),
		NewCanarySlice("s-low", orchestrator.DimensionRuleFamily, "low", old),
		{SliceID: "s-promoted", Dimension: orchestrator.DimensionTenant, Value: "good", Status: SlicePromoted},
	}
	ds, err := r.EvaluateAll(bg, &cfg)
	require.NoError(t, err)
	got := map[string]SliceDecision{}
	for _, d := range ds {
		got[d.SliceID] = d
	}
	assert.Len(t, ds, 5, "the promoted slice is skipped")
	assert.Equal(t, DecisionPromote, got["s-good"].Action)
	assert.Equal(t, SlicePromoted, cfg.Slices[0].Status)
	assert.Equal(t, DecisionRollback, got["s-bad"].Action)
	assert.Equal(t, 2, got["s-bad"].MissedTPs)
	assert.Equal(t, DecisionContinue, got["s-young"].Action)
	assert.Equal(t, SliceActive, cfg.Slices[2].Status)
	assert.Equal(t, DecisionContinue, got["s-none"].Action, "no evaluation never promotes")
	assert.Equal(t, SliceActive, cfg.Slices[3].Status)
	assert.Equal(t, DecisionRollback, got["s-low"].Action)
	reasons := map[string]string{}
	for _, h := range r.History() {
		reasons[h.SliceID] = h.Reason
	}
	assert.Equal(t, "missed_tps=2", reasons["s-bad"])
	assert.Equal(t, "missed_tps=5", reasons["s-low"])
	assert.Len(t, kills.All(), 2)
	assert.NotContains(t, evals.calls, "promoted")

	// No evaluation source at all: everything continues.
	r2, _, _ := rollout(t)
	cfg2 := DefaultCanaryConfig()
	cfg2.Slices = []CanarySlice{NewCanarySlice("s", orchestrator.DimensionTenant, "good", old)}
	ds, err = r2.EvaluateAll(bg, &cfg2)
	require.NoError(t, err)
	assert.Equal(t, DecisionContinue, ds[0].Action)
}

// Checklist 191.
func TestRunScheduler(t *testing.T) {
	ticks := make(chan time.Time)
	cycles := make(chan error, 10)
	evals := &evalStub{err: errors.New("warehouse down")}
	r, _, _ := rollout(t, WithEvaluationSource(evals),
		WithTicker(func(d time.Duration) (<-chan time.Time, func()) {
			assert.Equal(t, 2*time.Hour, d)
			return ticks, func() {}
		}),
		WithCycleCallback(func(_ []SliceDecision, err error) { cycles <- err }))
	cfg := DefaultCanaryConfig()
	cfg.Slices = []CanarySlice{NewCanarySlice("s", orchestrator.DimensionTenant, "x", t0)}
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() { done <- r.RunScheduler(ctx, &cfg, 2*time.Hour) }()
	assert.Error(t, <-cycles, "evaluates at start (and survives the error)")
	ticks <- t0
	assert.Error(t, <-cycles)
	// A second scheduler on the same manager is refused.
	assert.ErrorIs(t, r.RunScheduler(ctx, &cfg, time.Hour), ErrAlreadyRunning)
	evals.mu.Lock()
	evals.err = nil
	evals.mu.Unlock()
	ticks <- t0
	assert.NoError(t, <-cycles)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	// It can run again once stopped.
	ctx2, cancel2 := context.WithCancel(bg)
	go func() { done <- r.RunScheduler(ctx2, &cfg, 2*time.Hour) }()
	<-cycles
	cancel2()
	<-done
}

// Checklist 192–196.
func TestDrift(t *testing.T) {
	assert.Zero(t, JSDivergence(map[string]int{"a": 3}, map[string]int{"a": 3}))
	assert.Equal(t, 1.0, JSDivergence(map[string]int{"a": 1}, map[string]int{"b": 1}))
	assert.InDelta(t, 0.030305144839, JSDivergence(map[string]int{"s": 70, "c": 30}, map[string]int{"s": 50, "c": 50}), 1e-12)
	assert.InDelta(t, 0.073104007932, JSDivergence(map[string]int{"T1": 80, "T2": 20}, map[string]int{"T1": 50, "T2": 50}), 1e-12)
	assert.Zero(t, JSDivergence(nil, nil))
	assert.Greater(t, JSDivergence(map[string]int{"T1": 90, "T2": 10}, map[string]int{"T1": 10, "T2": 90}), 0.0)
	assert.Greater(t, JSDivergence(map[string]int{"host-a": 5}, map[string]int{"host-a": 1, "host-b": 4}), 0.0)

	d := NewDriftDetector()
	assert.Equal(t, DriftDetector{WindowDays: 7, BaselineDays: 30, Threshold: 0.3}, d)
	assert.InDelta(t, 0.355, d.Overall(0.5, 0.3, 0.2), 1e-12)
	d.Threshold = 0.01
	s := d.Detect(Distributions{Source: map[string]int{"a": 1}, Technique: map[string]int{"x": 1}, Entity: map[string]int{"h": 1}},
		Distributions{Source: map[string]int{"b": 1}, Technique: map[string]int{"y": 1}, Entity: map[string]int{"i": 1}}, t0)
	assert.True(t, s.ThresholdExceeded)
	assert.Equal(t, t0, s.DetectedAt)
	same := Distributions{Source: map[string]int{"a": 1}}
	s = d.Detect(same, same, t0)
	assert.False(t, s.ThresholdExceeded)
	assert.Zero(t, s.OverallDrift)
	assert.Equal(t, DriftState{}, DriftState{SourceDrift: 0})
}

// Checklist 197, 199, and config.changed.
func TestThresholdAdjusterAndSampling(t *testing.T) {
	rec := &recProducer{}
	a := NewThresholdAdjuster(0.90, 0.95, WithAuditProducer(rec))
	assert.Equal(t, 0.90, a.Threshold())
	assert.False(t, a.IsElevated())
	assert.Equal(t, 0.95, a.ThresholdFor(DriftState{ThresholdExceeded: true}))
	assert.Equal(t, 0.90, a.ThresholdFor(DriftState{}))
	a.Update(DriftState{ThresholdExceeded: true, OverallDrift: 0.4})
	assert.Equal(t, 0.95, a.Threshold())
	assert.True(t, a.IsElevated())
	a.Update(DriftState{})
	assert.Equal(t, 0.90, a.Threshold())
	a.Update(DriftState{}) // no change, no event
	ev := rec.byType(taxonomy.ConfigChanged)
	require.Len(t, ev, 2)
	assert.Equal(t, "0.90", ev[0].Outcome[audit.KeyStateBefore])
	assert.Equal(t, "0.95", ev[0].Outcome[audit.KeyStateAfter])
	assert.Equal(t, ConfigFPThresholdKey, ev[0].Outcome[audit.KeyActionTarget])
	assert.Equal(t, ActorDriftDetector, ev[0].ActorID)
	assert.Equal(t, orchestrator.SystemTenant, ev[0].TenantID)
	assert.Equal(t, 0.90, DefaultThreshold)
	assert.Equal(t, 0.95, DefaultElevatedThreshold)
	assert.Equal(t, 0.90, NewThresholdAdjuster(0.5, math.NaN()).Threshold(), "never below the floor")

	sm := NewDriftSampling()
	assert.Equal(t, 1.0, sm.Multiplier("brute_force"))
	sm.OnDriftDetected([]string{"brute_force", "impossible_travel"})
	assert.Equal(t, 2.0, sm.Multiplier("brute_force"))
	assert.Equal(t, 2.0, sm.Multiplier("impossible_travel"))
	assert.Equal(t, 1.0, sm.Multiplier("phishing"))
	assert.Equal(t, 2.0, sm.Multiplier(""))
	sm.OnDriftRestored()
	assert.Equal(t, 1.0, sm.Multiplier("brute_force"))
	assert.Empty(t, sm.Families())
}

// Checklist 200–203.
func TestEvaluationMetricsAndSampling(t *testing.T) {
	e := FPEvaluationResult{TruePositives: 98, FalsePositives: 2}.ComputeMetrics()
	assert.InDelta(t, 0.98, e.Precision, 1e-12)
	e = FPEvaluationResult{TruePositives: 95, FalseNegatives: 5}.ComputeMetrics()
	assert.InDelta(t, 0.95, e.Recall, 1e-12)
	e = FPEvaluationResult{TruePositives: 199, FalseNegatives: 1}.ComputeMetrics()
	assert.InDelta(t, 0.005, e.FNR, 1e-12)
	e = FPEvaluationResult{}.ComputeMetrics()
	assert.Equal(t, [3]float64{1, 1, 0}, [3]float64{e.Precision, e.Recall, e.FNR})
	assert.Equal(t, [3]float64{0.98, 0.95, 0.005}, [3]float64{TargetPrecision, TargetRecall, MaxFNR})
	assert.Equal(t, 30, DefaultMinSampleSize)

	strata := Stratify([]Closure{
		{RuleFamily: "brute_force", Severity: "HIGH", AssetCriticality: "high"},
		{RuleFamily: "brute_force", Severity: "HIGH", AssetCriticality: "high"},
		{RuleFamily: "impossible_travel", Severity: "MEDIUM", AssetCriticality: "low"},
	})
	assert.Len(t, strata, 2)
	assert.Len(t, strata["brute_force:HIGH:high"], 2)
	assert.Len(t, strata["impossible_travel:MEDIUM:low"], 1)
	assert.Equal(t, "unknown:unknown:unknown", Closure{}.StratumKey())

	oldDate := t0.Add(-100 * 24 * time.Hour)
	newDate := t0.Add(-5 * 24 * time.Hour)
	mk := func(n int, created time.Time) []Closure {
		out := make([]Closure, n)
		for i := range out {
			out[i] = Closure{AlertID: string(rune('a' + i%26)), PatternCreatedAt: created}
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	got := SelectSample(map[string][]Closure{"old50": mk(50, oldDate), "new10": mk(10, newDate), "old10": mk(10, oldDate), "empty": nil}, 30, t0, rng)
	assert.Len(t, got["old50"], 30)
	assert.Len(t, got["new10"], 10)
	assert.Len(t, got["old10"], 10)
	assert.NotContains(t, got, "empty")
	assert.True(t, IsNovel(t0.Add(-5*24*time.Hour), t0))
	assert.False(t, IsNovel(t0.Add(-60*24*time.Hour), t0))
	assert.False(t, IsNovel(time.Time{}, t0))
	// The same seed gives the same sample.
	again := SelectSample(map[string][]Closure{"old50": mk(50, oldDate)}, 30, t0, rand.New(rand.NewPCG(1, 2)))
	assert.Equal(t, got["old50"], again["old50"])
}

// Checklist 204.
func TestDailyFNDetector(t *testing.T) {
	d := DailyFNDetector{Now: fixedNow}
	closures := []Closure{{AlertID: "a1"}, {AlertID: "a2"}, {AlertID: "a3"}, {AlertID: ""}}
	flagged := d.Check(closures, []Escalation{{AlertID: "a1"}, {AlertID: "a3"}, {AlertID: ""}})
	require.Len(t, flagged, 2)
	for _, f := range flagged {
		assert.True(t, f.FNFlagged)
		assert.Equal(t, t0, f.FNFlaggedAt)
		assert.Equal(t, "pending_review", f.ReviewStatus)
	}
	assert.False(t, closures[0].FNFlagged, "copies are flagged, not the input")
	assert.Empty(t, d.Check([]Closure{{AlertID: "x"}}, nil))
}

// Checklist 205, 206.
func TestGuardAndFeedbackLoop(t *testing.T) {
	var g AutonomyGuard
	ok := FPEvaluationResult{TruePositives: 99, FalsePositives: 1}.ComputeMetrics()
	assert.False(t, g.ShouldReduce(ok))
	assert.Equal(t, 0.90, g.Adjusted(0.90, ok))
	bad := FPEvaluationResult{TruePositives: 90, FalsePositives: 10}.ComputeMetrics()
	assert.True(t, g.ShouldReduce(bad))
	assert.Greater(t, g.Adjusted(0.90, bad), 0.90)
	fn := FPEvaluationResult{TruePositives: 95, FalseNegatives: 5}.ComputeMetrics()
	assert.True(t, g.ShouldReduce(fn))
	both := FPEvaluationResult{TruePositives: 90, FalsePositives: 10, FalseNegatives: 5}.ComputeMetrics()
	assert.LessOrEqual(t, g.Adjusted(0.98, both), 0.99)

	rec := &recProducer{}
	adj := NewThresholdAdjuster(0.90, 0.95)
	loop := NewFeedbackLoop(g, adj, WithAuditProducer(rec), WithClock(fixedNow))
	assert.Equal(t, 0.90, loop.OnEvaluation(ok))
	assert.Empty(t, loop.History())
	lowP := bad
	lowP.RuleFamily = "brute_force"
	assert.Equal(t, 0.92, loop.OnEvaluation(lowP))
	require.Len(t, loop.History(), 1)
	assert.Equal(t, "brute_force", loop.History()[0].RuleFamily)
	assert.Equal(t, 0.92, adj.Threshold())
	ev := rec.byType(taxonomy.ConfigChanged)
	require.Len(t, ev, 1)
	assert.Equal(t, ActorFeedbackLoop, ev[0].ActorID)
	assert.Equal(t, "0.92", ev[0].Outcome[audit.KeyStateAfter])
	assert.Contains(t, ev[0].Decision[audit.KeyReasoningSummary], "precision 0.900 < 0.98")

	loop2 := NewFeedbackLoop(g, NewThresholdAdjuster(0.90, 0.95))
	assert.Equal(t, 0.92, loop2.OnEvaluation(fn))
	loop3 := NewFeedbackLoop(g, NewThresholdAdjuster(0.90, 0.95))
	assert.Equal(t, 0.94, loop3.OnEvaluation(both))
	loop4 := NewFeedbackLoop(g, NewThresholdAdjuster(0.90, 0.95))
	for range 3 {
		loop4.OnEvaluation(bad)
	}
	assert.Equal(t, 0.96, loop4.adjuster.Normal())
	for range 10 {
		loop4.OnEvaluation(both)
	}
	assert.LessOrEqual(t, loop4.adjuster.Normal(), 0.99)

	// The loop adjusts the normal threshold even while drift elevates it.
	adj5 := NewThresholdAdjuster(0.90, 0.95)
	adj5.Update(DriftState{ThresholdExceeded: true})
	loop5 := NewFeedbackLoop(g, adj5)
	assert.Equal(t, 0.92, loop5.OnEvaluation(bad))
	adj5.Update(DriftState{})
	assert.Equal(t, 0.92, adj5.Threshold())
}

// Checklist 215 (autonomy part): a nil producer gives identical results.
func TestNilProducerIdenticalAutonomy(t *testing.T) {
	run := func(rec *recProducer) []any {
		var opts []Option
		if rec != nil {
			opts = append(opts, WithAuditProducer(rec))
		}
		opts = append(opts, WithClock(fixedNow))
		store := NewMemoryFPPatterns()
		_ = store.Put(bg, candidate("p"))
		g, _ := NewGovernance(store, nil, nil, opts...)
		a, _ := g.Approve(bg, candidate("p"), "alice")
		b, _ := g.Approve(bg, candidate("p"), "bob")
		rv, _ := g.Revoke(bg, candidate("p"), "carol", "x")
		adj := NewThresholdAdjuster(0.9, 0.95, opts...)
		adj.Update(DriftState{ThresholdExceeded: true})
		loop := NewFeedbackLoop(AutonomyGuard{}, adj, opts...)
		th := loop.OnEvaluation(FPEvaluationResult{TruePositives: 1, FalsePositives: 1}.ComputeMetrics())
		ks, _ := orchestrator.NewKillSwitches(orchestrator.NewMemoryKillSwitches())
		ro, _ := NewCanaryRollout(ks, opts...)
		s := NewCanarySlice("s", orchestrator.DimensionTenant, "t", t0)
		_ = ro.Rollback(bg, &s, "r")
		return []any{a, b, rv, adj.Threshold(), th, s, ro.History()}
	}
	rec := &recProducer{}
	assert.Equal(t, run(nil), run(rec))
	assert.NotEmpty(t, rec.all())
	panicky := &recProducer{panic: true}
	assert.Equal(t, run(nil), run(panicky), "a panicking producer changes nothing")
	for _, e := range rec.all() {
		assert.NotEmpty(t, e.Type.Category(), e.Type)
		assert.NotEmpty(t, e.TenantID)
	}
}
