package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var jan = time.Date(2026, time.January, 15, 12, 0, 0, 0, time.UTC)

func guard(t *testing.T, clk *fakeClock, opts ...Option) *SpendGuard {
	t.Helper()
	g, err := NewSpendGuard(append([]Option{WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	return g
}

func record(t *testing.T, g *SpendGuard, usd float64, model, task, tenant string) {
	t.Helper()
	require.NoError(t, g.Record(bg, CostRecord{CostUSD: usd, ModelID: model, TaskType: task, TenantID: tenant}))
}

// Checklist 138.
func TestSpendDefaults(t *testing.T) {
	s := guard(t, newClock(jan)).Status()
	assert.Equal(t, 1000.0, s.HardCapUSD)
	assert.Equal(t, 500.0, s.SoftLimitUSD)
	assert.Equal(t, "2026-01", s.Month)
	assert.False(t, s.SoftLimitReached)
	assert.False(t, s.HardLimitReached)
	assert.NotNil(t, s.ByModel)
}

// Checklist 139-141.
func TestSpendRecordAggregates(t *testing.T) {
	g := guard(t, newClock(jan))
	record(t, g, 0.05, "m", "t", "x")
	assert.Equal(t, 0.05, g.MonthlyTotal())
	assert.Equal(t, int64(1), g.CallCount())

	g = guard(t, newClock(jan))
	for _, c := range []float64{0.10, 0.20, 0.30} {
		record(t, g, c, "m", "t", "x")
	}
	assert.Equal(t, 0.60, g.MonthlyTotal(), "integer micro-dollars: exact")
	assert.Equal(t, int64(3), g.CallCount())

	g = guard(t, newClock(jan))
	record(t, g, 0.10, "sonnet", "investigation", "t1")
	record(t, g, 0.05, "haiku", "ioc_extraction", "t2")
	record(t, g, 0.20, "sonnet", "investigation", "t1")
	record(t, g, 0.01, "", "", "")
	assert.Equal(t, map[string]float64{"sonnet": 0.30, "haiku": 0.05, "": 0.01}, g.TotalByModel())
	assert.Equal(t, map[string]float64{"investigation": 0.30, "ioc_extraction": 0.05, "": 0.01}, g.TotalByTaskType())
	assert.Equal(t, map[string]float64{"t1": 0.30, "t2": 0.05, "": 0.01}, g.TotalByTenant())
	assert.Equal(t, g.TotalByModel(), g.Status().ByModel)
}

// Checklist 142-144: at exactly the cap the call is refused.
func TestSpendCheckBudget(t *testing.T) {
	g := guard(t, newClock(jan), WithMonthlyHardCap(100))
	record(t, g, 50, "", "", "")
	assert.NoError(t, g.CheckBudget(bg, "t"))
	record(t, g, 50, "", "", "")
	err := g.CheckBudget(bg, "t")
	require.ErrorIs(t, err, ErrSpendLimitExceeded)
	var se *SpendLimitError
	require.True(t, errors.As(err, &se))
	assert.Equal(t, ScopeGlobal, se.Scope)
	assert.Equal(t, 100.0, se.MonthlyTotalUSD)
	record(t, g, 1, "", "", "")
	assert.ErrorIs(t, g.CheckBudget(bg, "t"), ErrSpendLimitExceeded)

	g = guard(t, newClock(jan), WithMonthlyHardCap(50))
	record(t, g, 60, "", "", "")
	err = g.CheckBudget(bg, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hard cap")
	assert.Contains(t, err.Error(), "$60.00")
	assert.Contains(t, err.Error(), "$50.00")
}

// Checklist 145.
func TestSpendSoftFlag(t *testing.T) {
	g := guard(t, newClock(jan), WithMonthlySoftLimit(10))
	record(t, g, 11, "", "", "")
	assert.True(t, g.Status().SoftLimitReached)
	g = guard(t, newClock(jan), WithMonthlySoftLimit(10))
	record(t, g, 5, "", "", "")
	assert.False(t, g.Status().SoftLimitReached)
	g = guard(t, newClock(jan), WithMonthlySoftLimit(0))
	record(t, g, 5, "", "", "")
	assert.False(t, g.Status().SoftLimitReached, "0 disables the soft alert")
}

// Checklist 146 and issue 5: monthly UTC windows roll over and re-arm the
// soft alert.
func TestSpendMonthRollover(t *testing.T) {
	clk := newClock(jan)
	rec := &recorder{}
	g := guard(t, clk, WithMonthlySoftLimit(10), WithMonthlyHardCap(20), WithAuditProducer(rec))
	record(t, g, 12, "", "", "")
	record(t, g, 12, "", "", "")
	require.ErrorIs(t, g.CheckBudget(bg, ""), ErrSpendLimitExceeded)
	assert.Len(t, rec.byType(taxonomy.SpendSoftLimit), 1)

	// 23:59:59 on 31 January UTC is still January, whatever the local zone.
	clk.Set(time.Date(2026, time.January, 31, 23, 59, 59, 0, time.UTC))
	assert.ErrorIs(t, g.CheckBudget(bg, ""), ErrSpendLimitExceeded)
	clk.Set(time.Date(2026, time.February, 1, 0, 0, 0, 0, time.FixedZone("UTC+5", 5*3600))) // still 31 Jan UTC
	assert.Equal(t, "2026-01", g.Status().Month)

	clk.Set(time.Date(2026, time.February, 1, 0, 0, 0, 0, time.UTC))
	assert.Equal(t, 0.0, g.MonthlyTotal())
	s := g.Status()
	assert.Equal(t, "2026-02", s.Month)
	assert.False(t, s.SoftLimitReached)
	assert.False(t, s.HardLimitReached)
	assert.Equal(t, int64(0), s.Rejections)
	assert.Equal(t, int64(2), s.CallCount, "all-time")
	assert.Equal(t, int64(0), s.MonthCallCount)
	assert.NoError(t, g.CheckBudget(bg, ""))
	record(t, g, 11, "", "", "")
	soft := rec.byType(taxonomy.SpendSoftLimit)
	require.Len(t, soft, 2)
	assert.Equal(t, "2026-01", soft[0].Context["month"])
	assert.Equal(t, "2026-02", soft[1].Context["month"])

	// A clock that steps back never reopens January.
	clk.Set(jan)
	assert.Equal(t, 11.0, g.MonthlyTotal())
	assert.Equal(t, "2026-02", g.Status().Month)

	// December → January crosses the year.
	clk.Set(time.Date(2026, time.December, 5, 0, 0, 0, 0, time.UTC))
	assert.Equal(t, "2026-12", g.Status().Month)
	clk.Set(time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC))
	assert.Equal(t, "2027-01", g.Status().Month)
}

// Checklist 147.
func TestSpendInvalidCost(t *testing.T) {
	g := guard(t, newClock(jan))
	for _, c := range []float64{-0.01, math.NaN(), math.Inf(1), MaxCostUSD * 2} {
		assert.ErrorIs(t, g.Record(bg, CostRecord{CostUSD: c}), ErrInvalidCost)
	}
	assert.Equal(t, 0.0, g.MonthlyTotal())
	assert.Equal(t, int64(0), g.CallCount())
	assert.Empty(t, g.TotalByModel())
}

// Checklist 148.
func TestSpendConcurrentRecords(t *testing.T) {
	g := guard(t, newClock(jan))
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_ = g.Record(bg, CostRecord{CostUSD: 0.01, ModelID: "m"})
			}
		}()
	}
	wg.Wait()
	assert.InDelta(t, 100.00, g.MonthlyTotal(), 1e-9)
	assert.Equal(t, 100.00, g.MonthlyTotal(), "exact in micro-dollars")
	assert.Equal(t, int64(10000), g.CallCount())
}

