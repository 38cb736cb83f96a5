package router_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/socwarden/warden/router"
)

// The gateway's view: route, reserve the worst-case cost, call, settle with
// the real usage, and report provider health.
func Example() {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC) }

	health, _ := router.NewHealthRegistry(router.WithClock(now))
	r, _ := router.New(router.WithHealth(health), router.WithClock(now))
	guard, _ := router.NewSpendGuard(router.WithMonthlyHardCap(0.15), router.WithClock(now))

	tc := router.TaskContext{TaskType: router.TaskInvestigation, AlertSeverity: "critical",
		ContextTokens: 6000, TenantID: "acme"}
	d, _ := r.Route(ctx, tc)
	fmt.Println(d.Tier, d.Model.ModelID, d.MaxTokens, d.Reason)

	res, err := guard.Reserve(ctx, router.SpendRequest{TenantID: "acme", TaskType: string(tc.TaskType),
		Model: d.Model, InputTokens: tc.ContextTokens, MaxOutputTokens: d.MaxTokens})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("reserved $%.4f\n", res.EstimateUSD)

	// ... the provider call happens here ...
	health.RecordSuccess(d.Model.Provider)
	_ = guard.Settle(ctx, res, d.Model.Cost(router.Usage{InputTokens: 5800, OutputTokens: 900}))
	fmt.Printf("month %s: $%.4f settled\n", guard.Status().Month, guard.MonthlyTotal())

	// Five provider failures open anthropic's breaker: the next route fails
	// over and the system reports secondary_active.
	for range 5 {
		health.RecordFailure(router.ProviderAnthropic)
	}
	d, _ = r.Route(ctx, tc)
	fmt.Println(d.Model.ModelID, d.IsFallback, d.DegradationLevel)

	// A reservation that would pass the cap is refused.
	_, err = guard.Reserve(ctx, router.SpendRequest{TenantID: "acme", Model: d.Model,
		InputTokens: 20000, MaxOutputTokens: d.MaxTokens})
	fmt.Println(errors.Is(err, router.ErrSpendLimitExceeded))
	fmt.Println(err)
	// Output:
	// tier_1 claude-sonnet-4-5-20250929 8192 base=tier_1
	// reserved $0.1454
	// month 2026-03: $0.0309 settled
	// gpt-4o true secondary_active
	// true
	// router: monthly spend $0.03 + $0.00 reserved + $0.14 requested reaches or passes hard cap $0.15
}