// Checklist 160, adapted to issue 5 (spend.hard_limit per refusal): soft
// once when the total reaches 12; records never refuse; every refused check
// emits spend.hard_limit and counts a rejection.
func TestSpendEvents(t *testing.T) {
	rec := &recorder{}
	g := guard(t, newClock(jan), WithMonthlySoftLimit(10), WithMonthlyHardCap(20), WithAuditProducer(rec))
	for i := range 4 {
		require.NoError(t, g.Record(bg, CostRecord{CostUSD: 6, ModelID: "sonnet", TaskType: "investigation", TenantID: "t1"}))
		if i == 1 {
			require.Len(t, rec.all(), 1, "soft after the 2nd record")
		}
	}
	soft := rec.byType(taxonomy.SpendSoftLimit)
	require.Len(t, soft, 1)
	e := soft[0]
	assert.Equal(t, SystemTenantID, e.TenantID)
	assert.Equal(t, taxonomy.SeverityWarning, e.Severity)
	assert.Equal(t, taxonomy.ActorSystem, e.ActorType)
	assert.Equal(t, ActorID, e.ActorID)
	assert.Equal(t, audit.Fields{
		"month": "2026-01", "spend_scope": "global", "monthly_total_usd": 12.0, "soft_limit_usd": 10.0,
		"hard_cap_usd": 20.0, "cost_usd": 6.0, "llm_model_id": "sonnet", "task_type": "investigation",
		"triggering_tenant_id": "t1",
	}, e.Context)
	assert.Equal(t, audit.Fields{"constraints_applied": []string{ConstraintMonthlySoftLimit}}, e.Decision)
	assert.Empty(t, rec.byType(taxonomy.SpendHardLimit), "no refusal yet")

	for range 3 {
		assert.ErrorIs(t, g.CheckBudget(bg, "t2"), ErrSpendLimitExceeded)
	}
	hard := rec.byType(taxonomy.SpendHardLimit)
	require.Len(t, hard, 3)
	h := hard[0]
	assert.Equal(t, SystemTenantID, h.TenantID)
	assert.Equal(t, taxonomy.SeverityCritical, h.Severity)
	assert.Equal(t, "t2", h.Context["triggering_tenant_id"], "the refused tenant")
	assert.Equal(t, 24.0, h.Context["monthly_total_usd"])
	assert.Equal(t, 20.0, h.Context["hard_cap_usd"])
	assert.Equal(t, "reject", h.Decision[audit.KeyDecisionType])
	assert.Equal(t, []string{ConstraintMonthlyHardCap}, h.Decision[audit.KeyConstraintsApplied])
	assert.Contains(t, h.Decision[audit.KeyReasoningSummary], "hard cap $20.00")
	assert.Equal(t, audit.Fields{"outcome_status": "blocked_by_guardrail"}, h.Outcome)
	assert.Equal(t, int64(3), g.Status().Rejections)
	assert.True(t, g.Status().HardLimitReached)
}

// Checklist 161: soft is emitted before hard.
func TestSpendSoftBeforeHard(t *testing.T) {
	rec := &recorder{}
	g := guard(t, newClock(jan), WithMonthlySoftLimit(10), WithMonthlyHardCap(20), WithAuditProducer(rec))
	record(t, g, 25, "m", "t", "x")
	_, err := g.Reserve(bg, SpendRequest{EstimateUSD: 1, TenantID: "x"})
	require.ErrorIs(t, err, ErrSpendLimitExceeded)
	assert.Equal(t, []taxonomy.EventType{taxonomy.SpendSoftLimit, taxonomy.SpendHardLimit}, rec.types())
}

func sonnetReq(tenant string, in, out int) SpendRequest {
	return SpendRequest{TenantID: tenant, TaskType: "investigation", Model: DefaultModels()[taxonomy.Tier1],
		InputTokens: in, MaxOutputTokens: out}
}

// Issue 5: reserve before the call, settle after, release on failure.
func TestSpendReserveSettleRelease(t *testing.T) {
	g := guard(t, newClock(jan), WithMonthlyHardCap(1))
	req := sonnetReq("t1", 10000, 2000)
	assert.Equal(t, 0.0675, req.Estimate())

	res, err := g.Reserve(bg, req)
	require.NoError(t, err)
	assert.Equal(t, 0.0675, res.EstimateUSD)
	assert.Equal(t, "t1", res.TenantID)
	assert.Equal(t, ModelSonnet, res.ModelID)
	s := g.Status()
	assert.Equal(t, 0.0675, s.ReservedUSD)
	assert.Equal(t, 1, s.Outstanding)
	assert.Equal(t, 0.0, s.MonthlyTotalUSD)

	cost := DefaultModels()[taxonomy.Tier1].Cost(Usage{InputTokens: 9000, OutputTokens: 700})
	require.NoError(t, g.Settle(bg, res, cost))
	s = g.Status()
	assert.Equal(t, cost, s.MonthlyTotalUSD)
	assert.Equal(t, 0.0, s.ReservedUSD)
	assert.Equal(t, 0, s.Outstanding)
	assert.Equal(t, map[string]float64{"investigation": cost}, g.TotalByTaskType())
	assert.Equal(t, map[string]float64{"t1": cost}, g.TotalByTenant())

	// Closed reservations: Settle again fails and charges nothing; Release is
	// a no-op (safe in a defer).
	assert.ErrorIs(t, g.Settle(bg, res, cost), ErrUnknownReservation)
	g.Release(res)
	assert.Equal(t, cost, g.MonthlyTotal())
	assert.Equal(t, int64(1), g.CallCount())

	// Release on failure charges nothing.
	res2, err := g.Reserve(bg, req)
	require.NoError(t, err)
	g.Release(res2)
	assert.Equal(t, cost, g.MonthlyTotal())
	assert.Equal(t, 0.0, g.Status().ReservedUSD)
	assert.ErrorIs(t, g.Settle(bg, res2, 0.01), ErrUnknownReservation)

	// Invalid cost leaves the reservation open.
	res3, _ := g.Reserve(bg, req)
	assert.ErrorIs(t, g.Settle(bg, res3, -1), ErrInvalidCost)
	assert.Equal(t, 1, g.Status().Outstanding)
	require.NoError(t, g.Settle(bg, res3, 0))
	assert.Equal(t, int64(2), g.CallCount())
}

// Admission counts reservations: the cap can be filled exactly but not passed.
func TestSpendReserveCountsReservations(t *testing.T) {
	rec := &recorder{}
	g := guard(t, newClock(jan), WithMonthlyHardCap(1), WithAuditProducer(rec))
	var held []Reservation
	for range 4 {
		r, err := g.Reserve(bg, SpendRequest{EstimateUSD: 0.25, TenantID: "t"})
		require.NoError(t, err)
		held = append(held, r)
	}
	_, err := g.Reserve(bg, SpendRequest{EstimateUSD: 0.000001, TenantID: "t"})
	var se *SpendLimitError
	require.True(t, errors.As(err, &se))
	assert.Equal(t, 1.0, se.ReservedUSD)
	assert.Equal(t, 0.0, se.MonthlyTotalUSD)
	assert.Contains(t, err.Error(), "reserved")
	hard := rec.byType(taxonomy.SpendHardLimit)
	require.Len(t, hard, 1)
	assert.Equal(t, 1.0, hard[0].Context["reserved_usd"])
	assert.Equal(t, 0.000001, hard[0].Context["requested_usd"])

	assert.ErrorIs(t, g.CheckBudget(bg, "t"), ErrSpendLimitExceeded, "committed == cap")
	g.Release(held[0])
	assert.NoError(t, g.CheckBudget(bg, "t"))
	_, err = g.Reserve(bg, SpendRequest{EstimateUSD: 0.26})
	assert.ErrorIs(t, err, ErrSpendLimitExceeded, "0.75 + 0.26 > 1")
	r, err := g.Reserve(bg, SpendRequest{EstimateUSD: 0.25})
	require.NoError(t, err)
	for _, h := range append(held[1:], r) {
		require.NoError(t, g.Settle(bg, h, 0.25))
	}
	assert.Equal(t, 1.0, g.MonthlyTotal())
	assert.True(t, g.Status().HardLimitReached)
}

// A call that cost more than its reservation is charged in full (the money
// is spent), logged, and blocks further calls.
func TestSpendSettleAboveEstimate(t *testing.T) {
	var logs bytes.Buffer
	g := guard(t, newClock(jan), WithMonthlyHardCap(1), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	r, err := g.Reserve(bg, SpendRequest{EstimateUSD: 0.5})
	require.NoError(t, err)
	require.NoError(t, g.Settle(bg, r, 1.2))
	assert.Equal(t, 1.2, g.MonthlyTotal())
	assert.Contains(t, logs.String(), "cost more than its spend reservation")
	assert.ErrorIs(t, g.CheckBudget(bg, ""), ErrSpendLimitExceeded)
}

func TestSpendReserveInvalid(t *testing.T) {
	g := guard(t, newClock(jan))
	for _, est := range []float64{-1, math.NaN(), math.Inf(1)} {
		_, err := g.Reserve(bg, SpendRequest{EstimateUSD: est})
		assert.ErrorIs(t, err, ErrInvalidCost, est)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := g.Reserve(ctx, sonnetReq("t", 1, 1))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, g.Status().Outstanding)
	assert.Equal(t, int64(0), g.Status().Rejections)
}

// Issue 5: 64 goroutines race for the last dollars of a cap; settled spend
// never exceeds the cap, every refusal is audited, nothing stays reserved.
// Each round, 64 goroutines reserve at once and hold their reservations
// (calls in flight) until all have tried, then settle (or release, for a
// failed call) at once — the overlap a check-then-charge guard overshoots on.
func TestSpendRaceForLastDollars(t *testing.T) {
	for _, tenantCap := range []bool{false, true} {
		t.Run(fmt.Sprintf("tenantCap=%v", tenantCap), func(t *testing.T) {
			rec := &recorder{}
			opts := []Option{WithMonthlyHardCap(100), WithAuditProducer(rec)}
			if tenantCap {
				opts = append(opts, WithTenantLimits(map[string]TenantLimit{"hot": {HardCapUSD: 2}}))
			}
			g := guard(t, newClock(jan), opts...)
			record(t, g, 97, "m", "t", "cold") // the global cap has $3 left
			model := DefaultModels()[taxonomy.Tier1]
			const workers = 64
			type slot struct {
				req SpendRequest
				res Reservation
				err error
			}
			refused := 0
			for round := 0; refused < workers; round++ {
				require.Less(t, round, 100, "the cap must stop the workers")
				slots := make([]slot, workers)
				var wg sync.WaitGroup
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(w), uint64(round)))
						slots[w].req = SpendRequest{TenantID: "hot", TaskType: "investigation", Model: model,
							InputTokens: 4000 + rng.IntN(4000), MaxOutputTokens: 4000}
						slots[w].res, slots[w].err = g.Reserve(bg, slots[w].req)
					}()
				}
				wg.Wait()
				refused = 0
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						sl := slots[w]
						if sl.err != nil {
							if !errors.Is(sl.err, ErrSpendLimitExceeded) {
								t.Error(sl.err)
							}
							return
						}
						rng := rand.New(rand.NewPCG(uint64(w), uint64(round)+1000))
						if rng.IntN(5) == 0 { // the call failed
							g.Release(sl.res)
							return
						}
						used := Usage{InputTokens: sl.req.InputTokens - rng.IntN(200),
							OutputTokens: sl.req.MaxOutputTokens - rng.IntN(1500)}
						if err := g.Settle(bg, sl.res, model.Cost(used)); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
				for _, sl := range slots {
					if sl.err != nil {
						refused++
					}
				}
			}
			s := g.Status()
			if tenantCap {
				ts := g.TenantStatus("hot")
				assert.LessOrEqual(t, ts.MonthlyTotalUSD, 2.0)
				assert.Greater(t, ts.MonthlyTotalUSD, 1.8, "the tenant cap was nearly used up")
			} else {
				assert.Greater(t, s.MonthlyTotalUSD, 99.8, "the global cap was nearly used up")
			}
			assert.LessOrEqual(t, s.MonthlyTotalUSD, 100.0)
			assert.Equal(t, 0.0, s.ReservedUSD)
			assert.Equal(t, 0, s.Outstanding)
			assert.GreaterOrEqual(t, s.Rejections, int64(workers))
			assert.Len(t, rec.byType(taxonomy.SpendHardLimit), int(s.Rejections), "one spend.hard_limit per refusal")
		})
	}
}

// Issue 5: per-tenant caps in addition to the global cap.
func TestSpendTenantLimits(t *testing.T) {
	rec := &recorder{}
	g := guard(t, newClock(jan), WithMonthlyHardCap(10), WithAuditProducer(rec),
		WithTenantLimits(map[string]TenantLimit{"small": {HardCapUSD: 1, SoftLimitUSD: 0.5}, "unlimited": {}}),
		WithDefaultTenantLimit(TenantLimit{HardCapUSD: 5}))

	r, err := g.Reserve(bg, SpendRequest{TenantID: "small", EstimateUSD: 0.6})
	require.NoError(t, err)
	_, err = g.Reserve(bg, SpendRequest{TenantID: "small", EstimateUSD: 0.6})
	var se *SpendLimitError
	require.True(t, errors.As(err, &se))
	assert.Equal(t, ScopeTenant, se.Scope)
	assert.Equal(t, "small", se.TenantID)
	assert.Contains(t, err.Error(), `tenant "small"`)
	require.NoError(t, g.Settle(bg, r, 0.6))

	soft := rec.byType(taxonomy.SpendSoftLimit)
	require.Len(t, soft, 1)
	assert.Equal(t, "tenant", soft[0].Context["spend_scope"])
	assert.Equal(t, "small", soft[0].Context["triggering_tenant_id"])
	assert.Equal(t, []string{ConstraintTenantMonthlySoftLimit}, soft[0].Decision[audit.KeyConstraintsApplied])
	hard := rec.byType(taxonomy.SpendHardLimit)
	require.Len(t, hard, 1)
	assert.Equal(t, SystemTenantID, hard[0].TenantID)
	assert.Equal(t, "tenant", hard[0].Context["spend_scope"])
	assert.Equal(t, []string{ConstraintTenantMonthlyHardCap}, hard[0].Decision[audit.KeyConstraintsApplied])

	ts := g.TenantStatus("small")
	assert.Equal(t, TenantSpend{TenantID: "small", Month: "2026-01", MonthlyTotalUSD: 0.6, HardCapUSD: 1,
		SoftLimitUSD: 0.5, SoftLimitReached: true, Rejections: 1}, ts)

	// Other tenants are unaffected by small's cap; the default limit applies
	// to tenants without an entry; "unlimited" has only the global cap.
	record(t, g, 4.9, "", "", "other")
	_, err = g.Reserve(bg, SpendRequest{TenantID: "other", EstimateUSD: 0.2})
	assert.ErrorIs(t, err, ErrSpendLimitExceeded, "default tenant cap 5")
	r, err = g.Reserve(bg, SpendRequest{TenantID: "unlimited", EstimateUSD: 4.4})
	require.NoError(t, err)
	_, err = g.Reserve(bg, SpendRequest{TenantID: "unlimited", EstimateUSD: 0.2})
	require.True(t, errors.As(err, &se))
	assert.Equal(t, ScopeGlobal, se.Scope, "0.6 + 4.9 + 4.4 + 0.2 > 10")
	g.Release(r)
	assert.Equal(t, 0.0, g.TenantStatus("unlimited").ReservedUSD)
	assert.Equal(t, TenantSpend{TenantID: "unlimited", Month: "2026-01"}, g.TenantStatus("unlimited"))
	assert.Equal(t, int64(3), g.Status().Rejections)
}

// In-flight reservations carry over a rollover and settle into the month in
// which the call completes; idle tenant windows are dropped.
func TestSpendReservationAcrossRollover(t *testing.T) {
	clk := newClock(time.Date(2026, time.January, 31, 23, 59, 0, 0, time.UTC))
	g := guard(t, clk, WithMonthlyHardCap(1), WithDefaultTenantLimit(TenantLimit{HardCapUSD: 0.5}))
	record(t, g, 0.3, "", "", "idle")
	r, err := g.Reserve(bg, SpendRequest{TenantID: "busy", EstimateUSD: 0.4})
	require.NoError(t, err)
	clk.Advance(2 * time.Minute)
	s := g.Status()
	assert.Equal(t, "2026-02", s.Month)
	assert.Equal(t, 0.4, s.ReservedUSD, "still held")
	assert.Equal(t, 0.4, g.TenantStatus("busy").ReservedUSD)
	_, err = g.Reserve(bg, SpendRequest{TenantID: "busy", EstimateUSD: 0.2})
	assert.ErrorIs(t, err, ErrSpendLimitExceeded, "the carried hold counts in February")
	require.NoError(t, g.Settle(bg, r, 0.35))
	assert.Equal(t, 0.35, g.MonthlyTotal())
	assert.Equal(t, 0.35, g.TenantStatus("busy").MonthlyTotalUSD)
	g.mu.Lock()
	_, idleKept := g.tenants["idle"]
	g.mu.Unlock()
	assert.False(t, idleKept, "idle tenant windows are dropped at rollover")
}

// Bounded memory: breakdowns keep at most the configured keys.
func TestSpendBreakdownBound(t *testing.T) {
	g := guard(t, newClock(jan), WithMaxBreakdownKeys(2))
	for i := range 5 {
		record(t, g, 1, fmt.Sprintf("model-%d", i), "t", fmt.Sprintf("tenant-%d", i))
	}
	m := g.TotalByModel()
	assert.Len(t, m, 3)
	assert.Equal(t, 3.0, m[OverflowKey])
	assert.Equal(t, 5.0, g.MonthlyTotal())

	// Tenants without limits are not tracked at all.
	g.mu.Lock()
	assert.Empty(t, g.tenants)
	g.mu.Unlock()
}

func TestSpendConfig(t *testing.T) {
	for _, opt := range []Option{
		WithMonthlyHardCap(0), WithMonthlyHardCap(-1), WithMonthlyHardCap(math.NaN()), WithMonthlyHardCap(math.Inf(1)),
		WithMonthlySoftLimit(-1), WithMonthlySoftLimit(math.NaN()),
		WithTenantLimits(map[string]TenantLimit{"t": {HardCapUSD: -1}}),
		WithDefaultTenantLimit(TenantLimit{SoftLimitUSD: math.NaN()}),
		WithMaxBreakdownKeys(0),
		WithBreakerConfig(BreakerConfig{}),
	} {
		_, err := NewSpendGuard(opt)
		assert.ErrorIs(t, err, ErrInvalidConfig)
	}
	// The soft limit may exceed the hard cap.
	g, err := NewSpendGuard(WithMonthlyHardCap(0.001))
	require.NoError(t, err)
	assert.Equal(t, 500.0, g.Status().SoftLimitUSD)
	record(t, g, 0.002, "", "", "")
	assert.ErrorIs(t, g.CheckBudget(bg, ""), ErrSpendLimitExceeded)
}

// Without a producer the guard decides exactly the same.
func TestSpendNilProducerIdentical(t *testing.T) {
	run := func(opts ...Option) []string {
		g := guard(t, newClock(jan), append(opts, WithMonthlyHardCap(1), WithMonthlySoftLimit(0.5))...)
		var out []string
		for i := range 12 {
			r, err := g.Reserve(bg, SpendRequest{TenantID: "t", EstimateUSD: 0.1 + float64(i%3)/100})
			if err != nil {
				out = append(out, err.Error())
				continue
			}
			_ = g.Settle(bg, r, 0.09)
			out = append(out, fmt.Sprint(g.Status()))
		}
		return out
	}
	assert.Equal(t, run(), run(WithAuditProducer(&recorder{})))
	assert.Equal(t, run(), run(WithAuditProducer(panicProducer{})))
}
